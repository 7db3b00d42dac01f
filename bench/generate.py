"""A synthetic but realistic news stream for the speed benchmark, made from real news text.

    python bench/generate.py OUT_DIR [-n 6000] [--seed 0] [--days 400]

Stories come from the real event clusters in ``../shared/data/dev/clusters/`` (ECB+ and DUC 2004;
``$DIGEST_DATA`` overrides the data folder). Each story takes one gold cluster, a story date in the
covered period and a heavy-tailed size (most stories one article, some dozens); its articles are
spread over a few days around the story date. An article is either a plain-text page copy (outlet
line, date line, maybe a headline, a dateline, page furniture: teasers ending in "...", newsletter
lines, a tweet-embed residue line) or Markdown with front matter. Wire copies republish an article
of the story under another outlet with small edits. Files land in month folders (``YYYY/MM/``).

A source text is used as-is the first time; later uses (needed to reach 10,000 or 100,000 articles
from ~1,500 texts) are perturbed so unrelated stories do not all merge: names swapped, numbers
changed, later sentences shuffled or dropped. Everything is seeded: same arguments, same bytes.
The text is read from the shared data at run time and never stored in the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

START = datetime(2024, 6, 1, tzinfo=UTC)
MAX_STORY_SIZE = 40
STORY_SPREAD_HOURS = 72  # a story's articles appear within three days of its first report
WIRE_SHARE = 0.35  # share of a story's later articles that republish an earlier one
MARKDOWN_SHARE = 0.3  # the rest are plain-text page copies

OUTLETS = [
    "ANI", "Reuters", "AP", "AFP", "Kenya Star", "The Daily Ledger", "Northern Herald",
    "Coastal Times", "Metro Wire", "Capital Post", "Evening Standard Online", "The Observer Hub",
    "Sun Chronicle", "Valley News", "Harbour Gazette", "The Tribune Daily", "City Beat",
    "Global Briefing", "Morning Courier", "Pacific Dispatch", "Atlantic Report", "River Times",
    "Prairie Voice", "Summit Daily", "Lakeside Journal", "Island Mirror", "Desert Sun Online",
    "Highland Express", "The Borough Bulletin", "Eastern Telegraph",
]  # fmt: skip
AGENCIES = ["ANI", "Reuters", "AP", "AFP", "PTI", "IANS", "Xinhua", "UPI"]
CITIES = [
    "WASHINGTON", "LONDON", "NEW YORK", "Washington DC [US]", "Paris", "Nairobi", "Mumbai",
    "Los Angeles", "Sydney", "Tokyo", "Berlin", "Geneva", "Jakarta", "Cairo", "Toronto",
]  # fmt: skip
ZONES = [0, 60, 120, 330, 600, -240, -300, -420, 480]  # minutes east of UTC, per outlet
NEWSLETTER = [
    "Get a daily dose of {o} news through our daily email, its complimentary and keeps you "
    "fully up to date with world and business news as well.",
    "Publish news of your business, community or sports group, personnel appointments, major "
    "event and more by submitting a news release to {o}.",
    "Sign up for the {o} newsletter to get the top stories in your inbox every morning.",
    "Follow {o} on WhatsApp and Telegram for breaking news alerts.",
]
TWEET = "{name} pic.twitter.com/{code}\u2014 {name} (@{handle}) {month} {day}, {year}"


@dataclass(frozen=True)
class Source:
    """One real article of the evaluation data."""

    id: str
    cluster: str
    title: str | None
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Record:
    """One generated article: where it goes, its metadata and its body text (one paragraph a line).

    ``speed.py`` converts the same records for Pelican and Hugo, so every engine gets the same
    articles."""

    path: str  # relative to the content folder
    title: str
    published: datetime
    source: str
    url: str | None
    body: str  # the article's own text, without furniture
    content: str  # the file as written, furniture and metadata included


def data_dir() -> Path:
    env = os.environ.get("DIGEST_DATA")
    if env:
        return Path(env) / "dev" if (Path(env) / "dev").is_dir() else Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"


@lru_cache(maxsize=1)
def load_sources() -> dict[str, tuple[Source, ...]]:
    """Gold clusters -> their articles, sentences split once (sorted: the order is fixed)."""
    clusters: dict[str, list[Source]] = {}
    for name in ("ecbplus.jsonl", "duc2004.jsonl"):
        with (data_dir() / "clusters" / name).open(encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                title = row.get("title")
                title = None if title and _DATEISH.search(title) else title
                sentences = tuple(_body_sentences(row["text"] or "", title))
                if len(sentences) < 2:
                    continue
                source = Source(row["id"], row["cluster"], title, sentences)
                clusters.setdefault(row["cluster"], []).append(source)
    return {k: tuple(sorted(v, key=lambda s: s.id)) for k, v in sorted(clusters.items())}


_SPLIT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'\u201d]))\s+(?=[\"'\u201c]?[A-Z])")


def _body_sentences(text: str, title: str | None) -> Iterator[str]:
    """The text's sentences without the headline and date lines some ECB+ texts start with:
    the generator writes its own metadata lines."""
    for index, sentence in enumerate(_sentences(text)):
        if index < 4 and (
            sentence == title or len(sentence.split()) <= 10 and _DATEISH.search(sentence)
        ):
            continue
        yield sentence


def _sentences(text: str) -> Iterator[str]:
    """A plain splitter is enough here: the sentences are only reshuffled, never judged."""
    for paragraph in text.split("\n"):
        for sentence in _SPLIT.split(" ".join(paragraph.split())):
            if len(sentence.split()) >= 3:
                yield sentence


@lru_cache(maxsize=1)
def _name_pool() -> tuple[str, ...]:
    """Capitalised words seen inside sentences: the names that tell one event from another."""
    names: set[str] = set()
    for sources in load_sources().values():
        for source in sources:
            for sentence in source.sentences:
                names.update(_NAME.findall(sentence)[1:])
    return tuple(sorted(names))


_NAME = re.compile(r"\b[A-Z][a-z]{3,}\b")
_NUMBER = re.compile(r"(?<![:.,\d])\b\d{1,4}\b(?![:.,]?\d)")  # not times, decimals, 1,714
_DATEISH = re.compile(r"\b(?:19|20)\d\d\b")


# --------------------------------------------------------------------------- the stream


def story_sizes(rng: random.Random, n: int) -> list[int]:
    """Heavy-tailed sizes adding up to n: P(size >= k) ~ 1/k, so about half the stories have one
    article and a few have dozens."""
    sizes: list[int] = []
    total = 0
    while total < n:
        size = min(MAX_STORY_SIZE, int(rng.paretovariate(1.05)), n - total)
        sizes.append(size)
        total += size
    return sizes


def generate_records(n: int, seed: int = 0, days: int = 400) -> list[Record]:
    """The stream of n articles as records, in story order."""
    rng = random.Random(seed)
    clusters = load_sources()
    keys = list(clusters)
    uses: dict[str, int] = {}  # source id -> times used so far: later uses get perturbed
    records: list[Record] = []
    for story_no, size in enumerate(story_sizes(rng, n)):
        cluster = clusters[keys[rng.randrange(len(keys))]]
        story_start = START + timedelta(minutes=rng.randrange(days * 24 * 60))
        records.extend(_story(rng, story_no, cluster, size, story_start, uses))
    return records


def _story(
    rng: random.Random,
    story_no: int,
    cluster: tuple[Source, ...],
    size: int,
    start: datetime,
    uses: dict[str, int],
) -> list[Record]:
    # One name swap per story (its salt): its articles stay about the same (perturbed) event.
    salt = rng.randrange(1, 1 << 30) if any(uses.get(s.id, 0) for s in cluster) else 0
    shift = rng.randint(1, 9)
    written: list[tuple[str, str, list[str]]] = []  # (outlet, title, sentences) of this story
    records = []
    for index in range(size):
        when = start + timedelta(minutes=rng.randrange(STORY_SPREAD_HOURS * 60) if index else 0)
        outlet = OUTLETS[rng.randrange(len(OUTLETS))]
        if written and rng.random() < WIRE_SHARE:
            _, title, sentences = written[rng.randrange(len(written))]
            sentences = _wire_edit(rng, sentences)
        else:
            source = cluster[rng.randrange(len(cluster))]
            used = uses.get(source.id, 0)
            uses[source.id] = used + 1
            sentences = list(source.sentences)
            if used or salt:
                sentences = _perturb(rng, sentences, salt, shift)
            title = _apply(source.title, salt, shift) if source.title else _headline(sentences)
        written.append((outlet, title, sentences))
        records.append(_record(rng, story_no, index, outlet, title, sentences, when))
    return records


def _swap_name(name: str, salt: int) -> str:
    """Half the names, each always to the same other name within a story (salt): a hash, not a
    table, so a story costs nothing for the names it does not use."""
    h = zlib.crc32(f"{salt}:{name}".encode())
    if h & 1:
        return name
    pool = _name_pool()
    return pool[(h >> 1) % len(pool)]


def _apply(text: str, salt: int, shift: int) -> str:
    """Names swapped (salt 0: kept) and numbers moved by shift."""
    if salt:
        text = _NAME.sub(lambda m: _swap_name(m.group(), salt), text)
    return _NUMBER.sub(lambda m: str(int(m.group()) + shift), text)


def _perturb(rng: random.Random, sentences: list[str], salt: int, shift: int) -> list[str]:
    """Names swapped, numbers moved, later sentences shuffled and some dropped; the lead stays
    first because news puts the essentials there."""
    out = [_apply(s, salt, shift) for s in sentences]
    lead, rest = out[:2], out[2:]
    rng.shuffle(rest)
    rest = [s for s in rest if rng.random() > 0.2]
    return lead + rest


def _wire_edit(rng: random.Random, sentences: list[str]) -> list[str]:
    """A republished copy: typographic quotes, a sentence cut from the end, a word changed."""
    out = list(sentences)
    if len(out) > 3 and rng.random() < 0.6:
        out.pop(rng.randrange(2, len(out)))
    if rng.random() < 0.5:
        out = [s.replace('"', "\u201c", 1).replace('"', "\u201d", 1) for s in out]
    if rng.random() < 0.5:
        out[0] = out[0].replace(" said ", " told reporters ", 1)
    return out


def _headline(sentences: list[str]) -> str:
    words = sentences[0].split()[:12]
    return " ".join(words).rstrip(",.;:")


# --------------------------------------------------------------------------- files


def _record(
    rng: random.Random,
    story_no: int,
    index: int,
    outlet: str,
    title: str,
    sentences: list[str],
    when: datetime,
) -> Record:
    zone = timezone(timedelta(minutes=ZONES[OUTLETS.index(outlet) % len(ZONES)]))
    local = when.astimezone(zone)
    slug = _slug(title)[:50].rstrip("-") or "story"
    stem = f"{local:%Y/%m}/{story_no:06d}-{index:02d}-{slug}"
    body = _paragraphs(rng, sentences)
    url = f"https://{_slug(outlet)}.example/{local:%Y/%m/%d}/{slug}-{story_no}-{index}"
    if rng.random() < MARKDOWN_SHARE:
        content = _markdown(title, local, outlet, url, body)
        return Record(stem + ".md", title, when, outlet, url, body, content)
    content = _plain_page(rng, title, local, outlet, body)
    return Record(stem + ".txt", title, when, outlet, None, body, content)


def _paragraphs(rng: random.Random, sentences: list[str]) -> str:
    """Sentences grouped into paragraphs of one to three, one paragraph a line."""
    lines, i = [], 0
    while i < len(sentences):
        k = rng.choice((1, 1, 2, 3))
        lines.append(" ".join(sentences[i : i + k]))
        i += k
    return "\n".join(lines)


def _markdown(title: str, local: datetime, outlet: str, url: str, body: str) -> str:
    meta = {"title": title, "date": local.isoformat(), "source": outlet, "url": url}
    front = "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in meta.items())
    return f"---\n{front}\n---\n\n" + body.replace("\n", "\n\n") + "\n"


def _plain_page(rng: random.Random, title: str, local: datetime, outlet: str, body: str) -> str:
    """A page as copied from a browser: outlet, date line, maybe the headline, a dateline in front
    of the text, an embed residue inside it and the outlet's furniture under it."""
    offset = local.strftime("%z")
    zone = f"GMT{offset[0]}{int(offset[1:3])}" if offset[1:] != "0000" else "GMT"
    head = [outlet, f"{local:%d %b %Y, %H:%M} {zone}"]
    if rng.random() < 0.5:
        head.append(title)
    lines = body.split("\n")
    agency = AGENCIES[rng.randrange(len(AGENCIES))]
    city = CITIES[rng.randrange(len(CITIES))]
    lines[0] = f"{city}, {local:%B} {local.day} ({agency}): {lines[0]}"
    if len(lines) > 2 and rng.random() < 0.3:
        lines.insert(rng.randrange(1, len(lines)), _tweet(rng, local))
    return "\n".join(head + lines + _furniture(rng, outlet)) + "\n"


def _tweet(rng: random.Random, local: datetime) -> str:
    pool = _name_pool()
    name = f"{pool[rng.randrange(len(pool))]} {pool[rng.randrange(len(pool))]}"
    code = "".join(rng.choice("abcdefghijkLMNOPQ0123456789") for _ in range(10))
    handle = name.replace(" ", "")[:15].lower()
    return TWEET.format(
        name=name, code=code, handle=handle, month=f"{local:%B}", day=local.day, year=local.year
    )


def _furniture(rng: random.Random, outlet: str) -> list[str]:
    """Newsletter lines of the outlet and teasers of other (real) stories cut with '...'."""
    lines = [line.format(o=outlet) for line in NEWSLETTER if rng.random() < 0.5]
    clusters = list(load_sources().values())
    for _ in range(rng.randrange(0, 4)):
        cluster = clusters[rng.randrange(len(clusters))]
        sentence = cluster[rng.randrange(len(cluster))].sentences[0]
        lines.append(" ".join(sentence.split()[:18]) + "...")
    return lines


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def generate(out_dir: Path, n: int, seed: int = 0, days: int = 400) -> None:
    """Write n articles under out_dir (a content folder), deterministically."""
    for record in generate_records(n, seed, days):
        path = out_dir / record.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(record.content, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("-n", type=int, default=6000, help="articles (default 6000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=400, help="days covered (default 400)")
    args = parser.parse_args(argv)
    generate(args.out_dir, args.n, args.seed, args.days)
    print(f"wrote {args.n} articles to {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
