"""Watching the site's sources: which file events matter, and bursts of them made into one rebuild.

Three things are watched: content/ (recursively), templates/ (recursively) and the config file
(through a non-recursive watch of its folder). A change is sorted by kind: ``TEMPLATE`` only needs
a re-render, ``CONTENT`` (articles or config) needs a build. Editors' temp files, hidden files, the
output folder, its staging twins and ``.digest-cache/`` never trigger anything, so a build's own
writes cannot start another build.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from digest.build import BuildOptions
from digest.cache import CACHE_DIR_NAME

log = logging.getLogger("digest")

CONTENT, TEMPLATE = "content", "template"
SETTLE = "settle"  # no file changed: the server is idle after provisional stories, cluster exactly

QUIET_SECONDS = 0.15  # a burst is over when no event came for this long...
MAX_WAIT_SECONDS = 2.0  # ...or when it has lasted this long (a steady trickle still rebuilds)


def _not_stop_race(record: logging.LogRecord) -> bool:
    # watchdog's inotify emitter logs this error when it is stopped while reading: harmless.
    return "called when the thread is inactive" not in str(record.msg)


logging.getLogger("watchdog.observers.inotify").addFilter(_not_stop_race)

# Events that say nothing about new bytes (watchdog 5+ reports opens and read-only closes).
_IGNORED_EVENT_TYPES = frozenset({"opened", "closed_no_write"})


def is_temp_file(name: str) -> bool:
    """Editor and OS litter: vim swap/backup and its ``4913`` probe, emacs locks, hidden files."""
    return (
        name.startswith(".")  # also ".#lock" (emacs) and ".x.swp" (vim)
        or name.endswith(("~", ".swp", ".swo", ".swx", ".tmp", ".part", ".crdownload"))
        or name == "4913"
        or (name.startswith("#") and name.endswith("#"))  # emacs auto-save
    )


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Sources:
    """Absolute, normalised paths of what is watched and what must be ignored."""

    content: str
    templates: str
    config: str
    output: str
    cache: str

    @classmethod
    def of(cls, options: BuildOptions) -> Sources:
        def norm(path: Path) -> str:
            return os.path.normpath(os.path.abspath(path))

        return cls(
            content=norm(options.content_dir),
            templates=norm(options.templates_dir),
            config=norm(options.config_file),
            output=norm(options.output_dir),
            cache=norm(options.site_dir / CACHE_DIR_NAME),
        )

    def kind_of(self, path: str) -> str | None:
        """``CONTENT``, ``TEMPLATE`` or None (ignore) for a changed ``path``."""
        path = os.path.normpath(os.path.abspath(path))
        if path == self.config:
            return CONTENT
        if _inside(path, self.output) or _inside(path, self.cache):
            return None
        # replace_site's staging and retired folders sit beside the output folder.
        if os.path.basename(path).startswith("." + os.path.basename(self.output) + "."):
            return None
        for root, kind in ((self.templates, TEMPLATE), (self.content, CONTENT)):
            if _inside(path, root):
                rel = os.path.relpath(path, root)
                if rel != "." and any(is_temp_file(part) for part in rel.split(os.sep)):
                    return None
                return kind
        return None


@dataclass
class Batch:
    """The changes gathered into one rebuild."""

    kinds: set[str] = field(default_factory=set)
    paths: list[str] = field(default_factory=list)

    @property
    def render_only(self) -> bool:
        return self.kinds == {TEMPLATE}

    def describe(self, relative_to: str) -> str:
        shown = sorted({os.path.relpath(p, relative_to) for p in self.paths})
        if not shown:
            return "exact clustering" if SETTLE in self.kinds else "start"
        more = f" and {len(shown) - 1} more" if len(shown) > 1 else ""
        return f"{shown[0]}{more}"


class Debouncer:
    """Collects changes and calls ``run(batch)`` once per burst, on its own thread.

    Changes that arrive while ``run`` is busy form the next batch, so nothing is lost and builds
    never overlap (the Builder is not meant for concurrent use).
    """

    def __init__(
        self,
        run: Callable[[Batch], None],
        *,
        quiet: float = QUIET_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
    ) -> None:
        self._run = run
        self._quiet = quiet
        self._max_wait = max_wait
        self._cond = threading.Condition()
        self._batch: Batch | None = None
        self._first = self._last = 0.0
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="digest-rebuild", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(
        self, kind: str, path: str | None = None, *, now: bool = False, after: float | None = None
    ) -> None:
        """Record a change; ``now`` skips the quiet wait (the first build).

        ``after``: work to do once nothing happened for that many seconds (a settle); it never
        delays a batch already waiting, and a change arriving meanwhile takes it along.
        """
        with self._cond:
            stamp = time.monotonic()
            fresh = self._batch is None
            if fresh:
                self._batch = Batch()
                self._first = stamp
            self._batch.kinds.add(kind)
            if path is not None:
                self._batch.paths.append(path)
            if now:
                self._last = float("-inf")
            elif after is None:
                self._last = stamp
            elif fresh:
                self._first = stamp + max(after - self._quiet, 0.0)
                self._last = self._first
            self._cond.notify_all()

    def stop(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._run(batch)
            except Exception:  # the runner reports its own errors; never let the thread die
                log.exception("rebuild failed unexpectedly")

    def _next_batch(self) -> Batch | None:
        with self._cond:
            while not self._stopped:
                if self._batch is None:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                due = min(self._last + self._quiet, self._first + self._max_wait)
                if now >= due:
                    batch, self._batch = self._batch, None
                    return batch
                self._cond.wait(due - now)
            return None


class _Handler(FileSystemEventHandler):
    def __init__(self, sources: Sources, sink: Callable[[str, str], None]) -> None:
        self._sources = sources
        self._sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENT_TYPES:
            return
        # A folder's own "modified" comes with the events of the files in it.
        if event.is_directory and event.event_type == "modified":
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw) if raw else ""
            kind = self._sources.kind_of(path) if path else None
            if kind is not None:
                self._sink(kind, path)


class Watcher:
    """A watchdog observer over the sources, feeding ``sink(kind, path)`` from its thread."""

    def __init__(
        self, options: BuildOptions, sink: Callable[[str, str], None], *, poll: bool = False
    ) -> None:
        self.sources = Sources.of(options)
        self._observer: BaseObserver = PollingObserver(timeout=0.5) if poll else Observer()
        self._watched: set[tuple[str, bool]] = set()
        self._lock = threading.Lock()
        self._sink = sink
        self._handler = _Handler(self.sources, self._on_change)

    def start(self) -> None:
        self._schedule_all()
        self._observer.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout)

    def _on_change(self, kind: str, path: str) -> None:
        # templates/ or content/ may be created after the start: watch them from then on.
        if path in (self.sources.templates, self.sources.content):
            self._schedule_all()
        self._sink(kind, path)

    def _schedule_all(self) -> None:
        s = self.sources
        wanted: Iterable[tuple[str, bool]] = (
            (s.content, True),
            (s.templates, True),
            (os.path.dirname(s.config), False),
            # the parents, non-recursively: to see templates/ or content/ appear
            (os.path.dirname(s.templates), False),
            (os.path.dirname(s.content), False),
        )
        with self._lock:
            for folder, recursive in wanted:
                if (folder, recursive) in self._watched or not os.path.isdir(folder):
                    continue
                try:
                    self._observer.schedule(self._handler, folder, recursive=recursive)
                except OSError as exc:  # e.g. the inotify watch limit
                    log.warning("cannot watch %s: %s", folder, exc)
                    continue
                self._watched.add((folder, recursive))
