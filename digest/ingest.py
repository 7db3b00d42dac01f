"""Readers by file kind -> Article; metadata from front matter or from the text itself.

Interface (build.py relies on it):
- ``discover(content_dir: Path) -> list[Path]``: article files (.md, .markdown, .txt) at any depth,
  sorted by relative POSIX path; hidden files and folders skipped; symlinks leading outside
  content_dir skipped.
- ``read_article(path: Path, content_dir: Path, tz: tzinfo) -> ReadResult``: never raises on bad
  input. ``tz`` interprets dates that carry no offset.
- ``article_id(rel_path: str) -> str``: stable id made from the relative path.

Decisions for bad input (each gives one warning line starting with ``content/<rel path>: ``):
- empty or whitespace-only file, binary file, unreadable file: no article (nothing to show).
- invalid UTF-8: decoded as Windows-1252 when that decodes cleanly, else UTF-8 with replacement
  characters; the article is kept.
- broken front matter (bad YAML, not a mapping, no closing ``---``): the rest is read as an
  article without metadata; a bad value of one key only drops that key.
- impossible date: ``published`` is None.
- a file larger than ``MAX_TEXT_CHARS`` characters: the text is cut at a line boundary.

Every ``published`` value is timezone-aware and expressed in UTC (naive values are first read in
``tz``), so the same instant always serialises to the same string.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from digest.model import Article, Format
from digest.text import split_sentences, words

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

# PyYAML and markdown-it are imported when a file is read, not with this module: a build whose
# files all come from the cache only lists the content folder (discover_relative).

ARTICLE_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
MAX_TEXT_CHARS = 1_000_000  # ~1 MB of text is far more than any news article
TITLE_SOFT_LIMIT = 100
TITLE_HARD_LIMIT = 110


@dataclass(frozen=True)
class ReadResult:
    """What reading one file gave: the article (None when there is nothing to show) and warnings."""

    article: Article | None
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- discovery


def discover(content_dir: Path) -> list[Path]:
    """Article files under ``content_dir``, sorted by their relative POSIX path."""
    return [Path(path) for _, path in discover_relative(content_dir)]


def discover_relative(content_dir: Path) -> list[tuple[str, str]]:
    """(relative POSIX path, file system path) of every article file, sorted by the former.

    Walks with ``os.scandir`` and plain strings: a site of thousands of files is listed on every
    rebuild, and a ``pathlib`` object per file cost more than the rest of a one-article rebuild.
    """
    root = content_dir.resolve()
    found: list[tuple[str, str]] = []
    pending = [("", str(content_dir))]
    while pending:
        prefix, folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                rel = prefix + name
                # Directory symlinks are not followed: no loops, no escaping the content folder.
                if entry.is_dir(follow_symlinks=False):
                    pending.append((rel + "/", entry.path))
                    continue
                if os.path.splitext(name)[1].lower() not in ARTICLE_SUFFIXES:
                    continue
                if entry.is_symlink() and not _inside(Path(entry.path), root):
                    continue
                if entry.is_file():
                    found.append((rel, entry.path))
    found.sort(key=lambda item: item[0])
    return found


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # broken or looping link
        return False


def article_id(rel_path: str) -> str:
    """A slug of the file's stem plus a short hash of the path: unique, safe in URLs and ids."""
    stem = PurePosixPath(rel_path).stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")[:40].strip("-") or "article"
    # 48 bits of hash: ids of 100,000 files named index.md still collide with odds of 1 in 50,000.
    return f"{slug}-{hashlib.sha1(rel_path.encode('utf-8')).hexdigest()[:12]}"


# --------------------------------------------------------------------------- reading


def read_article(path: Path, content_dir: Path, tz: tzinfo) -> ReadResult:
    """Read one article file. Never raises on bad input: problems become warnings."""
    try:
        rel_path = path.relative_to(content_dir).as_posix()
    except ValueError:
        rel_path = path.name
    shown = f"{content_dir.name}/{rel_path}" if content_dir.name else rel_path
    warnings: list[str] = []

    def warn(reason: str) -> None:
        warnings.append(f"{shown}: {reason}")

    try:
        raw = path.read_bytes()
    except OSError as exc:
        warn(f"cannot read the file ({exc.strerror or exc}); skipped")
        return ReadResult(None, tuple(warnings))

    text = _decode(raw, warn)
    if text is None:
        return ReadResult(None, tuple(warnings))
    text = _limit_size(text, warn)
    if not text.strip():
        warn("the file is empty; nothing to show")
        return ReadResult(None, tuple(warnings))

    fmt: Format = "text" if path.suffix.lower() == ".txt" else "markdown"
    parts = _read_markdown(text, tz, warn) if fmt == "markdown" else _read_plain(text, tz, warn)
    if not parts.text.strip() and not parts.title:
        warn("the file holds no text; nothing to show")
        return ReadResult(None, tuple(warnings))

    title = parts.title or make_headline(parts.text) or _title_from_stem(rel_path)
    article = Article(
        id=article_id(rel_path),
        path=rel_path,
        format=fmt,
        title=title,
        title_given=parts.title_given,
        body=parts.body,
        text=parts.text,
        source=parts.source,
        url=parts.url,
        published=parts.published,
        story=parts.story,
        lang=parts.lang,
        tags=parts.tags,
        content_hash=hashlib.sha256(raw).hexdigest(),
    )
    return ReadResult(article, tuple(warnings))


@dataclass
class _Parts:
    """What a reader found in a file, before it becomes an Article."""

    body: str = ""
    text: str = ""
    title: str = ""
    title_given: bool = False
    source: str | None = None
    url: str | None = None
    published: datetime | None = None
    story: str | None = None
    lang: str | None = None
    tags: tuple[str, ...] = ()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _decode(raw: bytes, warn: Any) -> str | None:
    """Bytes -> text with newlines normalised, or None (with a warning) for binary files."""
    head = raw[:8192]
    if b"\x00" in head:
        warn("binary file (contains NUL bytes), not an article; skipped")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("cp1252")
            warn(f"not valid UTF-8 (byte {exc.start}); read as Windows-1252")
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            warn(f"not valid UTF-8 (byte {exc.start}); bad bytes replaced with \ufffd")
    sample = text[:8192]
    odd = len(_CONTROL.findall(sample)) + sample.count("\ufffd")
    if sample and odd > 0.1 * len(sample):
        warn("binary file (mostly non-text characters), not an article; skipped")
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _limit_size(text: str, warn: Any) -> str:
    if len(text) <= MAX_TEXT_CHARS:
        return text
    cut = text.rfind("\n", 0, MAX_TEXT_CHARS)
    if cut < MAX_TEXT_CHARS // 2:  # no line break anywhere near: cut at the limit itself
        cut = MAX_TEXT_CHARS
    warn(f"file is very large ({len(text):,} characters); only the first {cut:,} are read")
    return text[:cut]


# --------------------------------------------------------------------------- markdown

_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


@functools.cache
def _front_matter_loader() -> Any:
    """SafeLoader that leaves timestamps as strings: an impossible date such as 2025-02-30 must
    cost only the date, not the whole front matter (SafeLoader would raise while constructing).

    libyaml's parser when PyYAML was built with it: parsing front matter in pure Python cost
    more than the rest of reading a Markdown article.
    """
    import yaml

    safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = type("_FrontMatterLoader", (safe_loader,), {})
    loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return loader


def _split_front_matter(text: str, warn: Any) -> tuple[str | None, str]:
    """(front matter source or None, the body after it)."""
    if not re.match(r"---[ \t]*\n", text):
        return None, text
    start = text.index("\n") + 1
    end = _FRONT_MATTER_END.search(text, start)
    if end is None:
        warn("front matter has no closing '---' line; read the file as text without metadata")
        return None, text
    return text[start : end.start()], text[end.end() :].lstrip("\n")


def _read_markdown(text: str, tz: tzinfo, warn: Any) -> _Parts:
    source, body = _split_front_matter(text, warn)
    parts = _Parts(body=body.strip("\n") + "\n" if body.strip() else "")
    if source is not None:
        meta = _load_yaml(source, warn)
        _apply_front_matter(meta, parts, tz, warn)
    parts.text = markdown_to_text(parts.body)
    if not parts.title:
        parts.title = _first_heading(parts.body)
    return parts


def _load_yaml(source: str, warn: Any) -> dict[str, Any]:
    import yaml

    try:
        meta = yaml.load(source, Loader=_front_matter_loader())  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        warn(
            f"front matter is not valid YAML{where}: {problem}; "
            "read the file as text without metadata"
        )
        return {}
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        warn(f"front matter is a {type(meta).__name__}, not a mapping of keys; ignored")
        return {}
    return meta


def _apply_front_matter(meta: dict[str, Any], parts: _Parts, tz: tzinfo, warn: Any) -> None:
    def bad(key: str, why: str) -> None:
        warn(f"front matter key {key!r}: {why}; ignored")

    for key in ("title", "source", "story", "lang"):
        if key not in meta or meta[key] is None:
            continue
        value = meta[key]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            bad(key, f"expected text, got {type(value).__name__}")
            continue
        value = " ".join(str(value).split())
        if value:
            setattr(parts, key, value)
    if parts.title:
        parts.title_given = True

    if meta.get("url") is not None:
        parts.url = _check_url(meta["url"], bad)
    if meta.get("tags") is not None:
        parts.tags = _check_tags(meta["tags"], bad)
    if meta.get("date") is not None:
        value = meta["date"]
        published = _parse_front_matter_date(value, tz)
        if published is None:
            bad("date", f"{value!r} is not a valid ISO date or datetime")
        parts.published = published


def _check_url(value: Any, bad: Any) -> str | None:
    if not isinstance(value, str):
        bad("url", f"expected text, got {type(value).__name__}")
        return None
    url = value.strip()
    if not re.match(r"https?://[^\s/?#]+", url, re.IGNORECASE) or any(c.isspace() for c in url):
        bad("url", f"{url[:60]!r} is not an http(s) address")
        return None
    return url


def _check_tags(value: Any, bad: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        bad("tags", f"expected a list or comma-separated text, got {type(value).__name__}")
        return ()
    tags: dict[str, None] = {}
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            bad("tags", f"tag {item!r} is not text")
            continue
        tag = " ".join(str(item).split())
        if tag:
            tags.setdefault(tag, None)
    return tuple(tags)


def _parse_front_matter_date(value: Any, tz: tzinfo) -> datetime | None:
    if isinstance(value, datetime):
        return _aware(value, tz)
    if isinstance(value, date):
        return _aware(datetime(value.year, value.month, value.day), tz)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
            return _aware(datetime(day.year, day.month, day.day), tz)
        return _aware(datetime.fromisoformat(text), tz)
    except ValueError:
        return None


def _aware(value: datetime, tz: tzinfo) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


@functools.cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table")


def markdown_to_text(body: str) -> str:
    """Plain text of Markdown, one paragraph (or heading, list item, table cell) per line.

    Code blocks and raw HTML are left out: they are not prose to cluster or summarize.
    """
    lines: list[str] = []
    for token in _markdown().parse(body):
        if token.type != "inline" or not token.children:
            continue
        pieces: list[str] = []
        for child in token.children:
            if child.type in ("text", "code_inline"):
                pieces.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                pieces.append(" ")
            elif child.type == "image":
                pieces.append(child.content)
        line = " ".join("".join(pieces).split())
        if line:
            lines.append(line)
    return "\n".join(lines)


def _first_heading(body: str) -> str:
    tokens = _markdown().parse(body)
    for index, token in enumerate(tokens[:-1]):
        if token.type == "heading_open":
            return markdown_to_text(tokens[index + 1].content) if tokens[index + 1].content else ""
        if token.type in ("paragraph_open", "bullet_list_open", "ordered_list_open"):
            return ""  # a heading after the first paragraph is a section, not the title
    return ""


# --------------------------------------------------------------------------- dates in text

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?i:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"

# A small fixed table: abbreviations are ambiguous in general (IST), these are the usual news ones.
_ZONES = {
    "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "BST": 60, "IST": 330, "CET": 60, "CEST": 120,
    "EET": 120, "EEST": 180, "MSK": 180, "EAT": 180, "WAT": 60, "CAT": 120, "SAST": 120,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "HST": -600, "PKT": 300, "NPT": 345, "ICT": 420,
    "WIB": 420, "SGT": 480, "HKT": 480, "PHT": 480, "AWST": 480, "JST": 540, "KST": 540,
    "ACST": 570, "AEST": 600, "AEDT": 660, "NZST": 720, "NZDT": 780,
}  # fmt: skip
_ZONE = r"(?:" + "|".join(sorted(_ZONES, key=len, reverse=True)) + r")"

_TIME = (
    r"(?:(?:,|\s+at|\s*[|\-\u2013\u2014/])?\s*(?P<hour>\d{1,2})[:.](?P<minute>\d{2})"
    r"(?::(?P<second>\d{2}))?\s*(?P<ampm>[ap]\.?\s?m\.?)?)?"
    r"(?:\s*\(?(?P<zone>" + _ZONE + r")?\s*(?P<offset>[+\-\u2212]\s?\d{1,2}(?::?\d{2})?)?\)?)?"
)
_DATE_FORMS = [
    re.compile(
        r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>"
        + _MONTH
        + r"),?\s+(?P<year>\d{4})"
        + _TIME,
        re.IGNORECASE,
    ),
    re.compile(
        r"(?P<month>"
        + _MONTH
        + r")\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
        + _TIME,
        re.IGNORECASE,
    ),
]
_ISO_DATE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?)?"
    r"\s*(?P<zone>Z|UTC|GMT)?(?P<offset>[+\-]\d{2}:?\d{2})?"
)
_DATE_PREFIX = re.compile(
    r"^(?:(?P<kind>last\s+updated|updated|published|posted|first\s+published|modified|date"
    r"|created)(?:\s+on)?\s*:?\s*)?"
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateLine:
    """A line that is (nearly) only a date: its value, or None when the date is impossible."""

    value: datetime | None
    updated: bool  # "Updated: ..." rather than the publication date


def parse_date_line(line: str, tz: tzinfo) -> DateLine | None:
    """The date a metadata line carries, or None when the line is not a date line.

    Accepts "04 Jul 2025, 01:27 GMT+10", "July 3, 2025", "3 July 2025 10:05 UTC",
    "2025-07-03T15:27:00+02:00", each possibly after "Updated:", "Published", a weekday.
    """
    line = line.strip()
    if not line or len(line) > 90:
        return None
    prefix = _DATE_PREFIX.match(line)
    kind = (prefix.group("kind") or "").lower() if prefix else ""
    rest = line[prefix.end() :] if prefix else line
    for form in (_ISO_DATE, *_DATE_FORMS):
        match = form.match(rest)
        if match is None:
            continue
        leftover = rest[match.end() :]
        if len(words(leftover)) > 3 or re.search(r"[.!?]\s*$", leftover.strip()) and leftover:
            return None
        return DateLine(_build_datetime(match, tz), "updat" in kind or "modified" in kind)
    return None


def _build_datetime(match: re.Match[str], tz: tzinfo) -> datetime | None:
    parts = match.groupdict()
    month_text = parts["month"].rstrip(".").lower()
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text, 0)
    hour = int(parts.get("hour") or 0)
    ampm = (parts.get("ampm") or "").replace(".", "").replace(" ", "").lower()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    try:
        value = datetime(
            int(parts["year"]),
            month,
            int(parts["day"]),
            hour,
            int(parts.get("minute") or 0),
            int(parts.get("second") or 0),
        )
    except ValueError:
        return None
    zone = _zone(parts.get("zone"), parts.get("offset"))
    return _aware(value.replace(tzinfo=zone) if zone else value, tz)


def _zone(name: str | None, offset: str | None) -> tzinfo | None:
    minutes: int | None = _ZONES.get(name.upper()) if name else None
    if offset:
        text = offset.replace("\u2212", "-").replace(" ", "")
        sign = -1 if text[0] == "-" else 1
        digits = text[1:].replace(":", "")
        hours, mins = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
        if int(hours) > 14 or int(mins) >= 60:
            return None
        minutes = (minutes or 0) + sign * (int(hours) * 60 + int(mins))
    if minutes is None:
        return None
    return timezone(timedelta(minutes=minutes))


# --------------------------------------------------------------------------- plain text

# Agencies whose name in a dateline or sign-off tells who wrote the copy.
AGENCIES = {
    "ANI": "ANI", "REUTERS": "Reuters", "AP": "AP", "AFP": "AFP", "PTI": "PTI", "IANS": "IANS",
    "WAM": "WAM", "UNI": "UNI", "XINHUA": "Xinhua", "TASS": "TASS", "EFE": "EFE", "DPA": "dpa",
    "ANSA": "ANSA", "BLOOMBERG": "Bloomberg", "UPI": "UPI", "KYODO": "Kyodo", "YONHAP": "Yonhap",
    "BERNAMA": "Bernama", "SPA": "SPA", "APP": "APP", "IRNA": "IRNA", "AA": "AA", "CNA": "CNA",
    "RIA": "RIA Novosti", "INTERFAX": "Interfax", "BSS": "BSS", "KUNA": "KUNA", "QNA": "QNA",
    "MENA": "MENA", "NNA": "NNA", "AAP": "AAP", "CP": "CP", "ASSOCIATED PRESS": "AP",
    "AGENCE FRANCE-PRESSE": "AFP", "PRESS TRUST OF INDIA": "PTI",
}  # fmt: skip

_PLACE = r"[A-Z][\w.'\u2019&-]*(?:[ ,]+[A-Za-z][\w.'\u2019&-]*){0,4}"
_PLACE_NOTE = r"(?:\s*[\[(][A-Za-z .'-]{2,25}[\])])?"
_DATELINE_DATE = (
    r"(?:" + _MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)?\s+" + _MONTH + r")"
    r"(?:,?\s+\d{4})?"
)
_DASH = r"(?:[:\-\u2013\u2014]|--)"
# "Washington DC [US], July 4 (ANI): ", "NEW YORK, July 3 (AP) — ", "LONDON (Reuters) - ",
# "Accra (Ghana), July 3 (ANI): ", "MAURITIUS, 3rd July, 2025 (WAM) - "
_DATELINE_FULL = re.compile(
    r"(?P<place>" + _PLACE + _PLACE_NOTE + r")"
    r"(?:,\s*(?P<date>" + _DATELINE_DATE + r"))?"
    r"\s*\((?P<agency>[A-Za-z][A-Za-z .&-]{0,24})\)\s*" + _DASH + r"\s*"
)
# "Washington, July 4: " with no agency
_DATELINE_DATED = re.compile(
    r"(?P<place>"
    + _PLACE
    + _PLACE_NOTE
    + r"),\s*(?P<date>"
    + _DATELINE_DATE
    + r")\s*"
    + _DASH
    + r"\s+"
)
# "WASHINGTON: ", "VILNIUS, Lithuania – ": the place in capitals
_DATELINE_CAPS = re.compile(
    r"(?P<place>[A-Z][A-Z.'\u2019&-]+(?:\s[A-Z][A-Z.'\u2019&-]+){0,3}(?:,\s*[A-Z][\w.'-]+"
    r"(?:\s[A-Z][\w.'-]+){0,2})?)\s*" + _DASH + r"\s+"
)
_SIGN_OFF = re.compile(r"\s*[(\[](?P<agency>[A-Za-z][A-Za-z .&-]{0,24})[)\]]\s*$")
_BYLINE = re.compile(
    r"^(?:by|written by|words by|reporting by)\s+[A-Z][\w.'\u2019-]*(?:\s+(?:and\s+|&\s+)?"
    r"[A-Z][\w.'\u2019-]*){0,6}(?:\s*[,|/\u2013\u2014-]\s*[\w .'-]{0,40})?$",
    re.IGNORECASE,
)
_SENTENCE_PUNCT = re.compile(r"[.!?:;\"'\u201d\u2019)]$")
_HEADER_LINES = 6  # metadata sits at the top; never look further


@dataclass(frozen=True)
class Dateline:
    length: int  # characters to remove from the start of the paragraph
    agency: str | None


def find_dateline(paragraph: str) -> Dateline | None:
    """The dateline at the start of a paragraph, if any (only the first 160 characters are read)."""
    head = paragraph[:160]
    for form in (_DATELINE_FULL, _DATELINE_DATED, _DATELINE_CAPS):
        match = form.match(head)
        if match is None:
            continue
        groups = match.groupdict()
        agency_text = (groups.get("agency") or "").strip()
        agency = AGENCIES.get(agency_text.upper())
        # "Some words (maybe) - " is not a dateline unless the place is in capitals
        bare = form is _DATELINE_FULL and agency is None and not groups.get("date")
        if bare and not _is_caps(groups["place"]):
            continue
        if form is _DATELINE_CAPS and len(re.sub(r"[^A-Z]", "", groups["place"])) < 3:
            continue
        if match.end() >= len(paragraph.rstrip()):
            continue  # the whole line: not a dateline in front of text
        return Dateline(match.end(), agency)
    return None


def _is_caps(text: str) -> bool:
    letters = [c for c in text.split(",")[0] if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters)


def _agency_name(text: str) -> str | None:
    return AGENCIES.get(" ".join(text.split()).upper())


def _is_content_line(line: str) -> bool:
    """A line of running text: many words, or a full sentence."""
    count = len(words(line))
    return count >= 12 or (count >= 6 and bool(_SENTENCE_PUNCT.search(line)))


def _read_plain(text: str, tz: tzinfo, warn: Any) -> _Parts:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    parts = _Parts()
    header_end = _read_header(lines, parts, tz, warn)
    body_lines = lines[header_end:]
    if body_lines:
        dateline = find_dateline(body_lines[0])
        if dateline is not None:
            body_lines[0] = _capitalise(body_lines[0][dateline.length :].lstrip())
            if parts.source is None and dateline.agency:
                parts.source = dateline.agency
    for index, line in enumerate(body_lines):
        sign_off = _SIGN_OFF.search(line)
        agency = _agency_name(sign_off.group("agency")) if sign_off else None
        if sign_off and agency and len(words(line)) > 3:
            body_lines[index] = line[: sign_off.start()].rstrip()
            parts.source = parts.source or agency
    parts.body = parts.text = "\n".join(line for line in body_lines if line)
    return parts


def _read_header(lines: list[str], parts: _Parts, tz: tzinfo, warn: Any) -> int:
    """Take the metadata lines at the top (outlet, date, byline, headline); return where the
    body starts. Short lines count as outlet or headline only next to a date line or byline,
    so an article that starts with a plain subheading keeps it."""
    kinds: list[str] = []
    dates: list[DateLine] = []
    for line in lines[:_HEADER_LINES]:
        if _is_content_line(line) and not _BYLINE.match(line):
            break
        date_line = parse_date_line(line, tz)
        if date_line is not None:
            kinds.append("date")
            dates.append(date_line)
        elif _BYLINE.match(line):
            kinds.append("byline")
        elif _agency_name(line):
            kinds.append("agency")
        elif len(line) <= 40 and len(words(line)) <= 4 and not _SENTENCE_PUNCT.search(line):
            kinds.append("outlet")
        elif len(words(line)) <= 20 and not re.search(r"[.!?]$", line):
            kinds.append("headline")
        else:
            break
    has_meta = any(kind in ("date", "byline") for kind in kinds)
    if not has_meta:
        # only a known agency line on top counts without a date line next to it
        if kinds[:1] == ["agency"]:
            parts.source = _agency_name(lines[0])
            return 1
        return 0
    for line, kind in zip(lines, kinds, strict=False):
        if kind in ("agency", "outlet") and parts.source is None:
            parts.source = _agency_name(line) or line
        elif kind == "headline" and not parts.title:
            parts.title = line
    published = [d for d in dates if not d.updated] or dates
    if published:
        parts.published = published[0].value
        if published[0].value is None:
            warn("the date line holds an impossible date; the article is left undated")
    return len(kinds)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- headlines

_FILLER = re.compile(r"\s*\((?:local time|file photo|file|representational image|photo)\)", re.I)
# A title cut before these words ends at a clause boundary ("... Donald Trump" | "in which ...").
_CLAUSE_WORDS = frozenset({
    "in", "which", "who", "whom", "whose", "that", "after", "as", "while", "when", "where", "but",
    "and", "because", "although", "amid", "saying", "said", "to",
})  # fmt: skip
_WEAK_END = frozenset({
    "a", "an", "the", "of", "to", "in", "on", "at", "for", "with", "and", "or", "but", "by",
    "from", "as", "his", "her", "its",
})  # fmt: skip


def make_headline(text: str) -> str:
    """A readable title from plain text: its first real sentence, shortened at a clause or word
    boundary to about ``TITLE_SOFT_LIMIT`` characters ("…" marks a cut)."""
    for line in text.split("\n"):
        line = line.strip()
        if not line or not _is_content_line(line) or find_dateline(line) is not None:
            continue
        sentences = split_sentences(line)
        if not sentences:
            continue
        sentence = " ".join(_FILLER.sub("", sentences[0]).split())
        return _capitalise(_shorten(sentence))
    for line in text.split("\n"):  # no sentence anywhere: the first line will do
        if line.strip():
            return _capitalise(_shorten(" ".join(line.split())))
    return ""


def _shorten(sentence: str) -> str:
    if len(sentence) <= TITLE_HARD_LIMIT:
        return sentence.rstrip(".").rstrip() if not sentence.endswith("...") else sentence
    tokens = sentence.split(" ")
    best = 0  # number of tokens to keep
    length = 0
    clause_cut = 0
    for index, token in enumerate(tokens):
        if index and length + 1 + len(token) > TITLE_HARD_LIMIT:
            break
        length += len(token) + (1 if index else 0)
        nxt = tokens[index + 1].lower() if index + 1 < len(tokens) else ""
        if length >= 50 and (token.endswith((",", ";", ":")) or nxt in _CLAUSE_WORDS):
            clause_cut = index + 1
        if length <= TITLE_SOFT_LIMIT:
            best = index + 1
    keep = clause_cut or best or 1
    while keep > 1 and tokens[keep - 1].lower().strip(",;:") in _WEAK_END:
        keep -= 1
    headline = " ".join(tokens[:keep]).rstrip(",;:-\u2013\u2014 ")
    # Cut where a clause ends, the headline is whole ("Putin held a call with Trump"); cut in
    # the middle of one, "…" says so. A trailing "…" is also how teasers look, so use it only then.
    at_clause = tokens[keep - 1].endswith((",", ";", ":")) or (
        keep < len(tokens) and tokens[keep].lower() in _CLAUSE_WORDS
    )
    return headline if clause_cut and at_clause else headline + "\u2026"


def _title_from_stem(rel_path: str) -> str:
    stem = PurePosixPath(rel_path).stem
    return _capitalise(re.sub(r"[-_]+", " ", stem).strip()) or "Untitled"
