"""``digest serve``: build, serve over HTTP, watch the sources, rebuild what changed, reload pages.

Threads:
- the main thread waits for Ctrl-C (SIGINT) or SIGTERM, then stops everything in order;
- one HTTP thread runs ``serve_forever``; each request gets its own thread (event streams block);
- watchdog's observer thread sorts file events and hands them to the debouncer;
- the debouncer's thread runs every build, one at a time, with the one ``Builder``.

Never a half-written site: ``replace_site`` writes a complete new folder and renames it into
place, so any file the server opens belongs to one complete build. Between the two renames the
output folder briefly does not exist; a request that finds nothing while a build runs waits for
the build to end (``BuildState.wait_idle``) and looks again.
"""

from __future__ import annotations

import errno
import http.server
import logging
import mimetypes
import os
import re
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

from digest.build import Builder, BuildError, BuildOptions, BuildReport
from digest.config import load_config
from digest.livereload import (
    EVENTS_PATH,
    PREFIX,
    SCRIPT,
    SCRIPT_PATH,
    STATUS_PATH,
    BuildState,
    error_page,
    event_message,
    inject,
)
from digest.output import MARKER
from digest.views import plural
from digest.watch import CONTENT, SETTLE, Batch, Debouncer, Watcher

log = logging.getLogger("digest")

EXIT_OK, EXIT_FATAL = 0, 2
SWAP_WAIT_SECONDS = 30.0  # a request waits at most this long for a running build
WRITE_WAIT_SECONDS = 60.0  # on shutdown, how long to let a write under way finish
KEEPALIVE_SECONDS = 15.0  # an event stream sends a comment this often to notice gone clients
SETTLE_AFTER_SECONDS = 1.0  # quiet time after provisional stories before clustering exactly

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".webmanifest": "application/manifest+json",
}
FEED_TYPES = {
    "feed.xml": "application/atom+xml; charset=utf-8",
    "feed.json": "application/feed+json",
}


def content_type(path: Path) -> str:
    if path.name in FEED_TYPES:
        return FEED_TYPES[path.name]
    suffix = path.suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


# -- the HTTP side --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """What a request path resolved to."""

    status: int  # 200, 301/302 (location), 403 or 404
    file: Path | None = None
    location: str | None = None


def split_target(target: str) -> tuple[str, str]:
    """A request target -> (path, query), the path still %-encoded.

    Not ``urlsplit`` alone: it reads "//x/y" as host "x", but in a request line it is a path.
    """
    if target.startswith(("http://", "https://")):  # absolute form, as sent to proxies
        parts = urlsplit(target)
        return parts.path or "/", parts.query
    path, _, query = target.partition("#")[0].partition("?")
    return path, query


def resolve_request(url_path: str, root: Path, base_path: str) -> Found:
    """Map a request path to a file under ``root``, refusing anything outside it."""
    raw, query = split_target(url_path)
    if base_path != "/":
        if raw in ("/", base_path.rstrip("/")):
            return Found(302, location=base_path)
        if not raw.startswith(base_path):
            return Found(404)
        raw = "/" + raw[len(base_path) :]
    path = unquote(raw, errors="strict") if "%" in raw else raw
    parts = path.split("/")
    # ".." in any form (plain, %2e%2e, ..%2f once decoded), backslashes and NULs: refused.
    if any(p in ("..", ".") or "\\" in p or "\0" in p for p in parts):
        return Found(403)
    rel = "/".join(p for p in parts if p)
    real_root = root.resolve()
    try:
        target = (real_root / rel).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return Found(404)
    if not target.is_relative_to(real_root):  # a symlink out of the site
        return Found(404)
    if target.is_dir():
        if not raw.endswith("/"):
            # Built from the request's own (still encoded) path; one leading slash, so that
            # "//host/x" can never become a redirect to another site.
            location = "/" + split_target(url_path)[0].lstrip("/") + "/"
            return Found(301, location=location + (f"?{query}" if query else ""))
        target = target / "index.html"
        if not target.is_file():
            return Found(404)
    if not target.is_file():
        return Found(404)
    return Found(200, file=target)


class DigestServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # event streams must not keep the process alive

    def __init__(self, address: tuple[str, int], site: LiveSite) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.site = site
        super().__init__(address, RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN (DNS, can take seconds): not needed.
        socket.socket.setsockopt(self.socket, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser closing a connection mid-answer is routine, not worth a traceback.
        log.debug("request from %s failed", client_address, exc_info=True)


class RequestHandler(http.server.BaseHTTPRequestHandler):
    server: DigestServer
    protocol_version = "HTTP/1.1"
    server_version = "digest"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib's name)
        log.debug("http: " + format, *args)

    def do_HEAD(self) -> None:  # noqa: N802 (stdlib's name)
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def _answer(self, *, head: bool) -> None:
        site = self.server.site
        path = split_target(self.path)[0]
        if path.startswith(PREFIX):
            self._internal(path, head)
            return
        if site.state.status().epoch == 0:  # no good build yet: wait for the first one
            status = site.state.wait_idle(SWAP_WAIT_SECONDS)
            if status.epoch == 0 and not site.has_site():
                code = 500 if status.error else 503
                message = status.error or "the first build has not finished yet"
                self._send(code, "text/html; charset=utf-8", error_page(message, 0), head)
                return
        found, data, epoch = self._fetch()
        if found.status in (301, 302):
            self._send(found.status, "text/plain; charset=utf-8", b"", head, found.location)
        elif found.file is not None and data is not None:
            ctype = content_type(found.file)
            page = self._html(data, epoch) if "text/html" in ctype else data
            self._send(200, ctype, page, head)
        else:
            self._not_found(found.status, head)

    def _fetch(self) -> tuple[Found, bytes | None, int]:
        """The request's file, its bytes and the epoch they are at least as new as.

        The epoch is read before the file, under the write lock: a build that lands after the
        read announces a newer epoch, so the page reloads; never the other way round (an old
        page stamped with the new epoch would never reload). A miss during a build waits for
        it and looks again: it can be the instant between ``replace_site``'s two renames.
        """
        for attempt in (1, 2):
            with self.server.site.write_lock:  # never between two files of one build's write
                epoch = self.server.site.state.status().epoch
                found = self._lookup()
                if found.file is not None:
                    try:
                        return found, found.file.read_bytes(), epoch
                    except OSError:
                        found = Found(404)
            if found.status != 404 or attempt == 2:
                return found, None, epoch
            self.server.site.state.wait_idle(SWAP_WAIT_SECONDS)
        raise AssertionError("unreachable")

    def _lookup(self) -> Found:
        site = self.server.site
        try:
            return resolve_request(self.path, site.root, site.state.base_path)
        except UnicodeDecodeError:  # %-escapes that are not UTF-8
            return Found(404)

    def _not_found(self, status: int, head: bool) -> None:
        page = self.server.site.root / "404.html"
        try:
            data = page.read_bytes()
        except OSError:
            data = b"<!doctype html><title>Not found</title><h1>Not found</h1>"
        if status == 403:
            data = b"<!doctype html><title>Forbidden</title><h1>Forbidden</h1>"
        self._send(status, "text/html; charset=utf-8", self._html(data), head)

    def _html(self, data: bytes, epoch: int | None = None) -> bytes:
        if epoch is None:
            epoch = self.server.site.state.status().epoch
        return inject(data, epoch)

    def _send(
        self, status: int, ctype: str, data: bytes, head: bool, location: str | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")  # a preview must never show a stale page
        if location is not None:
            self.send_header("Location", location)
        self.end_headers()
        if not head:
            self.wfile.write(data)

    # -- /__digest__/ ---------------------------------------------------------------------------

    def _internal(self, path: str, head: bool) -> None:
        state = self.server.site.state
        if path == SCRIPT_PATH:
            self._send(200, "text/javascript; charset=utf-8", SCRIPT, head)
        elif path == STATUS_PATH:
            body = state.status().to_json().encode("utf-8")
            self._send(200, "application/json", body, head)
        elif path == EVENTS_PATH and not head:
            self._stream_events()
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n", head)

    def _stream_events(self) -> None:
        """Server-sent events: the current state at once, then every change, until either ends."""
        state = self.server.site.state
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        status = state.status()
        try:
            self.wfile.write(b"retry: 1000\n\n")
            last_sent = None
            while not state.closed:
                shown = (status.epoch, status.error)
                if shown != last_sent:
                    self.wfile.write(event_message(status))
                    last_sent = shown
                else:
                    self.wfile.write(b": ping\n\n")
                self.wfile.flush()
                status = state.wait_change(status.version, KEEPALIVE_SECONDS)
        except OSError:  # the page went away
            pass


# -- building -------------------------------------------------------------------------------------


class LiveSite:
    """The Builder, the build state and the output folder: what builds and what serves share."""

    def __init__(
        self,
        options: BuildOptions,
        *,
        strict: bool = False,
        builder: Builder | None = None,
        on_build: Callable[[Batch, BuildReport | None], None] | None = None,
    ) -> None:
        self.options = options
        self.root = options.output_dir
        self.strict = strict
        self.write_lock = threading.Lock()  # held by the builder while it changes the folder
        self.builder = builder if builder is not None else Builder(options, serving=True)
        self.builder.write_lock = self.write_lock
        self.builder.serving = True  # keep every stage's memory between rebuilds
        self.state = BuildState()
        self.state.base_path = _configured_base_path(options)
        self.builds = 0  # every build run, good or bad (tests count them)
        self.on_build = on_build
        self.last_report: BuildReport | None = None
        self._warnings: set[str] = set()
        # Called after a build whose stories are provisional: asks for an exact one when idle.
        self.settle: Callable[[], None] | None = None

    def has_site(self) -> bool:
        """A complete site is on disk (ours, or one a previous ``digest build`` wrote)."""
        return (self.root / MARKER).is_file()

    def rebuild(self, batch: Batch) -> None:
        """Run one build for ``batch``; record its outcome; never raise."""
        self.state.begin_build()
        started = time.perf_counter()
        report: BuildReport | None = None
        error = ""
        try:
            exact = SETTLE in batch.kinds and CONTENT not in batch.kinds
            report = self.builder.build(render_only=batch.render_only, exact=exact)
        except BuildError as exc:
            error = str(exc)
        except Exception as exc:  # a bug in a stage must not take the server down
            log.debug("build crashed", exc_info=True)
            error = _describe_crash(exc)
        # Counted before the pages hear of it: whoever sees the new epoch sees its report too.
        first = self.builds == 0
        self.builds += 1
        self.last_report = report
        if self.on_build is not None:
            self.on_build(batch, report)
        if report is not None:
            self._succeeded(batch, report, started, first)
            if report.provisional and self.settle is not None:
                self.settle()
        else:
            self._failed(batch, error, started)

    def _succeeded(self, batch: Batch, report: BuildReport, started: float, first: bool) -> None:
        changed = report.written > 0 or first
        epoch = self.state.build_succeeded(reload=changed, base_path=report.config.base_path)
        what = "built" if first else "re-rendered" if batch.render_only else "rebuilt"
        if report.provisional:
            what += " (stories placed quickly; exact clustering when idle)"
        log.info(
            "%s in %.2fs after %s: %s read, %s summarized, %s written, %d unchanged%s",
            what,
            time.perf_counter() - started,
            batch.describe(os.getcwd()),
            plural(report.files_read, "file"),
            plural(report.stories_summarized, "story", "stories"),
            plural(report.written, "file"),
            report.unchanged,
            f" (epoch {epoch})" if changed else " (nothing changed, no reload)",
        )
        log.debug("timings: %s", ", ".join(f"{k} {v:.3f}s" for k, v in report.timings.items()))
        new = [w for w in report.warnings if w not in self._warnings]
        self._warnings = set(report.warnings)
        for warning in new:
            log.warning("%s", warning)
        if self.strict and report.warnings:
            shown = "\n".join(report.warnings[:50])
            self.state.report_problem(f"{len(report.warnings)} warnings (--strict):\n{shown}")
        if first:
            # A cold build summarizes in worker processes; without this the first edit would
            # pay for importing sumy and NLTK (a second) in this one.
            import digest.summarize  # noqa: F401

    def _failed(self, batch: Batch, message: str, started: float) -> None:
        self.state.build_failed(message)
        log.error(
            "build failed in %.2fs after %s; still serving the last good site:\n%s",
            time.perf_counter() - started,
            batch.describe(os.getcwd()),
            message,
        )


def _configured_base_path(options: BuildOptions) -> str:
    """The base path before any build succeeded (a broken config: "/")."""
    loaded = load_config(options.config_file, base_url=options.base_url)
    return "/" if loaded.errors else loaded.config.base_path


def _describe_crash(exc: Exception) -> str:
    """An unexpected exception as "file, line N: Type: message".

    The frame named is the innermost one in digest's own code, where the bug is; for a crash
    in a worker process it is read from the worker's traceback, which the pool attaches as the
    exception's cause (the local frames are only the pool's).
    """
    frames = [(f.filename, f.lineno) for f in traceback.extract_tb(exc.__traceback__)]
    remote = getattr(exc.__cause__, "tb", None)
    if isinstance(remote, str):
        frames += [(m[0], int(m[1])) for m in re.findall(r'File "([^"]+)", line (\d+)', remote)]
    ours = [f for f in frames if f"{os.sep}digest{os.sep}" in f[0]]
    where = (ours or frames)[-1:]
    prefix = f"{where[0][0]}, line {where[0][1]}: " if where else ""
    return f"{prefix}{type(exc).__name__}: {exc}"


# -- running it all -------------------------------------------------------------------------------


class DevServer:
    """Server, watcher and rebuild thread, started and stopped together (tests use it directly)."""

    def __init__(
        self,
        options: BuildOptions,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        poll: bool = False,
        strict: bool = False,
        builder: Builder | None = None,
        on_build: Callable[[Batch, BuildReport | None], None] | None = None,
        quiet: float | None = None,
    ) -> None:
        self.site = LiveSite(options, strict=strict, builder=builder, on_build=on_build)
        self.httpd = DigestServer((host, port), self.site)  # OSError when the port is taken
        kwargs = {} if quiet is None else {"quiet": quiet}
        self.debouncer = Debouncer(self.site.rebuild, **kwargs)
        self.site.settle = lambda: self.debouncer.add(SETTLE, after=SETTLE_AFTER_SECONDS)
        self.watcher = Watcher(options, self.debouncer.add, poll=poll)
        self._http_thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="digest-http"
        )

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        # Watch before the first build, so a save during it is not lost.
        self.watcher.start()
        self.site.state.begin_build()  # requests from now on wait for the first build
        self.debouncer.start()
        self.debouncer.add(CONTENT, now=True)
        self._http_thread.start()

    def stop(self) -> None:
        self.watcher.stop()
        self.site.state.close()  # ends event streams and waiting requests
        self.httpd.shutdown()
        self.httpd.server_close()
        # A build under way must not be cut off in the middle of writing the site: it is told
        # not to start writing, and a write already started is waited for (writes are short).
        self.site.builder.cancel()
        if self.site.write_lock.acquire(timeout=WRITE_WAIT_SECONDS):
            self.site.write_lock.release()
        self.debouncer.stop()
        self._http_thread.join(2.0)

    def __enter__(self) -> DevServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    options: BuildOptions,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    poll: bool = False,
    strict: bool = False,
) -> int:
    """Run until Ctrl-C; the exit status (0, or 2 when the server cannot start)."""
    try:
        server = DevServer(options, host=host, port=port, poll=poll, strict=strict)
    except OSError as exc:
        log.error("%s", _bind_error(exc, host, port))
        return EXIT_FATAL
    stop = threading.Event()
    previous = _on_signals(lambda *_: stop.set())
    try:
        server.start()
        log.info(
            "serving %s at %s%s (Ctrl-C to stop)",
            options.output_dir,
            server.url,
            server.site.state.base_path,
        )
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:  # a signal that came before our handler was in place
        pass
    finally:
        log.info("stopping")
        _restore_signals(previous)
        server.stop()
    return EXIT_OK


def _bind_error(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} is already in use on {host}; "
            f"choose another with --port (e.g. --port {port + 1})"
        )
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port}; choose a port above 1023 with --port"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}; check --host and --port"


_Handler = Callable[[int, FrameType | None], Any]


def _on_signals(handler: _Handler) -> dict[int, Any]:
    """Route SIGINT and SIGTERM to ``handler`` (main thread only; elsewhere leave them be)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


__all__ = ["DevServer", "LiveSite", "content_type", "resolve_request", "serve"]
