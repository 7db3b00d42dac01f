"""Links, dates and the plain views of a Site that templates, feeds and data files read.

Every untrusted string (titles, sources, summaries, URLs) passes through here: text loses control
characters, URLs that are not absolute http(s) never become links.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import quote, urlsplit

from digest.config import Config
from digest.model import Article, Day, Site, Story

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
UNKNOWN_SOURCE = "Unknown source"
UNTITLED = "Untitled story"
DESCRIPTION_LENGTH = 160

# Characters XML 1.0 forbids (and HTML treats as errors): untrusted text could carry them and
# would make feed.xml unparseable, so every template output is filtered.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
# Whitespace, quotes, angle brackets and backslashes have no place in a real URL; rejecting them
# keeps odd parsers (and attribute-breaking tricks) out of every href.
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f\"<>\\`]")
# An http(s) URL that safe_url accepts at a glance: a host of letters, digits, dots and hyphens
# (so urlsplit finds it and cannot fail), an optional port, then printable ASCII without what
# _BAD_URL_CHARS refuses. Taking every article's URL apart cost ~20 ms of each build.
_PLAIN_URL = re.compile(
    r"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]*)?"
    r"(?:[/?#][!#-;=?-\[\]-_a-~]*)?"
)
_SAFE_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


# --- links ---------------------------------------------------------------------------------


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL fit for an href, else None."""
    if not url:
        return None
    url = url.strip()
    if _PLAIN_URL.fullmatch(url):  # most URLs: no need to take them apart
        return url
    return _checked_url(url)


def _checked_url(url: str) -> str | None:
    """``safe_url`` of a stripped URL, the long way."""
    if _BAD_URL_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    return url


def article_slug(article: Article) -> str:
    """The article's folder name under ``articles/``: its id when that is path-safe."""
    if _SAFE_SLUG.fullmatch(article.id):
        return article.id
    # An id is meant to be URL-safe already; a stable hash keeps a bad one out of the file tree.
    return "a-" + hashlib.sha256(article.id.encode("utf-8")).hexdigest()[:16]


def has_local_page(article: Article) -> bool:
    return safe_url(article.url) is None


def article_link(article: Article) -> str:
    """The original URL, else the local page's site-relative path ``articles/<id>/``."""
    return safe_url(article.url) or f"articles/{article_slug(article)}/"


def fragment(story_id: str) -> str:
    """A story id made safe for the part of a URL after ``#``."""
    return quote(story_id, safe="-._~")


def day_path(day: date) -> str:
    return f"{day:%Y/%m/%d}/"


def story_page(story: Story, day: date | None) -> str:
    """Where a story lives: ``2025/07/03/#<id>``, or ``undated/#<id>``."""
    folder = day_path(day) if day else "undated/"
    return f"{folder}#{fragment(story.id)}"


def _with_index(path: str) -> str:
    """``a/b/#x`` -> ``a/b/index.html#x``: browsers show a listing for folders under file://."""
    target, hash_, frag = path.partition("#")
    if target == "" or target.endswith("/"):
        target += "index.html"
    return target + hash_ + frag


@dataclass(frozen=True)
class Urls:
    """The ``url(path, absolute=False)`` helper for one output file (see the module docstring)."""

    config: Config
    page: str  # output path of the file being rendered, like "2025/07/03/index.html"
    rooted: bool = False  # 404.html: served at any depth, so links start at base_path

    def __call__(self, path: str = "", absolute: bool = False) -> str:
        path = path.lstrip("/")
        if absolute and self.config.base_url:
            return self.config.base_url + path
        if self.rooted:
            return self.config.base_path + path
        target = path if self.config.base_url else _with_index(path)
        return (self.root + target) or "./"

    @property
    def root(self) -> str:
        """The prefix that leads from this page to the site root ("../../../", "" or base_path)."""
        if self.rooted:
            return self.config.base_path
        return "../" * self.page.count("/")

    def href(self, link: str) -> str:
        """An ``article_link`` value made usable on this page."""
        return link if safe_url(link) else self(link)

    def absolute_href(self, link: str) -> str:
        """Like ``href``, but absolute when base_url is set: for HTML that leaves the site."""
        return link if safe_url(link) else self(link, absolute=True)


def dump_json(data: object, indent: int | None = 1) -> str:
    """Sorted, indented JSON with ``<``, ``>`` and ``&`` as \\u escapes.

    The escapes parse to the same text, but no untrusted title can ever read as markup, even if a
    file is embedded in a page or served with the wrong type (Go's encoding/json does the same).
    """
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(
        data, ensure_ascii=False, sort_keys=True, indent=indent, separators=separators
    )
    return _escape_markup(text) + "\n"


def _escape_markup(text: str) -> str:
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text


# What dump_json(..., indent=None) runs, made once (json.dumps builds one per call). Compact:
# only then does json use its C encoder (5-10x faster on a 6,000-article digest).
_COMPACT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
JSON_CHUNK_CHARS = 1 << 16  # bytes gathered before a chunk is passed on


def dump_json_chunks(
    head: Mapping[str, object], key: str, items: Iterable[object]
) -> Iterator[bytes]:
    """``dump_json({**head, key: list(items)}, indent=None)`` as UTF-8, in chunks, item by item.

    The same bytes, but only one item and one chunk are in memory at a time: on a
    100,000-article site digest.json is ~60 MB, and its records, text and bytes held at once
    were the render stage's peak. ``items`` is consumed lazily, so its records can be made
    one by one and dropped.
    """
    return json_chunks_of_encoded(head, key, map(encode_json_item, items))


def encode_json_item(item: object) -> bytes:
    """One item of a list in ``dump_json_chunks``, as the very bytes it takes there.

    The escapes are single characters, so escaping item by item is the same as escaping the
    whole text: an item's bytes can be kept and used again (``pagerecord.EncodedStories``).
    """
    return _escape_markup(_COMPACT.encode(item)).encode("utf-8")


def json_chunks_of_encoded(
    head: Mapping[str, object], key: str, items: Iterable[bytes | memoryview]
) -> Iterator[bytes]:
    """``dump_json_chunks`` of items already encoded by ``encode_json_item``."""
    if key in head:
        raise ValueError(f"{key!r} is both in head and streamed")
    before, after = _compact_frame(head, key)
    buffer: list[bytes | memoryview] = [before]
    size = len(before)
    for index, item in enumerate(items):
        if index:
            buffer.append(b",")
        buffer.append(item)
        size += len(item) + 1
        if size >= JSON_CHUNK_CHARS:
            yield b"".join(buffer)
            buffer, size = [], 0
    buffer.append(after)
    yield b"".join(buffer)


def _compact_frame(head: Mapping[str, object], key: str) -> tuple[bytes, bytes]:
    """The compact, key-sorted JSON of ``{**head, key: [...]}`` before the list's first item and
    after its last (with the final newline), as UTF-8."""
    before: list[str] = ["{"]
    after: list[str] = []
    text = before
    for number, name in enumerate(sorted([*head, key])):  # sort_keys: plain string order
        text.append(("," if number else "") + _COMPACT.encode(name) + ":")
        if name == key:
            text.append("[")
            text = after  # the items go here
            text.append("]")
        else:
            text.append(_COMPACT.encode(head[name]))
    after.append("}\n")
    return _escape_markup("".join(before)).encode("utf-8"), _escape_markup("".join(after)).encode(
        "utf-8"
    )


# --- text ----------------------------------------------------------------------------------


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text)


def clean_text(text: str | None) -> str:
    return strip_controls(text or "").strip()


def long_date(day: date) -> str:
    """ "Thursday, 3 July 2025": fixed English names, never the process locale (determinism)."""
    return f"{WEEKDAYS[day.weekday()]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


def month_label(year: int, month: int) -> str:
    return f"{MONTHS[month - 1]} {year}"


def aware(moment: datetime) -> datetime:
    """Model datetimes are timezone-aware; a naive one is read as UTC rather than crash."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_time(moment: datetime, config: Config) -> str:
    """ "3 Jul 2025, 15:27 AEST" in the site's time zone."""
    local = aware(moment).astimezone(config.tz)
    return (
        f"{local.day} {MONTHS[local.month - 1][:3]} {local.year}, "
        f"{local:%H:%M} {local.tzname() or ''}".rstrip()
    )


def rfc3339(moment: datetime) -> str:
    return aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shorten(text: str, limit: int = DESCRIPTION_LENGTH) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-") + "…"


def plural(count: int, word: str, many: str = "") -> str:
    """ "1 source", "3 sources"; ``many`` for irregular words ("stories")."""
    return f"{count} {word}" if count == 1 else f"{count} {many or word + 's'}"


# --- views: what templates see ----------------------------------------------------------------


@dataclass(frozen=True)
class SourceView:
    number: int  # 1-based position in the story's source list
    id: str
    name: str  # outlet, or "Unknown source"
    title: str
    link: str  # article_link: absolute original or site-relative local page
    local: bool  # True when link is the local page
    published: str | None  # RFC 3339 for <time datetime>
    when: str | None  # local time in the site's time zone


@dataclass(frozen=True)
class SentenceView:
    text: str
    article: str  # id of the article it was taken from
    source: SourceView | None  # that article's entry in the story's sources


@dataclass(frozen=True)
class StoryView:
    id: str
    title: str
    summary: tuple[SentenceView, ...]
    sources: tuple[SourceView, ...]
    page: str  # "2025/07/03/#id"
    day: date | None

    @property
    def count_label(self) -> str:
        return plural(len(self.sources), "source")

    @property
    def summary_text(self) -> str:
        return " ".join(s.text for s in self.summary)


@dataclass(frozen=True)
class DayView:
    day: date
    label: str
    path: str  # "2025/07/03/"
    previous: tuple[str, str] | None  # (path, label)
    next: tuple[str, str] | None
    updated: datetime | None  # newest article time of the day
    story_count: int
    # The day's stories, viewed when a page first asks for them: a one-shot rebuild keeps most
    # day pages as they are and needs no view of their stories.
    _stories: Callable[[], tuple[StoryView, ...]] = field(repr=False, compare=False)

    @functools.cached_property
    def stories(self) -> tuple[StoryView, ...]:
        return self._stories()

    @property
    def count_label(self) -> str:
        return plural(self.story_count, "story", "stories")


def source_view(number: int, article: Article, config: Config) -> SourceView:
    published = article.published
    return SourceView(
        number=number,
        id=article.id,
        name=clean_text(article.source) or UNKNOWN_SOURCE,
        title=clean_text(article.title) or UNTITLED,
        link=article_link(article),
        local=has_local_page(article),
        published=rfc3339(published) if published else None,
        when=local_time(published, config) if published else None,
    )


def story_title(story: Story) -> str:
    if clean_text(story.title):
        return clean_text(story.title)
    return next((clean_text(a.title) for a in story.articles if clean_text(a.title)), UNTITLED)


def story_view(story: Story, day: date | None, config: Config) -> StoryView:
    sources = tuple(source_view(n, a, config) for n, a in enumerate(story.articles, start=1))
    by_id = {s.id: s for s in reversed(sources)}  # first occurrence wins
    summary = tuple(
        SentenceView(clean_text(s.text), s.article, by_id.get(s.article))
        for s in story.summary
        if clean_text(s.text)
    )
    return StoryView(story.id, story_title(story), summary, sources, story_page(story, day), day)


def newest_time(stories: Iterable[Story]) -> datetime | None:
    times = [aware(a.published) for s in stories for a in s.articles if a.published]
    return max(times, default=None)


# id(story) -> (story, its day, its view): kept by a long-lived renderer between builds. The entry
# holds the story itself, so its id cannot be reused by another object while the entry lives.
ViewMemo = dict[int, tuple[Story, "date | None", "StoryView"]]


def memo_story_view(
    story: Story, day: date | None, config: Config, memo: ViewMemo | None
) -> StoryView:
    if memo is None:
        return story_view(story, day, config)
    hit = memo.get(id(story))
    if hit is not None and hit[0] is story and hit[1] == day:
        return hit[2]
    view = story_view(story, day, config)
    memo[id(story)] = (story, day, view)
    return view


class StoryViews:
    """Each story's view, made the first time it is asked for, then kept for this render.

    ``memo`` (a long-lived renderer's) reuses the views of unchanged stories between builds.
    """

    def __init__(self, config: Config, memo: ViewMemo | None) -> None:
        self.config = config
        self.memo = memo
        self._made: dict[int, tuple[Story, StoryView]] = {}  # holds the story: its id stays

    def of(self, story: Story, day: date | None) -> StoryView:
        made = self._made.get(id(story))
        if made is not None and made[0] is story:
            return made[1]
        view = memo_story_view(story, day, self.config, self.memo)
        self._made[id(story)] = (story, view)
        return view

    def of_day(self, day: Day) -> tuple[StoryView, ...]:
        return tuple(self.of(s, day.day) for s in day.stories)


def day_view(day: Day, config: Config, memo: ViewMemo | None = None) -> DayView:
    return _lazy_day_view(day, StoryViews(config, memo))


def _lazy_day_view(day: Day, views: StoryViews) -> DayView:
    def neighbour(other: date | None) -> tuple[str, str] | None:
        return (day_path(other), long_date(other)) if other else None

    return DayView(
        day=day.day,
        label=long_date(day.day),
        path=day_path(day.day),
        previous=neighbour(day.previous),
        next=neighbour(day.next),
        updated=newest_time(day.stories),
        story_count=len(day.stories),
        _stories=functools.partial(views.of_day, day),
    )


@dataclass(frozen=True)
class SiteView:
    """Everything precomputed once per render, shared by pages, feeds and data files.

    Story views are made when first asked for (``story_views``), each once.
    """

    site: Site
    config: Config
    days: tuple[DayView, ...]
    story_views: StoryViews = field(repr=False, compare=False)

    @classmethod
    def build(cls, site: Site, config: Config, memo: ViewMemo | None = None) -> SiteView:
        """Views of every day; ``memo`` reuses the story views of unchanged stories.

        The memo must belong to one config (its owner clears it when the config changes).
        """
        if memo is not None:  # forget stories that are gone, so the memo never outgrows the site
            live = {id(s) for d in site.days for s in d.stories} | {id(s) for s in site.undated}
            for key in [k for k in memo if k not in live]:
                del memo[key]
        views = StoryViews(config, memo)
        days = tuple(_lazy_day_view(d, views) for d in site.days)
        return cls(site, config, days, views)

    @functools.cached_property
    def undated(self) -> tuple[StoryView, ...]:
        return tuple(self.story_views.of(s, None) for s in self.site.undated)

    def stories_by_day(self) -> Iterator[tuple[Story, date | None]]:
        """Every story with its day (None: undated), in the site's order, without a view."""
        for day in self.site.days:
            for story in day.stories:
                yield story, day.day
        for story in self.site.undated:
            yield story, None

    def stories_with_models(self) -> Iterator[tuple[Story, StoryView]]:
        for story, day in self.stories_by_day():
            yield story, self.story_views.of(story, day)

    @functools.cached_property
    def local_articles(self) -> dict[str, tuple[Article, Story, date | None]]:
        """slug -> (article, its story, the story's day) for every article with a local page."""
        pages: dict[str, tuple[Article, Story, date | None]] = {}
        for story, day in self.stories_by_day():
            for article in story.articles:
                if has_local_page(article):
                    pages.setdefault(article_slug(article), (article, story, day))
        return pages
