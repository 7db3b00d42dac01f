"""The pipeline: config + ingest + clean + cluster + summarize + render + write, with a cache.

A ``Builder`` runs builds and keeps what it computed in memory between them, so ``digest serve``
re-reads only changed files, re-summarizes only stories whose articles changed, and skips
straight to rendering when only templates changed. ``digest build`` runs one build with the same
code, backed by the persistent cache in ``.digest-cache/``.
"""

from __future__ import annotations

import array
import contextlib
import functools
import hashlib
import logging
import math
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

# The heavy stages (sumy and NLTK, numpy and scipy, Jinja) are imported where they are used: a
# build with nothing to do, and `digest --help`, must not pay seconds of imports.
from digest import ingest, pagerecord
from digest.cache import (
    CACHE_DIR_NAME,
    ArrayCache,
    JsonCache,
    article_from_json,
    article_to_json,
    code_fingerprint,
    read_json,
    summary_from_json,
    summary_to_json,
    write_json,
)
from digest.config import Config, load_config
from digest.filestore import FileStat, FileState, FileStore, text_span
from digest.model import Article, Day, Site, Story, SummarySentence
from digest.output import (
    StaleOutput,
    UnsafeOutput,
    WriteResult,
    check_output_dir,
    write_stream,
)
from digest.text import text_digest
from digest.theme import default_theme_dir as _theme_dir

log = logging.getLogger("digest")

Listing = list[tuple[str, str, FileStat]]  # relative POSIX path, file system path, stat
PARALLEL_MIN_ITEMS = 64  # below this a process pool costs more than it saves
FEATURE_BATCH = 50  # articles per clustering-features task
# A server places the articles that changed since its last exact clustering into the stories it
# found (quickcluster.py) when the site is big enough for exact clustering to be felt (1-2 s at
# 6,000 articles), and few enough articles changed; then it clusters exactly when idle.
QUICK_MIN_ARTICLES = 1000
QUICK_MAX_CHANGES = 50
T = TypeVar("T")
R = TypeVar("R")


class BuildError(Exception):
    """A fatal problem: the build cannot go on and the previous site stays as it was."""


@dataclass(frozen=True)
class BuildOptions:
    config_path: Path | None = None  # None: ./digest.toml when it exists
    content_dir: Path = Path("content")
    output_dir: Path = Path("site")
    base_url: str | None = None
    use_cache: bool = True
    site_dir: Path = Path(".")  # the site folder: home of the config, the cache, templates/

    @property
    def config_file(self) -> Path:
        return self.config_path if self.config_path is not None else self.site_dir / "digest.toml"

    @property
    def templates_dir(self) -> Path:
        return self.site_dir / "templates"


@dataclass
class BuildReport:
    site: Site | None  # None when nothing changed since the last build and nothing was built
    config: Config
    warnings: list[str] = field(default_factory=list)
    articles: int = 0
    stories: int = 0
    days: int = 0
    written: int = 0
    unchanged: int = 0
    files_read: int = 0  # files ingested anew (not from memory or cache)
    stories_summarized: int = 0  # stories summarized anew
    provisional: bool = False  # stories placed quickly; an exact clustering may regroup some
    pages_kept: int = 0  # pages not rendered: the page record knew them unchanged
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _ReadyOutput:
    """What rendering starts from, made before the stories (``Builder._ready_output``)."""

    template_dirs: list[Path]
    environment: Any  # jinja2.Environment, its templates compiled
    salt: str  # the page record's
    record: pagerecord.PageRecord | None  # None: this build does not use the record


class Builder:
    """Builds a site; reuses in-memory results from its previous build when nothing changed."""

    def __init__(
        self,
        options: BuildOptions,
        workers: int | None = None,
        write_lock: AbstractContextManager[Any] | None = None,
        serving: bool = False,
    ) -> None:
        self.options = options
        self.workers = workers
        # A server rebuilds again and again: it keeps every stage's memory between builds, and
        # its first build always runs to fill it. A one-shot build returns at once when nothing
        # changed (see the manifest) and lets go of what only a next build would reuse.
        self.serving = serving
        self._cancelled = threading.Event()
        # Held while the output folder changes; a server reading files takes it too.
        self.write_lock = write_lock if write_lock is not None else contextlib.nullcontext()
        self._written: dict[str, str] | None = None  # what this builder last wrote: path -> hash
        self._config_workers = 0
        self._caches: dict[str, JsonCache | ArrayCache] = {}
        self._stories: dict[str, Story] = {}  # the last build's stories, by id
        self._files: dict[str, FileState] = {}
        self._files_scope = ""
        self._file_store: FileStore | None = None  # where ``_files`` are kept between processes
        self._memo: Any = None  # render.PageMemo: pages reused when their inputs are unchanged
        self._memo_scope: object = None
        self._last: tuple[Config, list[Story], list[str]] | None = None
        self._snapshot: Any = None  # cluster.Snapshot of the last exact clustering (serving)
        self.quick_min_articles = QUICK_MIN_ARTICLES
        self._last_provisional = False
        self._keys: dict[tuple[int, ...], tuple[list[Article], str]] = {}  # see _story_keys
        self._feature_digests: dict[tuple[str, str], str] = {}  # (title, text) -> cache key
        self._fingerprints: dict[str, str] = {}  # pages of the last write: path -> inputs' hash
        self._pages_kept = 0  # pages of the last write kept without rendering (page record)
        self._warm: Any = None  # warmworker.WarmWorker of this build, while it may summarize
        self._warm_saves = False  # whether the warm worker has state to save before it stops
        self._text_digests: dict[int, str] = {}  # id(article) -> text_digest, this build's
        self._encoded: pagerecord.EncodedStories | None = None  # the last write's (page record)
        self._scan: pagerecord.OutputScan | None = None  # the output after the last write
        self._ready: _ReadyOutput | None = None  # made while the warm worker clustered

    # -- the build ----------------------------------------------------------------------------

    def build(self, *, render_only: bool = False, exact: bool = False) -> BuildReport:
        """Run one build; ``render_only`` (templates changed) reuses the last build's stories.

        A serving builder may place changed articles quickly (the report says ``provisional``);
        ``exact`` makes it cluster the whole corpus, as ``digest build`` always does.
        """
        started = time.perf_counter()
        timings: dict[str, float] = {}
        opts = self.options
        self._ready = None  # a failed build's, if any: this one makes its own
        config, config_warnings = self._load_config()
        self._config_workers = config.workers
        if not opts.content_dir.is_dir():
            raise BuildError(f"content folder {opts.content_dir} does not exist or is not a folder")
        try:
            check_output_dir(opts.output_dir, opts.content_dir, opts.site_dir)
        except UnsafeOutput as exc:
            raise BuildError(str(exc)) from exc

        report_warnings = list(config_warnings)
        template_dirs = [d for d in (opts.templates_dir, _theme_dir()) if d.is_dir()]
        listing, listing_warnings = self._list_content()
        theme = _theme_fingerprint(template_dirs)
        inputs = _inputs_digest(config, opts.config_file, theme, listing)
        if not self.serving and self._last is None:
            unchanged = self._unchanged_since_last_build(inputs, config, started)
            if unchanged is not None:
                unchanged.warnings[:0] = config_warnings
                return unchanged
        reused_stories = render_only and self._last is not None and self._last[0] == config
        if reused_stories:
            _, stories, story_warnings = self._last
            files_read = summarized = 0
            provisional = self._last_provisional
            article_count = sum(len(s.articles) for s in stories)
            report_warnings += story_warnings
        else:
            self._start_warm_worker(config)
            try:
                articles, file_warnings, files_read = self._read_articles(config, listing, timings)
                file_warnings[:0] = listing_warnings
                # What this process does while the worker clusters: with few files read, the
                # worker computes the few features the term table lacks.
                meanwhile = None
                if files_read < PARALLEL_MIN_ITEMS:
                    meanwhile = functools.partial(self._meanwhile, config, template_dirs, theme)
                stories, story_warnings, summarized, provisional = self._make_stories(
                    articles, config, timings, exact=exact, meanwhile=meanwhile
                )
            except BaseException:
                self._stop_warm_worker()
                raise
            self._last_provisional = provisional
            self._last = (config, stories, file_warnings + story_warnings)
            article_count = len(articles)
            report_warnings += file_warnings + story_warnings

        try:  # the warm worker, if any, stops at the end: it saves while this process writes
            from digest import render  # Jinja and Markdown: only when something is rendered

            site = assemble_site(stories, config)
            memo_scope = (config, theme)
            if self._memo is None or memo_scope != self._memo_scope:
                self._memo = render.PageMemo()
                self._memo_scope = memo_scope
            # A one-shot build has no next build to reuse pages in: keeping every page in the memo
            # would hold the whole site in memory, which streaming the pages to disk avoids.
            memo = self._memo if self.serving else None
            # A one-shot build in a fresh process has no memo, but the record of what the last one
            # left in the output folder: pages made from the same inputs are not rendered again.
            salt = self._record_salt(config, theme)
            use_record = self._uses_record
            try:
                result = self._render_and_write(
                    site, config, template_dirs, memo, timings, salt if use_record else None
                )
            except StaleOutput:  # the folder changed behind this builder's back: read it and retry
                self._written = None
                result = self._render_and_write(site, config, template_dirs, memo, timings, None)
        finally:
            self._stop_warm_worker()
        self._written = result.hashes
        written, unchanged = result.written, result.unchanged
        report = BuildReport(
            site=site,
            config=config,
            warnings=report_warnings,
            articles=article_count,
            stories=len(stories),
            days=len(site.days),
            written=written,
            unchanged=unchanged,
            files_read=files_read,
            stories_summarized=summarized,
            provisional=provisional,
            pages_kept=self._pages_kept,
            seconds=time.perf_counter() - started,
            timings=timings,
        )
        if reused_stories or self.serving:
            # Reused stories predate this listing, so a later one-shot build must not trust it;
            # a server rebuilds on every save and leaves the manifest to digest build.
            self._drop_manifest()
        else:
            self._save_manifest(inputs, report, report_warnings[len(config_warnings) :], salt)
        return report

    def cancel(self) -> None:
        """Make a build under way stop before it writes (a server shutting down)."""
        self._cancelled.set()

    def _render_and_write(
        self,
        site: Site,
        config: Config,
        template_dirs: Sequence[Path],
        memo: Any,
        timings: dict[str, float],
        record_salt: str | None,
    ) -> WriteResult:
        """Render the site file by file, each written (or staged) as soon as it is rendered.

        Nothing the output folder's readers can see changes before the last file is rendered;
        the write lock is held only for that final step. Timings split into the time spent
        rendering and the rest (hashing, writing, the final step). ``record_salt``: use the
        page record (see ``pagerecord``) made with this salt.
        """
        from digest import render

        mark = time.perf_counter()
        rendering = [0.0]
        known: Mapping[str, str] | None = self._written
        record = None
        ready, self._ready = self._ready, None
        if ready is not None and ready.template_dirs != list(template_dirs):
            ready = None
        if record_salt is not None:
            if ready is not None and ready.record is not None and ready.salt == record_salt:
                record = ready.record
            else:
                record = self._load_record(record_salt)
            known = record.hashes
        self._fingerprints, self._pages_kept, self._encoded, self._scan = {}, 0, None, None
        environment = None
        if ready is not None:
            environment = ready.environment
        elif memo is None:
            environment = self._environment(template_dirs)
        pages = render.iter_site(site, config, template_dirs, memo, record, environment)
        files = _timed(pages, rendering)
        try:
            result = write_stream(
                self.options.output_dir,
                files,
                known,
                commit_lock=_Commit(self.write_lock, self._cancelled),
            )
            if record is not None:
                self._fingerprints = record.fingerprints
                self._pages_kept = record.reused
                self._encoded = record.stories
                if result.touched is not None:  # the rest is as the record found it
                    output = self.options.output_dir
                    self._scan = record.scan.after(result.touched, output)
        except _RenderFailed as failed:  # a theme error: name the template and line
            raise BuildError(_describe_render_error(failed.error)) from failed.error
        except StaleOutput as exc:
            if known is None:  # read from the folder just now: no retry would help
                where = self.options.output_dir
                raise BuildError(f"cannot write the site to {where}: {exc}") from exc
            raise
        except OSError as exc:
            self._written = None  # the folder's state is unknown now: read it next time
            raise BuildError(f"cannot write the site to {self.options.output_dir}: {exc}") from exc
        finally:
            timings["render"] = rendering[0]
            timings["write"] = time.perf_counter() - mark - rendering[0]
        return result

    def _record_salt(self, config: Config, theme: object) -> str:
        return pagerecord.salt_of(code_fingerprint(), config.fingerprint(), repr(theme))

    @property
    def _uses_record(self) -> bool:
        """Whether the page record is read: by a one-shot build, not by a builder that wrote the
        output itself (it knows what it wrote) nor without the cache."""
        return self._persistent_cache and not self.serving and self._written is None

    def _load_record(self, salt: str) -> pagerecord.PageRecord:
        record = pagerecord.load(self._pages_path(), salt, self.options.output_dir)
        record.vouch(self._articles_as_read())
        return record

    def _meanwhile(self, config: Config, template_dirs: Sequence[Path], theme: object) -> None:
        """What this process reads while the warm worker clusters: what rendering starts from,
        and the summaries' cache."""
        self._ready_output(config, template_dirs, theme)
        self._summaries(config)

    def _ready_output(self, config: Config, template_dirs: Sequence[Path], theme: object) -> None:
        """Get what rendering starts from ready before the stories are: the templates compiled
        and the page record read (``_render_and_write`` takes them, or makes them if this did
        not run)."""
        from digest import render

        environment = self._environment(template_dirs)
        render.compile_templates(environment)
        salt = self._record_salt(config, theme)
        record = self._load_record(salt) if self._uses_record else None
        self._ready = _ReadyOutput(list(template_dirs), environment, salt, record)

    def _environment(self, template_dirs: Sequence[Path]) -> Any:
        """A Jinja environment of the theme, its compiled templates kept in the cache (when
        there is one) for the next process."""
        from digest import render, templatecode

        code_cache = None
        if self._persistent_cache:
            folder = self.options.site_dir / CACHE_DIR_NAME / "templates"
            code_cache = templatecode.CompiledTemplates(folder, code_fingerprint())
            code_cache.prune()
        return render.make_environment(template_dirs, code_cache)

    def _articles_as_read(self) -> Iterator[tuple[Article, str]]:
        """Each article as reading its file made it (now or in an earlier build: the file
        store), with a key of the file's path and bytes (what the page record may digest it
        by). Removing furniture makes new objects of the articles it changes: those are not
        among these, and are digested by their fields."""
        for rel, state in self._files.items():
            if state.article is not None:
                yield state.article, _file_key(rel, state.content_hash)

    # -- nothing changed? ------------------------------------------------------------------------

    def _manifest_path(self) -> Path:
        return self.options.site_dir / CACHE_DIR_NAME / "manifest.json"

    def _pages_path(self) -> Path:
        return self.options.site_dir / CACHE_DIR_NAME / "pages.json"

    def _unchanged_since_last_build(
        self, inputs: str, config: Config, started: float
    ) -> BuildReport | None:
        """The last build's report when neither its inputs nor its output changed since, else None.

        Inputs are the digest version, the config, every theme file and every content file (by
        path, mtime and size); the output is every file the last build left, by size and mtime.
        Then building again would write the same bytes: a no-op rebuild costs a listing.
        """
        if not self._persistent_cache:
            return None
        try:
            manifest = read_json(self._manifest_path())
            if manifest.get("inputs") != inputs:
                return None
            outputs: dict[str, list[int]] = manifest["outputs"]
            last = pagerecord.recorded_scan(outputs, manifest["folders"])
            scan = pagerecord.scan_output(self.options.output_dir, last)
            found = {rel: _manifest_stat(st) for rel, st in scan.files.items()}
            if found != {k: tuple(v) for k, v in outputs.items()}:
                return None
            report = manifest["report"]
            return BuildReport(
                site=None,
                config=config,
                warnings=list(report["warnings"]),
                articles=report["articles"],
                stories=report["stories"],
                days=report["days"],
                unchanged=len(outputs),
                seconds=time.perf_counter() - started,
                timings={"check": time.perf_counter() - started},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # no manifest, or not one we can trust: build

    def _drop_manifest(self) -> None:
        with contextlib.suppress(OSError):
            self._manifest_path().unlink()

    def _save_manifest(
        self, inputs: str, report: BuildReport, warnings: list[str], salt: str
    ) -> None:
        if not self._persistent_cache:
            return
        scan = self._scan
        if scan is None:
            scan = pagerecord.scan_output(self.options.output_dir)
        path = self._manifest_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            settled = pagerecord.settled_folders(scan, path.parent)
        except OSError:
            settled = {}  # then nothing is written below either
        try:
            pagerecord.save(
                self._pages_path(), salt, scan, self._written or {}, self._fingerprints, settled
            )
            if self._encoded is not None:
                self._encoded.save(pagerecord.stories_path(self._pages_path()), salt)
                self._encoded = None  # the bytes of every story: of no use any more
        except (OSError, ValueError) as exc:
            log.warning("could not write %s: %s", self._pages_path(), exc)
        manifest = {
            "inputs": inputs,
            "outputs": {k: list(_manifest_stat(v)) for k, v in scan.files.items()},
            "folders": settled,
            "report": {
                "warnings": warnings,
                "articles": report.articles,
                "stories": report.stories,
                "days": report.days,
            },
        }
        try:
            write_json(path, manifest)
        except (OSError, ValueError) as exc:
            log.warning("could not write %s: %s", path, exc)

    def _load_config(self) -> tuple[Config, list[str]]:
        opts = self.options
        loaded = load_config(
            opts.config_file, required=opts.config_path is not None, base_url=opts.base_url
        )
        if loaded.errors:
            raise BuildError("bad config:\n  " + "\n  ".join(loaded.errors))
        return loaded.config, loaded.warnings

    @property
    def _persistent_cache(self) -> bool:
        """Whether .digest-cache/ may be used: asked for, and not inside the content folder."""
        if not self.options.use_cache:
            return False
        folder = (self.options.site_dir / CACHE_DIR_NAME).resolve()
        content = self.options.content_dir.resolve()
        return folder != content and content not in folder.parents

    def _cache(self, name: str, scope: str) -> JsonCache:
        """The named cache for ``scope``; kept in memory between builds of this builder."""
        cache = self._caches.get(name)
        if not isinstance(cache, JsonCache) or cache.scope_key != scope:
            folder = self.options.site_dir / CACHE_DIR_NAME / name
            cache = JsonCache(folder if self._persistent_cache else None, scope)
            self._caches[name] = cache
        return cache

    def _array_cache(self, name: str, fields: int) -> ArrayCache:
        """The named cache of numpy arrays; kept in memory between builds of this builder."""
        cache = self._caches.get(name)
        if not isinstance(cache, ArrayCache):
            folder = self.options.site_dir / CACHE_DIR_NAME / name
            cache = ArrayCache(folder if self._persistent_cache else None, name, fields)
            self._caches[name] = cache
        return cache

    # -- ingest and clean ---------------------------------------------------------------------

    def _list_content(self) -> tuple[Listing, list[str]]:
        """Every article file with its stat signature, and a warning for each unreadable one."""
        content = self.options.content_dir
        try:
            listed = ingest.discover_relative(content)
        except OSError as exc:
            raise BuildError(f"cannot read the content folder {content}: {exc}") from exc
        result: Listing = []
        warnings: list[str] = []
        for rel, path in listed:
            try:
                st = os.stat(path)
            except OSError as exc:
                warnings.append(f"{_shown(content, rel)}: cannot read: {exc.strerror or exc}")
                continue
            # ctime and inode too: an edit that keeps the size and restores the mtime (cp -p,
            # rsync -a, coarse file systems) still changes the ctime, which no one can set.
            result.append((rel, path, (st.st_mtime_ns, st.st_size, st.st_ctime_ns, st.st_ino)))
        return result, warnings

    def _read_articles(
        self,
        config: Config,
        listed: Listing,
        timings: dict[str, float],
    ) -> tuple[list[Article], list[str], int]:
        from digest import clean

        mark = time.perf_counter()
        content = self.options.content_dir
        scope = f"tz={config.timezone}"
        if scope != self._files_scope or self._file_store is None:
            folder = self.options.site_dir / CACHE_DIR_NAME / "files"
            self._file_store = FileStore(
                folder if self._persistent_cache else None, scope, keep_index=self.serving
            )
            self._files, self._files_scope = {}, scope
        # A new builder starts from what the last build kept; a server's later builds from
        # what its last build read.
        last = self._files or self._file_store.load()
        known: dict[str, FileState] = {}
        todo: list[tuple[str, str, FileStat, str]] = []
        warnings: list[str] = []
        for rel, path, stat in listed:
            previous = last.get(rel)
            if previous is not None and previous.stat == stat:
                known[rel] = previous
                continue
            try:  # a changed stat, or a new file: read unless its bytes are the same
                digest = _file_hash(path)
            except OSError as exc:
                warnings.append(f"{_shown(content, rel)}: cannot read: {exc.strerror or exc}")
                continue
            if previous is not None and previous.content_hash == digest:
                known[rel] = previous._replace(stat=stat)
            else:
                todo.append((rel, path, stat, digest))
        if todo:
            log.info("reading %d of %d files", len(todo), len(listed))
        results = self._map(
            _ingest_and_clean,
            [(Path(path), content, config.timezone) for _, path, _, _ in todo],
            label="read",
        )
        for (rel, _, stat, digest), (article_json, file_warnings) in zip(
            todo, results, strict=True
        ):
            text_digest_ = ""
            if article_json:  # what clustering names the text by: hashed once, not per build
                text_digest_ = text_digest(article_json["title"], article_json["text"])
            article = article_from_json(article_json) if article_json else None
            known[rel] = FileState(stat, digest, article, tuple(file_warnings), text_digest_)
        # In listing order, whichever files came from memory, the store or a fresh read: the
        # stages after this see the same input in a warm build as in a cold one.
        self._files = {rel: known[rel] for rel, _, _ in listed if rel in known}
        if not self._file_store.unchanged(self._files):
            self._file_store.save(self._files)
        articles = [s.article for s in self._files.values() if s.article is not None]
        for state in self._files.values():
            warnings.extend(state.warnings)
        timings["read"] = time.perf_counter() - mark
        mark = time.perf_counter()
        furniture = self._cache("furniture", scope)
        articles = clean.remove_recurring_lines(articles, furniture)
        furniture.finish()
        timings["furniture"] = time.perf_counter() - mark
        return articles, warnings, len(todo)

    # -- stories ------------------------------------------------------------------------------

    def _make_stories(
        self,
        articles: list[Article],
        config: Config,
        timings: dict[str, float],
        *,
        exact: bool,
        meanwhile: Callable[[], None] | None = None,
    ) -> tuple[list[Story], list[str], int, bool]:
        """The stories; ``meanwhile`` is run while the warm worker clusters (None: cluster in
        this process)."""
        mark = time.perf_counter()
        groups, provisional = self._cluster(articles, config, exact=exact, meanwhile=meanwhile)
        timings["cluster"] = time.perf_counter() - mark
        _check_partition(groups, len(articles))

        mark = time.perf_counter()
        grouped = [sorted((articles[i] for i in group), key=_article_order) for group in groups]
        cache = self._summaries(config)
        keys = self._story_keys(grouped)
        summaries = [_summary_or_none(cache.get(key)) for key in keys]  # (title, sentences)
        todo = [i for i, summary in enumerate(summaries) if summary is None]
        work = [(grouped[i], config.summary, config.language) for i in todo]
        few = 0 < len(work) < PARALLEL_MIN_ITEMS  # more go to a pool of every core
        results = self._warm.map(_summarize_one, work) if self._warm and few else None
        if results is None:
            if work:  # a pool's workers, or this process, take the work
                self._stop_warm_worker()
            results = self._map(_summarize_one, work, label="summarize")
        if self._warm is not None:
            self._warm.end_calls()  # its last call: it saves the clustering's state now
        for i, result in zip(todo, results, strict=True):
            cache.put(keys[i], result)
            summaries[i] = summary_from_json(result)
        stories: list[Story] = []
        warnings: list[str] = []
        for group, (title, summary) in zip(grouped, summaries, strict=True):
            story_day = _story_day(group, config)
            story = Story(
                id=_story_id(group),
                articles=tuple(group),
                title=title,
                summary=summary,
                day=story_day,
            )
            # Hand later stages the very object of the previous build when nothing in the story
            # changed: their memos then recognise it by identity instead of comparing it.
            previous = self._stories.get(story.id)
            if previous is not None and _same_story(previous, story):
                story = previous
            stories.append(story)
            if story_day is None:
                for article in group:
                    warnings.append(
                        f"{_shown(self.options.content_dir, article.path)}: no date found in the "
                        "article or its story; it is listed under 'Undated'"
                    )
        cache.finish()
        self._stories = {story.id: story for story in stories}
        self._text_digests = {}  # by object id: of no use once these articles may be freed
        timings["summarize"] = time.perf_counter() - mark
        return stories, warnings, len(todo), provisional

    def _summaries(self, config: Config) -> JsonCache:
        """The summaries' cache (read once, then kept by this builder)."""
        scope = f"{config.summary.algorithm}|{config.summary.sentences}|{config.language}"
        return self._cache("summaries", scope)

    def _story_keys(self, grouped: list[list[Article]]) -> list[str]:
        """Each story's summary cache key; hashing thousands of texts again is a rebuild's cost."""
        known, self._keys = self._keys, {}
        keys = []
        for group in grouped:
            # By identity: an unchanged article is the very object of the previous build. The
            # group is held alongside, so no id in the memo can be reused by a new object.
            ident = tuple(map(id, group))
            entry = known.get(ident)
            if entry is None:
                entry = (group, _story_key(group, self._text_digests))
            self._keys[ident] = entry
            keys.append(entry[1])
        return keys

    def _cluster(
        self,
        articles: list[Article],
        config: Config,
        *,
        exact: bool,
        meanwhile: Callable[[], None] | None = None,
    ) -> tuple[list[list[int]], bool]:
        """The stories as groups of indices, and whether they are provisional (quickcluster)."""
        if self.serving and not exact and len(articles) >= self.quick_min_articles:
            from digest import quickcluster

            quick = quickcluster.update(self._snapshot, articles, config.cluster, QUICK_MAX_CHANGES)
            if quick is not None:
                return quick.groups, quick.provisional
        if self.serving:  # the snapshot of an exact clustering is what later saves start from
            return self._cluster_exactly(articles, config), False
        # A one-shot build after an edit that clustering does not read (tags, a link, the
        # source's name, a Markdown detail) takes the last grouping as it was: then neither the
        # clustering nor its imports (numpy, scipy) cost anything.
        cache = self._cache("clusters", "")
        # The digests kept with the files' states; articles that lost furniture lines are new
        # objects, with a new text: those are hashed.
        known = {id(s.article): s.text_digest for s in self._files.values() if s.text_digest}
        digests = [known.get(id(a)) or text_digest(a.title, a.text) for a in articles]
        # By object, for the summaries' keys; the articles are held until the stories are made.
        self._text_digests = {id(a): d for a, d in zip(articles, digests, strict=True)}
        key = _clustering_key(articles, digests, config)
        groups = _groups_or_none(cache.get(key), len(articles))
        if groups is None:
            groups = self._cluster_from_table(articles, digests, config, meanwhile)
            cache.put(key, groups)
        cache.finish()
        return groups, False

    def _cluster_exactly(self, articles: list[Article], config: Config) -> list[list[int]]:
        """A server's exact clustering; it keeps the snapshot its next saves start from."""
        from digest import cluster

        self._prepare_features(articles)
        groups, self._snapshot = cluster.cluster_with_snapshot(articles, config.cluster)
        return groups

    def _cluster_from_table(
        self,
        articles: list[Article],
        text_digests: list[str],
        config: Config,
        meanwhile: Callable[[], None] | None = None,
    ) -> list[list[int]]:
        """A one-shot build's exact clustering, from the state the last build saved when there is
        one (``tablecluster``): in the warm worker while this process runs ``meanwhile``, or here.

        Without that state, the features come from their cache (or are computed) and the state
        is written on the way.
        """
        from digest import grouping, tablecluster

        groups, free = grouping.split_pins(articles)
        if not free:  # every article pinned to its story: nothing to cluster
            return grouping.in_order(groups)
        sub = [articles[i] for i in free]
        place = self._cluster_place(config)
        digests = [text_digests[i] for i in free]
        times = [grouping.day_number(a) for a in sub]
        rows = None
        if place is not None and meanwhile is not None and self._warm is not None:
            rows = self._cluster_in_worker(self._job(place, sub, digests, times, config), meanwhile)
        if rows is None:
            saved = tablecluster.load(place) if place is not None else None
            if saved is None:
                return self._cluster_from_features(articles, place, digests, config)
            import numpy as np

            rows, save = tablecluster.cluster_rows(
                saved,
                digests,
                [(a.title, a.text) for a in sub],
                np.array(times, dtype=float),
                config.cluster,
                self._compute_features,
            )
            save()
        groups.extend([free[row] for row in group] for group in rows)
        return grouping.in_order(groups)

    def _cluster_in_worker(self, job: Any, meanwhile: Callable[[], None]) -> list[list[int]] | None:
        """``tablecluster.run_job`` in the warm worker, ``meanwhile`` here; None when the worker
        cannot (no saved state there, or the worker stopped): then this process clusters."""
        from digest import tablecluster, warmworker

        try:
            self._warm.submit(tablecluster.run_job, job)
            meanwhile()
            rows = self._warm.result()
            # Groups sent: the worker saves the clustering's state next; stopping it waits.
            self._warm_saves = rows is not None
            return rows
        except warmworker.WorkerGone as exc:
            log.info("the warm worker stopped (%s); clustering here", exc)
            self._stop_warm_worker()
            return None

    def _job(
        self, place: Any, sub: list[Article], digests: list[str], times: list[float], config: Config
    ) -> Any:
        """The ``tablecluster.Job`` of these articles: the worker reads the texts that are in
        the file store's log as they are from there, when it needs them (a few, if any); the
        others (those removing furniture changed) are sent."""
        from digest import tablecluster

        text_log = self._file_store.log if self._file_store is not None else None
        spans: list[tuple[str, int, int] | None] = []
        texts = {}
        for row, article in enumerate(sub):
            span = text_span(article, text_log)
            spans.append(None if span is None else (article.title, *span))
            if span is None:
                texts[row] = (article.title, article.text)
        where = (text_log.path, text_log.id) if text_log is not None else None
        return tablecluster.Job(place, digests, times, config.cluster, texts, spans, where)

    def _cluster_from_features(
        self, articles: list[Article], place: Any, digests: list[str], config: Config
    ) -> list[list[int]]:
        """The clustering without saved state: from every article's features; the state for
        the next build is written on the way."""
        from digest import cluster, termtable

        self._prepare_features(articles)
        keeper = None
        if place is not None:
            keeper = termtable.TableKeeper(
                place.table, place.scope, digests, place.events, place.events_scope
            )
        found, _ = cluster.cluster_with_snapshot(
            articles, config.cluster, keep=False, keeper=keeper
        )
        cluster.forget()  # hundreds of MB on a large site, of use only to a next build
        _give_back_memory()
        return found

    def _cluster_place(self, config: Config) -> Any:
        """Where the clustering's saved state is (``tablecluster.Place``); None without the
        cache."""
        from digest import tablecluster

        path = self._table_path
        if path is None:
            return None
        scope = code_fingerprint()
        return tablecluster.Place(path, scope, f"{scope}|{config.cluster.window_days!r}")

    @property
    def _table_path(self) -> Path | None:
        if not self._persistent_cache:
            return None
        return self.options.site_dir / CACHE_DIR_NAME / "terms" / "table.npz"

    def _compute_features(self, keys: list[tuple[str, str]]) -> list[Any]:
        """The clustering features of (title, text) keys, computed (on every core when many: in
        batches, as each result carries numpy arrays back)."""
        from digest import cluster

        if len(keys) < PARALLEL_MIN_ITEMS:
            return cluster.compute_features(keys) if keys else []
        batches = [keys[i : i + FEATURE_BATCH] for i in range(0, len(keys), FEATURE_BATCH)]
        return [
            f
            for batch in self._map(cluster.compute_features, batches, label="features")
            for f in batch
        ]

    def _prepare_features(self, articles: list[Article]) -> None:
        """Have every article's clustering features in memory: from the cache, or computed.

        Each article's features are independent of the others: what the cache lacks is computed
        on every core (``_compute_features``).
        """
        from digest import cluster

        cache = self._array_cache("features", 4)
        digests = self._feature_digests
        current: dict[tuple[str, str], str] = {}
        for article in articles:
            key = (article.title, article.text)
            if key not in current:
                current[key] = digests.get(key) or cluster.feature_key_digest(key)
        self._feature_digests = current
        missing = []
        for key in cluster.missing_features(articles):
            entry = cache.get(current[key])
            features = cluster.unpack_features(entry) if entry is not None else None
            if features is None:
                missing.append(key)
            else:
                cluster.remember_features([key], [features])
        for digest in current.values():
            cache.get(digest)  # keep the entries of this corpus, drop the rest
        if missing:
            cluster.remember_features(missing, self._compute_features(missing))
        for key in missing:
            cache.put(current[key], cluster.pack_features(cluster.features_of_key(key)))
        cache.finish()
        if not self.serving:  # the features of every article: let them go with the clustering
            del self._caches["features"]
            self._feature_digests = {}

    # -- parallel map -------------------------------------------------------------------------

    def _worker_count(self) -> int:
        workers = self.workers if self.workers is not None else self._config_workers
        return workers or os.cpu_count() or 1

    def _start_warm_worker(self, config: Config) -> None:
        """In a one-shot build after an earlier one (a manifest is there: most likely an edit):
        a worker that imports the summarizer while this process reads and clusters (see
        ``warmworker``). Not for a first build, whose summaries go to a pool, nor for a
        server, which has the imports already."""
        if self.serving or self._worker_count() < 2 or not self._persistent_cache:
            return
        if not self._manifest_path().is_file():
            return
        from digest import warmworker

        place = self._cluster_place(config)
        preload = [functools.partial(_preload_clustering, place)] if place is not None else []
        self._warm = warmworker.WarmWorker(*preload, _import_summarizer)

    def _stop_warm_worker(self) -> None:
        if self._warm is not None:
            self._warm.close(wait=self._warm_saves)
            self._warm = None
            self._warm_saves = False

    def _map(self, fn: Callable[[T], R], items: Sequence[T], *, label: str) -> list[R]:
        """``map`` over a process pool when there is enough work; the result never differs."""
        workers = self._worker_count()
        if workers <= 1 or len(items) < PARALLEL_MIN_ITEMS:
            return [fn(item) for item in _progress(items, label)]
        from concurrent.futures import ProcessPoolExecutor  # ~10 ms: only when there is work

        chunk = max(1, min(64, len(items) // (workers * 8)))
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint)
        try:
            results = list(_progress(pool.map(fn, items, chunksize=chunk), label, len(items)))
        except BaseException:  # Ctrl-C or a worker's error: do not wait for the rest of the work
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return results


# -- work done in worker processes (top level so it pickles) -------------------------------------


def _give_back_memory() -> None:
    """Return the heap that clustering freed to the system before the summarizing workers are
    forked: a forked worker starts with its parent's resident pages, and glibc keeps freed
    memory mapped until told otherwise."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the main process, which cancels the pool."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ingest_and_clean(
    args: tuple[Path, Path, str],
) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    from zoneinfo import ZoneInfo

    from digest import clean

    path, content, timezone = args
    result = ingest.read_article(path, content, ZoneInfo(timezone))
    if result.article is None:
        return None, tuple(result.warnings)
    return article_to_json(clean.clean_article(result.article)), tuple(result.warnings)


def _preload_clustering(place: Any) -> None:
    from digest import tablecluster

    tablecluster.preload(place)


def _import_summarizer() -> None:
    import digest.summarize  # noqa: F401  (sumy, NLTK, numpy: 0.4 s)


def _summarize_one(args: tuple[list[Article], Any, str]) -> dict[str, Any]:
    from digest import summarize

    articles, summary_config, language = args
    title = summarize.story_title(articles)
    return summary_to_json(title, summarize.summarize_story(articles, summary_config, language))


# -- helpers --------------------------------------------------------------------------------------


class _RenderFailed(Exception):
    """Rendering raised ``error`` (told apart from the writer's own errors)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _timed(files: Iterator[T], spent: list[float]) -> Iterator[T]:
    """``files``, adding the time spent making each to ``spent[0]``; its errors as _RenderFailed."""
    while True:
        mark = time.perf_counter()
        try:
            item = next(files)
        except StopIteration:
            spent[0] += time.perf_counter() - mark
            return
        except Exception as exc:
            raise _RenderFailed(exc) from exc
        spent[0] += time.perf_counter() - mark
        yield item


class _Commit:
    """The write lock around the final step of a write; refuses when the builder is stopping."""

    def __init__(self, lock: AbstractContextManager[Any], cancelled: threading.Event) -> None:
        self._lock = lock
        self._cancelled = cancelled

    def __enter__(self) -> None:
        self._lock.__enter__()
        if self._cancelled.is_set():  # stopping: leave the site as it is, whole
            self._lock.__exit__(None, None, None)
            raise BuildError("build cancelled before writing; the site is unchanged")

    def __exit__(self, *exc: Any) -> None:
        self._lock.__exit__(*exc)


def assemble_site(stories: Sequence[Story], config: Config) -> Site:
    """Stories -> days (newest first, each with its neighbours) and the undated stories."""
    by_day: dict[date, list[Story]] = defaultdict(list)
    undated: list[Story] = []
    for story in stories:
        (by_day[story.day] if story.day else undated).append(story)
    ordered_days = sorted(by_day, reverse=True)
    days = []
    for i, day in enumerate(ordered_days):
        days.append(
            Day(
                day=day,
                stories=tuple(sorted(by_day[day], key=_story_rank)),
                previous=ordered_days[i + 1] if i + 1 < len(ordered_days) else None,
                next=ordered_days[i - 1] if i > 0 else None,
            )
        )
    times = [a.published for s in stories for a in s.articles if a.published]
    return Site(
        days=tuple(days),
        undated=tuple(sorted(undated, key=_story_rank)),
        generated=max(times) if times else None,
    )


def _story_rank(story: Story) -> tuple[Any, ...]:
    """Most-reported stories first; then the earliest; the id breaks ties deterministically."""
    first = min((a.published for a in story.articles if a.published), default=None)
    return (-len(story.articles), first.timestamp() if first else 0.0, story.id)


def _article_order(article: Article) -> tuple[int, float, str]:
    return (
        article.published is None,
        article.published.timestamp() if article.published else 0.0,
        article.path,
    )


def _story_day(articles: Sequence[Article], config: Config) -> date | None:
    dated = [a.published for a in articles if a.published is not None]
    return min(dated).astimezone(config.tz).date() if dated else None


def _same_story(old: Story, new: Story) -> bool:
    return (
        len(old.articles) == len(new.articles)
        and all(a is b for a, b in zip(old.articles, new.articles, strict=True))
        and (old.title, old.summary, old.day) == (new.title, new.summary, new.day)
    )


def _story_id(articles: Sequence[Article]) -> str:
    """The id of the story's first article: stable while later reports join the story."""
    return "s-" + articles[0].id


def _story_key(articles: Sequence[Article], text_digests: Mapping[int, str]) -> str:
    """What a story's summary depends on: its articles' ids, titles and cleaned texts (by their
    ``text_digest``, from ``text_digests`` by object when clustering made it already)."""
    parts = [
        (a.id, a.title_given, text_digests.get(id(a)) or text_digest(a.title, a.text))
        for a in articles
    ]
    # The repr of plain tuples: one C call, its quoting unambiguous.
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _clustering_key(articles: Sequence[Article], digests: Sequence[str], config: Config) -> str:
    """Everything clustering reads (``cluster.identity`` of each article, in order, its title and
    text by their ``text_digest``, and the cluster settings), as one hash.

    A date by its timestamp, which is all clustering reads of it (``grouping.day_number``).
    """
    if len(digests) != len(articles):
        raise ValueError("one text digest per article")
    # Column by column, each in one C call: the repr of a tuple per article (its float above
    # all) cost three times as much. Plain values, so the repr's quoting is unambiguous; the
    # digests are hex, and the timestamps 8 bytes each (NaN for none).
    named = repr((config.cluster, [a.id for a in articles], [a.story for a in articles]))
    times = array.array(
        "d", [a.published.timestamp() if a.published else math.nan for a in articles]
    )
    h = hashlib.sha256(named.encode("utf-8", "surrogatepass"))
    h.update("\0".join(digests).encode("utf-8", "surrogatepass") + b"\0\0")
    h.update(times.tobytes())
    return h.hexdigest()


def _groups_or_none(entry: Any, count: int) -> list[list[int]] | None:
    """A cached grouping, if it is one of ``count`` articles (anything else is a miss)."""
    if not isinstance(entry, list) or not all(isinstance(g, list) and g for g in entry):
        return None
    if not all(isinstance(i, int) for g in entry for i in g):
        return None
    return entry if _is_partition(entry, count) else None


def _check_partition(groups: list[list[int]], count: int) -> None:
    if not _is_partition(groups, count):
        raise BuildError("internal error: clustering lost or duplicated articles")


def _is_partition(groups: list[list[int]], count: int) -> bool:
    """Whether every index below ``count`` is in exactly one group."""
    return sorted(i for group in groups for i in group) == list(range(count))


def _inputs_digest(
    config: Config,
    config_file: Path,
    theme: tuple[tuple[str, int, int], ...],
    listing: Listing,
) -> str:
    """Everything a build's output depends on, as one hash (see _unchanged_since_last_build)."""
    h = hashlib.sha256()
    h.update(f"{code_fingerprint()}\0{config.fingerprint()}\0".encode())
    try:  # the file itself too: an unknown key changes no setting but gives a warning
        h.update(config_file.read_bytes())
    except OSError:
        h.update(b"\0no config")
    h.update(repr(theme).encode("utf-8", "surrogatepass"))
    # The files' names (no path holds a NUL) and their stat signatures, each in one C call:
    # formatting 6,000 tuples of numbers was most of this, on every build, no-op included.
    h.update(b"%d\0" % len(listing))
    h.update("\0".join([rel for rel, _, _ in listing]).encode("utf-8", "surrogatepass"))
    try:
        stats = array.array("q", [n for _, _, stat in listing for n in stat]).tobytes()
    except OverflowError:  # a number past 63 bits (overlayfs gives such inode numbers)
        stats = repr([stat for _, _, stat in listing]).encode()
    h.update(stats)
    return h.hexdigest()


def _manifest_stat(stat: pagerecord.Stat) -> tuple[int, int]:
    return stat[0], stat[1]


def _theme_fingerprint(template_dirs: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """Every theme file's path, mtime and size: a change to any of them re-renders every page."""
    entries = []
    for folder in template_dirs:
        for path in sorted(folder.rglob("*")):
            try:
                st = path.stat()
            except OSError:
                continue
            entries.append((path.as_posix(), st.st_mtime_ns, st.st_size))
    return tuple(entries)


def _file_key(rel: str, content_hash: str) -> str:
    """Cache key of one file's result: its path (ids and warnings name it) and its bytes."""
    return f"{rel}\0{content_hash}"


def _file_hash(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _summary_or_none(entry: Any) -> tuple[str, tuple[SummarySentence, ...]] | None:
    """A cached summary as (title, sentences); None when there is none or it is not one."""
    if entry is None:
        return None
    try:
        return summary_from_json(entry)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _shown(content: Path, rel: str) -> str:
    return (content / rel).as_posix()


def _describe_render_error(exc: Exception) -> str:
    name = getattr(exc, "filename", None) or getattr(exc, "name", None)
    line = getattr(exc, "lineno", None)
    where = f"{name}, line {line}" if name and line else (str(name) if name else "template")
    return f"{where}: {type(exc).__name__}: {exc}"


def _progress(items: Iterable[T], label: str, total: int | None = None) -> Iterable[T]:
    """Yield items, logging progress every few seconds on long runs."""
    total = total if total is not None else len(items)  # type: ignore[arg-type]
    last = time.perf_counter()
    for done, item in enumerate(items, 1):
        yield item
        now = time.perf_counter()
        if now - last > 2.0:
            log.info("%s: %d/%d", label, done, total)
            last = now
