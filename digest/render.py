"""Jinja environment, url helper, Markdown via markdown-it-py: Site -> files.

Interface (build.py relies on it):
- ``iter_site(site: Site, config: Config, template_dirs: Sequence[Path], memo=None)``: every
  output file as (relative POSIX path, bytes) pairs, one at a time, each rendered when asked for,
  so a writer can put each on disk and let it go; ``render_site(...) -> dict[str, bytes]`` is the
  same files at once. ``digest.json`` and ``search.json`` come as iterators of byte chunks
  instead of bytes, made as they are consumed (``SiteWriter.add_chunks``).
- ``article_link(article: Article) -> str``: the original URL, else the local page's
  site-relative path.
- ``default_theme_dir() -> Path``: the default theme, last in ``template_dirs``.

URL scheme (one ``url(path, absolute=False)`` callable per page, given to every template):
- ``path`` is site-relative ("", "archive/", "2025/07/03/#id", "static/style.css").
- In pages, links are page-relative ("../../../archive/"), so a site works from ``file://``, at a
  server root and under any sub-path alike. Without ``base_url`` the site is expected to be opened
  from disk too, so directory links name their ``index.html``; with ``base_url`` they stay pretty.
- ``404.html`` is served at any depth, so its links start with ``config.base_path``.
- ``absolute=True`` (feeds, sitemap, canonical, Open Graph) gives ``base_url + path``; without a
  base_url it falls back to the relative form, which for the root-level feeds and sitemap means
  relative to the site root (documented in those files by a comment).

Theme: ``template_dirs`` is a lookup list (user folder first). Every ``*.html``/``*.xml``/``*.txt``
at a folder's top level is a template; everything under its ``static/`` folder is copied verbatim to
``static/`` in the output, the first folder's file winning, like templates.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

import digest
from digest.config import Config
from digest.feeds import render_feeds
from digest.jsondata import RecordMemo, digest_json, search_json
from digest.model import Article, Site
from digest.output import KeptFile
from digest.pagerecord import PageRecord
from digest.theme import default_theme_dir
from digest.views import (
    DayView,
    SiteView,
    StoryView,
    Urls,
    ViewMemo,
    article_link,
    clean_text,
    long_date,
    month_label,
    plural,
    shorten,
    strip_controls,
)

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = [
    "PageMemo",
    "article_link",
    "default_theme_dir",
    "iter_site",
    "make_environment",
    "render_site",
]

# --- bodies --------------------------------------------------------------------------------

_ALLOWED_BODY_SCHEMES = ("http:", "https:", "mailto:")


def _validate_link(url: str) -> bool:
    """Stricter than markdown-it's default: only web and mail links, or in-page anchors."""
    lowered = url.strip().lower()
    return lowered.startswith(_ALLOWED_BODY_SCHEMES) or lowered.startswith("#")


def _link_open(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    tokens[idx].attrSet("rel", "external nofollow noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


@functools.cache
def make_markdown() -> MarkdownIt:
    """The Markdown renderer, made (and markdown-it imported, ~30 ms) when a Markdown body is
    first rendered: after an edit, the pages rendered again are often all plain text."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False})
    # An <img> would pull from another host (no external assets): "![alt](src)" stays a link.
    md.disable("image")
    md.validateLink = _validate_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


def render_body(article: Article) -> Markup:
    """The article's cleaned body as safe HTML."""
    body = clean_text(article.body)
    if article.format == "markdown":
        return Markup(make_markdown().render(body))
    paragraphs = [line.strip() for line in body.splitlines() if line.strip()]
    return Markup("\n").join(Markup("<p>{}</p>").format(p) for p in paragraphs)


# --- Jinja ---------------------------------------------------------------------------------


def _finalize(value: Any) -> Any:
    """Drop control characters from every output: XML forbids them, and text may carry them."""
    if isinstance(value, Markup):
        return Markup(strip_controls(value))
    if isinstance(value, str):
        return strip_controls(value)
    return value


def make_environment(
    template_dirs: Sequence[Path], code_cache: jinja2.BytecodeCache | None = None
) -> jinja2.Environment:
    """The theme's environment; ``code_cache`` keeps its compiled templates between processes
    (``templatecode.CompiledTemplates``)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs]),
        bytecode_cache=code_cache,
        autoescape=jinja2.select_autoescape(["html", "xml", "htm"], default_for_string=True),
        undefined=jinja2.StrictUndefined,  # a typo in a template fails the build, never blank
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.globals.update(
        plural=plural,
        long_date=long_date,
        version=digest.__version__,
    )
    return env


def compile_templates(env: jinja2.Environment) -> None:
    """Compile the theme's templates now (the environment keeps them). One that does not compile
    or cannot be read (bad syntax, not UTF-8, no permission) is left for rendering to report,
    if a page uses it."""
    for name in env.list_templates(extensions=("html", "xml", "txt")):
        if not name.startswith("static/"):
            with contextlib.suppress(Exception):
                env.get_template(name)


def static_files(template_dirs: Sequence[Path]) -> dict[str, bytes]:
    """Every file under each folder's ``static/``, the first folder's winning by relative path."""
    files: dict[str, bytes] = {}
    for folder in template_dirs:
        static = Path(folder) / "static"
        if not static.is_dir():
            continue
        for path in sorted(static.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not any(part.startswith(".") for part in relative.parts):
                files.setdefault(relative.as_posix(), path.read_bytes())
    return files


class PageMemo:
    """Rendered pages kept between builds of one process (``digest serve``), by their inputs.

    A page is reused when each of its inputs is the very object of the previous build (the
    builder hands unchanged articles and stories on as the same objects) or equal to it. Only
    pages used by the latest build are kept. The owner clears it when templates or config
    change, since those shape every page.
    """

    def __init__(self) -> None:
        self.previous: dict[Any, tuple[tuple[Any, ...], str]] = {}
        self.current: dict[Any, tuple[tuple[Any, ...], str]] = {}
        self.views: ViewMemo = {}  # story views, reused for unchanged stories
        self.records: RecordMemo = {}  # digest.json story records, by story view
        self.environment: jinja2.Environment | None = None  # templates compiled once
        self.hits = 0
        self.last_hits = 0

    def lookup(self, key: Any, inputs: tuple[Any, ...]) -> str | None:
        entry = self.current.get(key) or self.previous.get(key)
        if entry is None or len(entry[0]) != len(inputs):
            return None
        if not all(a is b or a == b for a, b in zip(entry[0], inputs, strict=True)):
            return None
        self.current[key] = entry
        self.hits += 1
        return entry[1]

    def store(self, key: Any, inputs: tuple[Any, ...], page: str) -> None:
        self.current[key] = (inputs, page)

    def rotate(self) -> None:
        """End a build: its pages become the previous build's; ``last_hits`` counts reuses."""
        self.previous, self.current = self.current, {}
        self.last_hits, self.hits = self.hits, 0

    def clear(self) -> None:
        self.previous, self.current, self.hits = {}, {}, 0
        self.views.clear()
        self.records.clear()
        self.environment = None


@dataclass
class Renderer:
    env: jinja2.Environment
    view: SiteView
    memo: PageMemo | None = None
    record: PageRecord | None = None  # a one-shot build's: pages its previous build left

    @property
    def config(self) -> Config:
        return self.view.config

    def render(self, template: str, output: str, *, rooted: bool = False, **context: Any) -> str:
        urls = Urls(self.config, output, rooted=rooted)
        base = {
            "config": self.config,
            "site": self.view,
            "url": urls,
            "href": urls.href,
            "root": urls.root,
            "output": output,
            # Without base_url the site must work from disk, where folders need "index.html".
            "index_links": not self.config.base_url,
        }
        return self.env.get_template(template).render({**base, **context})

    def page(
        self,
        template: str,
        output: str,
        *,
        title: str,
        description: str,
        og_type: str = "website",
        rooted: bool = False,
        **context: Any,
    ) -> str:
        canonical_path = output.removesuffix("index.html")
        canonical = (
            self.config.base_url + canonical_path if self.config.base_url and not rooted else None
        )
        page_title = title if title == self.config.title else f"{title} · {self.config.title}"
        page = self.render(
            template,
            output,
            rooted=rooted,
            heading=title,
            page_title=page_title,
            description=shorten(clean_text(description) or self.config.description),
            canonical=canonical,
            og_type=og_type,
            **context,
        )
        return page

    def file(self, output: str, inputs: tuple[Any, ...], make: Callable[[], str]) -> str | KeptFile:
        """A page that is one output file: ``memoized``, or kept as the previous build wrote it
        when the page record knows it was made from the same inputs."""
        if self.record is None:
            return self.memoized(output, inputs, make)
        kept = self.record.kept(output, self._shaped(inputs))
        return KeptFile(kept) if kept is not None else make()

    def data_file(
        self, output: str, head: tuple[Any, ...], make: Callable[[], Iterator[bytes]]
    ) -> Iterator[bytes] | KeptFile:
        """A data file of every story (digest.json, search.json): ``make()``, or kept whole as
        the previous build wrote it when the page record knows ``head`` and every story
        unchanged."""
        if self.record is None:
            return make()
        stories = tuple(story for story, _ in self.view.stories_by_day())
        kept = self.record.kept(output, self._shaped((*head, stories)))
        if kept is None:
            return make()
        self.record.keep_encoded(output, stories)
        return KeptFile(kept)

    def memoized(self, key: Any, inputs: tuple[Any, ...], make: Callable[[], str]) -> str:
        """``make()``, or the page it made for ``key`` in the previous build from like inputs."""
        if self.memo is None:
            return make()
        inputs = self._shaped(inputs)
        page = self.memo.lookup(key, inputs)
        if page is None:
            page = make()
            self.memo.store(key, inputs, page)
        return page

    def _shaped(self, inputs: tuple[Any, ...]) -> tuple[Any, ...]:
        """The inputs with the site's shape added, for templates that glance at ``site``."""
        return (self._shape, *inputs)

    @functools.cached_property
    def _shape(self) -> str:
        """The site's shape as one string, made once: thousands of pages add it to their inputs."""
        site = self.view.site
        return repr((len(site.days), len(site.undated), site.days[0].day if site.days else None))


def _day_description(stories: Sequence[StoryView]) -> str:
    return "; ".join(s.title for s in stories)


def render_pages(r: Renderer) -> Iterator[tuple[str, str | KeptFile]]:
    """Every page as (path, text), each rendered when the next one is asked for."""
    view = r.view
    yield "index.html", r.file("index.html", _home_inputs(view.site), lambda: _home_page(r))
    for day_model, day in zip(view.site.days, view.days, strict=True):
        output = day.path + "index.html"
        yield (
            output,
            r.file(
                output,
                (day_model.previous, day_model.next, *day_model.stories),
                lambda output=output, day=day: r.page(
                    "day.html",
                    output,
                    title=day.label,
                    description=_day_description(day.stories),
                    og_type="article",
                    day=day,
                    stories=day.stories,
                ),
            ),
        )
    if view.site.undated:
        yield (
            "undated/index.html",
            r.file(
                "undated/index.html",
                view.site.undated,
                lambda: r.page(
                    "undated.html",
                    "undated/index.html",
                    title="Undated stories",
                    description=_day_description(view.undated),
                    stories=view.undated,
                ),
            ),
        )
    # The archive lists each day with its number of stories.
    days = repr([(day.day, len(day.stories)) for day in view.site.days])
    yield (
        "archive/index.html",
        r.file(
            "archive/index.html",
            (days,),
            lambda: r.page(
                "archive.html",
                "archive/index.html",
                title="Archive",
                description=f"Every day of {r.config.title}, newest first.",
                months=archive_months(view.days),
            ),
        ),
    )
    for slug, (article, story_model, day) in sorted(view.local_articles.items()):
        output = f"articles/{slug}/index.html"
        yield (
            output,
            r.file(
                output,
                (article, story_model),
                lambda output=output, article=article, story=story_model, day=day: _article_page(
                    r, output, article, view.story_views.of(story, day)
                ),
            ),
        )
    yield (
        "404.html",
        r.file(
            "404.html",
            (),
            lambda: r.page(
                "404.html", "404.html", title="Page not found", description="", rooted=True
            ),
        ),
    )


def _home_inputs(site: Site) -> tuple[Any, ...]:
    """What the front page shows: the latest day, else the undated stories."""
    if not site.days:
        return site.undated
    latest = site.days[0]
    return (latest.day, latest.previous, latest.next, *latest.stories)


def _home_page(r: Renderer) -> str:
    view = r.view
    latest = view.days[0] if view.days else None
    stories = latest.stories if latest else view.undated
    return r.page(
        "index.html",
        "index.html",
        title=r.config.title,
        description=_day_description(stories) or r.config.description,
        latest=latest,
        stories=stories,
    )


def _article_page(r: Renderer, output: str, article: Article, story: StoryView) -> str:
    source = next(s for s in story.sources if s.id == article.id)
    return r.page(
        "article.html",
        output,
        title=source.title,
        description=clean_text(article.text) or source.title,
        og_type="article",
        article=source,
        body=render_body(article),
        story=story,
    )


@dataclass(frozen=True)
class MonthView:
    label: str
    days: tuple[DayView, ...]


def archive_months(days: Sequence[DayView]) -> tuple[MonthView, ...]:
    """Days grouped by month, newest first in both (days arrive newest first)."""
    ordered = sorted(days, key=lambda d: d.day, reverse=True)
    months: dict[tuple[int, int], list[DayView]] = {}
    for day in ordered:
        months.setdefault((day.day.year, day.day.month), []).append(day)
    return tuple(MonthView(month_label(y, m), tuple(ds)) for (y, m), ds in months.items())


def render_discovery(r: Renderer) -> dict[str, str | KeptFile]:
    """sitemap.xml and robots.txt."""
    view = r.view
    urls = Urls(r.config, "sitemap.xml")
    entries: list[tuple[str, str | None]] = [("", None), ("archive/", None)]
    entries += [(d.path, d.updated.date().isoformat() if d.updated else None) for d in view.days]
    if view.undated:
        entries.append(("undated/", None))
    entries += [(f"articles/{slug}/", None) for slug in sorted(view.local_articles)]

    def sitemap() -> str:
        listed = [{"loc": urls(path, absolute=True), "lastmod": day} for path, day in entries]
        return r.render("sitemap.xml", "sitemap.xml", urls_list=listed)

    return {
        # The entries as one string: thousands of them are then digested as one value.
        "sitemap.xml": r.file("sitemap.xml", (repr(entries),), sitemap),
        "robots.txt": r.file("robots.txt", (), lambda: r.render("robots.txt", "robots.txt")),
    }


def _encoded(text: str | KeptFile) -> bytes | KeptFile:
    return text if isinstance(text, KeptFile) else text.encode("utf-8")


def render_site(
    site: Site,
    config: Config,
    template_dirs: Sequence[Path],
    memo: PageMemo | None = None,
) -> dict[str, bytes]:
    """Every output file of the site, as relative POSIX path -> bytes (see the module docstring).

    ``memo`` (kept by a long-lived builder) lets unchanged pages skip Jinja on a rebuild.
    """
    files = iter_site(site, config, template_dirs, memo)
    return dict(sorted((path, _whole(data)) for path, data in files))


def _whole(data: bytes | Iterable[bytes]) -> bytes:
    return data if isinstance(data, bytes) else b"".join(data)


def iter_site(
    site: Site,
    config: Config,
    template_dirs: Sequence[Path],
    memo: PageMemo | None = None,
    record: PageRecord | None = None,
    environment: jinja2.Environment | None = None,
) -> Iterator[tuple[str, bytes | KeptFile | Iterable[bytes]]]:
    """Every output file of the site as (path, bytes or byte chunks), each made when asked for.

    Only the file in hand is held (and, with a ``memo``, the pages it keeps for a rebuild): a
    100,000-article site is never in memory whole. The memo counts as updated only when every
    file was asked for. With a ``record`` (a one-shot build's), a page made from the same inputs
    as the file the previous build left comes as a ``KeptFile`` instead of bytes. Without a
    memo, ``environment`` (from ``make_environment(template_dirs)``) saves making one.
    """
    view = SiteView.build(site, config, memo.views if memo is not None else None)
    if memo is None:
        env = environment or make_environment(template_dirs)
    else:
        if memo.environment is None:
            memo.environment = make_environment(template_dirs)
        env = memo.environment
    renderer = Renderer(env, view, memo, record)
    for path, text in render_pages(renderer):
        yield path, _encoded(text)
    for group in (render_feeds(renderer), render_discovery(renderer)):
        while group:
            path, text = group.popitem()
            yield path, _encoded(text)
    records = memo.records if memo is not None else None
    # Byte chunks, made as the writer takes them: the biggest files are never whole in memory.
    title, generated = config.title, site.generated
    yield (
        "digest.json",
        renderer.data_file(
            "digest.json", (title, generated), lambda: digest_json(view, records, record)
        ),
    )
    yield "search.json", renderer.data_file("search.json", (), lambda: search_json(view, record))
    yield ".nojekyll", b""
    if config.cname:
        yield "CNAME", (config.cname.strip() + "\n").encode("utf-8")
    yield from static_files(template_dirs).items()
    if memo is not None:
        memo.rotate()
