"""Live reload: the build state shared by the server's threads, and the script pages are given.

Every good build gets a new *epoch* (milliseconds since 1970, so a restarted server never repeats
the epoch a page was served with, as in MkDocs). A page is served with the epoch current when it
was read; the injected script listens on ``/__digest__/events`` (server-sent events) and reloads
when it hears another epoch. A failed build keeps the epoch (the last good site stays served) and
sends its message instead, which the script shows as an overlay until the next good build.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from html import escape

PREFIX = "/__digest__/"
EVENTS_PATH = PREFIX + "events"
SCRIPT_PATH = PREFIX + "livereload.js"
STATUS_PATH = PREFIX + "status"
OVERLAY_ID = "digest-error-overlay"


@dataclass(frozen=True)
class Status:
    epoch: int  # 0 until the first good build
    error: str | None  # the last build's error, None after a good build
    building: bool
    version: int  # bumps on every change of the above: what event streams wait on

    def to_json(self) -> str:
        return json.dumps({"epoch": self.epoch, "error": self.error, "building": self.building})


class BuildState:
    """Epoch, error and "a build is running", guarded by one condition.

    Writers are the rebuild thread; readers are request threads, which wait on the condition
    (for the end of a build, or for the next change when streaming events).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._epoch = 0
        self._error: str | None = None
        self._building = False
        self._version = 0
        self._closed = False
        self.base_path = "/"  # the config's base_path, set after each good build

    # -- writers ------------------------------------------------------------------------------

    def begin_build(self) -> None:
        with self._cond:
            self._building = True
            self._changed()

    def build_succeeded(self, *, reload: bool, base_path: str | None = None) -> int:
        """A good build is in place; ``reload`` gives it a new epoch. Returns the epoch."""
        with self._cond:
            if reload or self._epoch == 0 or self._error is not None:
                # Milliseconds since 1970 but strictly increasing: unique across restarts.
                self._epoch = max(self._epoch + 1, time.time_ns() // 1_000_000)
            self._error = None
            self._building = False
            if base_path is not None:
                self.base_path = base_path
            self._changed()
            return self._epoch

    def build_failed(self, message: str) -> None:
        with self._cond:
            self._error = message
            self._building = False
            self._changed()

    def report_problem(self, message: str) -> None:
        """Show ``message`` on open pages although the build went through (``--strict``)."""
        with self._cond:
            self._error = message
            self._changed()

    def close(self) -> None:
        """Wake every waiting thread for good: the server is stopping."""
        with self._cond:
            self._closed = True
            self._building = False
            self._changed()

    def _changed(self) -> None:
        self._version += 1
        self._cond.notify_all()

    # -- readers ------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    def status(self) -> Status:
        with self._cond:
            return Status(self._epoch, self._error, self._building, self._version)

    def wait_idle(self, timeout: float) -> Status:
        """Wait (at most ``timeout`` s) until no build is running; then the status."""
        with self._cond:
            self._cond.wait_for(lambda: not self._building or self._closed, timeout)
            return Status(self._epoch, self._error, self._building, self._version)

    def wait_change(self, version: int, timeout: float) -> Status:
        """Wait (at most ``timeout`` s) for a status newer than ``version``."""
        with self._cond:
            self._cond.wait_for(lambda: self._version != version or self._closed, timeout)
            return Status(self._epoch, self._error, self._building, self._version)


# -- what the browser gets -------------------------------------------------------------------------

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


def inject(html: bytes, epoch: int) -> bytes:
    """``html`` with the reload script before its last ``</body>`` (or at the end)."""
    tag = f'<script src="{SCRIPT_PATH}" data-epoch="{epoch}"></script>'.encode()
    matches = list(_BODY_END.finditer(html))
    if not matches:
        return html + tag
    at = matches[-1].start()
    return html[:at] + tag + html[at:]


def error_page(message: str, epoch: int) -> bytes:
    """Served while there has never been a good build: the message, and the script."""
    body = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>digest: build failed</title></head><body>"
        "<h1>The site could not be built</h1>"
        f'<pre id="digest-build-error">{escape(message)}</pre>'
        "<p>Fix the problem and save: this page reloads by itself.</p></body></html>\n"
    )
    return inject(body.encode("utf-8"), epoch)


def event_message(status: Status) -> bytes:
    """One server-sent-events message for ``status``.

    ``data: <epoch>`` announces the build on show; a failed build adds a ``build-error`` event whose
    data is the message as a JSON string (one line, whatever the message holds).
    """
    parts = []
    if status.error is not None:
        parts.append(f"event: build-error\ndata: {json.dumps(status.error)}\n\n")
    else:
        parts.append("event: ok\ndata: \n\n")
    parts.append(f"data: {status.epoch}\n\n")
    return "".join(parts).encode("utf-8")


# The overlay is built with textContent, never innerHTML: a message naming a file can hold markup.
SCRIPT = (
    """(function () {
  "use strict";
  var me = document.currentScript;
  var epoch = me ? me.getAttribute("data-epoch") : null;
  var OVERLAY = "__OVERLAY__";
  function hide() {
    var old = document.getElementById(OVERLAY);
    if (old) { old.remove(); }
  }
  function show(message) {
    hide();
    var box = document.createElement("div");
    box.id = OVERLAY;
    box.setAttribute("role", "alert");
    box.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;" +
      "background:rgba(20,20,20,.93);color:#fdd;padding:2em;font:14px/1.5 monospace;";
    var title = document.createElement("h2");
    title.textContent = "digest: the build failed (the last good site is shown below)";
    title.style.cssText = "color:#f88;font:bold 18px sans-serif;margin:0 0 1em";
    var pre = document.createElement("pre");
    pre.textContent = message;
    pre.style.cssText = "white-space:pre-wrap;margin:0";
    box.appendChild(title);
    box.appendChild(pre);
    (document.body || document.documentElement).appendChild(box);
  }
  function connect() {
    var source = new EventSource("__EVENTS__");
    source.addEventListener("message", function (e) {
      var now = e.data.trim();
      if (epoch !== null && now !== "0" && now !== epoch) {
        source.close();
        location.reload();
      }
    });
    source.addEventListener("build-error", function (e) { show(JSON.parse(e.data)); });
    source.addEventListener("ok", hide);
    // EventSource retries by itself after a dropped connection, unless the server answered
    // with an error status: then start over after a pause (the server may be restarting).
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) { setTimeout(connect, 1000); }
    };
  }
  connect();
})();
""".replace("__OVERLAY__", OVERLAY_ID)
    .replace("__EVENTS__", EVENTS_PATH)
    .encode("utf-8")
)
