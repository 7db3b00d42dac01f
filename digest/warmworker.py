"""One worker process that imports the summarizer while the build reads and clusters.

A rebuild after an edit summarizes one story or a few: too few for a process pool, and done in
the main process it first pays for importing sumy with NLTK and numpy (about 0.4 s) after
clustering, on the critical path. A worker forked when the build starts makes those imports on
the other core while the main process reads and clusters, then takes the few stories. Its
results are the same as the main process's: the same function on the same input.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, TypeVar

log = logging.getLogger("digest")

T = TypeVar("T")
R = TypeVar("R")


class WarmWorker:
    """A forked process that runs ``prepare`` at once, then the calls ``map`` sends it."""

    def __init__(self, prepare: Callable[[], None]) -> None:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, prepare), daemon=True)
        self._process.start()
        child.close()

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R] | None:
        """``fn`` over ``items`` in the worker, in order; None if the worker is gone (then the
        caller does the work itself). An exception ``fn`` raises is raised here."""
        results: list[R] = []
        try:
            for item in items:
                self._conn.send((fn, item))
                ok, value = self._conn.recv()
                if not ok:
                    raise value
                results.append(value)
        except (EOFError, OSError, BrokenPipeError) as exc:
            log.info("the summarizing worker stopped (%s); summarizing here", exc)
            return None
        return results

    def close(self) -> None:
        """Stop the worker without waiting for an import it may still be making."""
        with contextlib.suppress(OSError):
            self._conn.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=5)


def _serve(conn: Connection, prepare: Callable[[], None]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    prepare()
    while True:
        try:
            fn, item = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[bool, Any] = (True, fn(item))
        except Exception as exc:  # noqa: BLE001  (handed to the main process, which raises it)
            reply = (False, exc)
        conn.send(reply)
