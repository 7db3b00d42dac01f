"""Story quality: how much page furniture the ingest + clean stages leave in a copied page.

For each page of the scrapinghub article-extraction benchmark (``dev/extraction/scrapinghub_aeb``)
the page's whole visible text (what a person gets by selecting all and copying) is written to a
temporary ``.txt`` file, read with ``read_article`` and cleaned with ``clean_article``, exactly as
the build does. The body is scored against the gold article text with 4-gram word shingles
(precision / recall / F1, averaged over pages). The baseline is the visible text unchanged.

"Lost a sentence" counts pages where a gold line of at least 8 words is missing from the cleaned
body (its shingles less than half present): the cleaner threw away real text.

Run: ``python bench/quality_furniture.py`` (data from ``$DIGEST_DATA`` or ``../shared/data/dev``).
``--show-lost`` also prints every lost gold line with the rule of the cleaner that dropped it.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import lxml.html
from lxml import etree

from digest import clean
from digest.clean import clean_article
from digest.ingest import read_article

SHINGLE = 4
REAL_SENTENCE_WORDS = 8
_WORD = re.compile(r"\w+")

_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object"}
_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "option", "select", "button", "title",
}  # fmt: skip


def data_dir() -> Path:
    override = os.environ.get("DIGEST_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"


def visible_text(html: str) -> str:
    """The text a browser's select-all + copy gives: no scripts or styles, blocks on own lines."""
    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    pieces: list[str] = []
    _walk(root, pieces)
    lines = (" ".join(line.split()) for line in "".join(pieces).split("\n"))
    return "\n".join(line for line in lines if line)


def _walk(element: etree._Element, pieces: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    tag = tag.lower()
    skip = tag in _SKIP_TAGS or not isinstance(element.tag, str)
    block = tag in _BLOCK_TAGS
    if not skip:
        if block:
            pieces.append("\n")
        if element.text:
            pieces.append(element.text)
        for child in element:
            _walk(child, pieces)
        if block:
            pieces.append("\n")
    if element.tail:
        pieces.append(element.tail)


def tokens(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


def shingles(text: str) -> set[tuple[str, ...]]:
    toks = tokens(text)
    if len(toks) < SHINGLE:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i : i + SHINGLE]) for i in range(len(toks) - SHINGLE + 1)}


def prf(candidate: str, gold: str) -> tuple[float, float, float]:
    cand, ref = shingles(candidate), shingles(gold)
    if not cand or not ref:
        return (0.0, 0.0, 0.0) if cand or ref else (1.0, 1.0, 1.0)
    hit = len(cand & ref)
    precision, recall = hit / len(cand), hit / len(ref)
    f1 = 2 * precision * recall / (precision + recall) if hit else 0.0
    return precision, recall, f1


def lost_lines(cleaned: str, gold: str, page: str) -> list[str]:
    """The real gold lines (>= 8 words) that the page had but the cleaned body no longer has."""
    have, page_shingles = shingles(cleaned), shingles(page)
    lost = []
    for line in gold.split("\n"):
        if len(tokens(line)) < REAL_SENTENCE_WORDS:
            continue
        line_shingles = shingles(line)
        in_page = len(line_shingles & page_shingles) >= 0.5 * len(line_shingles)
        if in_page and len(line_shingles & have) < 0.5 * len(line_shingles):
            lost.append(line)
    return lost


def lost_sentence(cleaned: str, gold: str, page: str) -> bool:
    """A real gold line (>= 8 words) that the page had but the cleaned body no longer has."""
    return bool(lost_lines(cleaned, gold, page))


def _line_rule(line: str) -> str | None:
    """Which of the cleaner's per-line rules calls ``line`` furniture (diagnostics only)."""
    s = line.strip()
    checks = [
        ("bare-url", lambda: clean._BARE_URL.match(s)),
        ("embed-residue", lambda: clean.is_embed_residue(s)),
        ("share-bar", lambda: clean._SHARE_BAR.match(s)),
        ("promo/copyright", lambda: clean.is_promo(s)),
        ("strong-teaser", lambda: clean._strong_teaser(s)),
        ("pointer", lambda: clean._POINTER_START.match(s) and clean._word_count(s) <= 12),
        ("glued-pointer", lambda: clean._GLUED_POINTER.match(s)),
    ]
    for name, check in checks:
        if check():
            return name
    return None


def drop_reasons(text: str) -> list[tuple[str, str | None]]:
    """Each line the cleaner sees with the rule that dropped it (None: kept), traced through
    ``clean.furniture_mask`` (diagnostics only)."""
    lines = [clean.strip_embed_residue(line) for line in text.split("\n") if line.strip()]
    reasons: list[str | None] = [None] * len(lines)

    def trace(name: str, drop: list[bool]) -> None:
        for index, dropped in enumerate(drop):
            if not dropped:
                reasons[index] = None
            elif reasons[index] is None:
                reasons[index] = _line_rule(lines[index]) if name == "line-rule" else name

    clean.furniture_mask(lines, find_block=True, trace=trace)
    return list(zip(lines, reasons, strict=True))


def explain_lost(page: Page, body: str, workdir: Path) -> None:
    """Print each lost gold line and why: the rule that dropped the page lines holding it."""
    lost = lost_lines(body, page.gold, page.page_text)
    if not lost:
        return
    article = _read(page.page_text, workdir)
    seen = drop_reasons(article.text) if article is not None else []
    print(f"--- {page.id}: {len(lost)} lost")
    for gold_line in lost:
        gold_shingles = shingles(gold_line)
        why = sorted(
            {
                reason or "kept?"
                for line, reason in seen
                if len(shingles(line) & gold_shingles) >= 0.3 * len(gold_shingles)
                or (shingles(line) and shingles(line) <= gold_shingles)
            }
        )
        print(f"  [{', '.join(why) or 'ingest'}] {gold_line[:160]}")


@dataclass
class Page:
    id: str
    page_text: str
    gold: str


def pages(folder: Path) -> Iterator[Page]:
    with (folder / "index.jsonl").open(encoding="utf-8") as index:
        for raw in index:
            if not raw.strip():
                continue
            entry = json.loads(raw)
            html = (folder / entry["html"]).read_text(encoding="utf-8", errors="replace")
            gold = (folder / entry["gold"]).read_text(encoding="utf-8", errors="replace")
            yield Page(entry["id"], visible_text(html), gold)


def _read(page_text: str, workdir: Path):  # noqa: ANN202 - an Article or None
    content = workdir / "content"
    content.mkdir(exist_ok=True)
    path = content / "page.txt"
    path.write_text(page_text, encoding="utf-8")
    return read_article(path, content, UTC).article


def cleaned_body(page_text: str, workdir: Path) -> str:
    """The body the real pipeline makes of a pasted page."""
    article = _read(page_text, workdir)
    if article is None:
        return ""
    return clean_article(article).body


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _averages(rows: list[tuple[float, float, float]]) -> dict[str, float]:
    return {
        "precision": _mean([row[0] for row in rows]),
        "recall": _mean([row[1] for row in rows]),
        "f1": _mean([row[2] for row in rows]),
    }


def main(show_lost: bool = False) -> dict:
    folder = data_dir() / "extraction" / "scrapinghub_aeb"
    if not (folder / "index.jsonl").is_file():
        print(f"no data at {folder} (set DIGEST_DATA)", file=sys.stderr)
        return {}
    ours: list[tuple[float, float, float]] = []
    base: list[tuple[float, float, float]] = []
    lost = 0
    with tempfile.TemporaryDirectory() as tmp:
        for page in pages(folder):
            body = cleaned_body(page.page_text, Path(tmp))
            ours.append(prf(body, page.gold))
            base.append(prf(page.page_text, page.gold))
            lost += lost_sentence(body, page.gold, page.page_text)
            if show_lost:
                explain_lost(page, body, Path(tmp))
    count = len(ours)
    figures = {
        "pages": count,
        "baseline": _averages(base),
        "ours": _averages(ours),
        "lost_sentence_share": lost / count if count else 0.0,
    }
    print(f"scrapinghub_aeb: {count} pages, {SHINGLE}-gram word shingles, means over pages")
    print(f"{'':10} {'precision':>9} {'recall':>7} {'F1':>6}")
    for name in ("baseline", "ours"):
        row = figures[name]
        print(f"{name:10} {row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:6.3f}")
    print(f"pages losing a real sentence (gold line >= {REAL_SENTENCE_WORDS} words): "
          f"{lost}/{count} = {figures['lost_sentence_share']:.1%}")  # fmt: skip
    return figures


if __name__ == "__main__":
    main(show_lost="--show-lost" in sys.argv[1:])
