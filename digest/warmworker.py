"""One worker process that gets ready for the build's later stages while the build reads.

A rebuild after an edit clusters from the state the last build saved and summarizes one story
or a few: too few for a process pool. Done in the main process, both first pay for imports
(numpy, sumy) and for loading that state, on the critical path. A worker forked when the build
starts makes them on the other core while the main process reads the articles; then it
clusters while the main process gets the output ready, and takes the few stories. Its results
are the same as the main process's: the same function on the same input.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

log = logging.getLogger("digest")

WAIT_SECONDS = 60  # the longest ``close(wait=True)`` waits for the worker to finish its work
LATER_GRACE = 0.1  # how long work left after a call waits for a next call to go first
# How long a prepare step after the first waits for the first call to go first: the main
# process sends it (a build's clustering job) moments after the first step is done, and waits
# for it; the next step (the summarizer's import) is needed only after it. Once a call is
# answered, the steps left run at once, while the main process makes its next call.
STEP_GRACE = 0.03

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Then:
    """What a call returns to have ``value`` sent back at once, and ``after`` run in the worker
    after that (work the caller need not wait for, such as saving)."""

    value: Any
    after: Callable[[], None]


class WorkerGone(Exception):
    """The worker stopped: the caller does the work itself."""


class WarmWorker:
    """A forked process that runs the ``prepare`` steps at once, then the calls sent to it.

    A call that arrives while the worker prepares runs at the end of the step under way: what
    the steps prepare (imports, loaded state) is an optimisation the calls do not rely on.
    """

    def __init__(self, *prepare: Callable[[], None]) -> None:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, self._conn, prepare), daemon=True
        )
        self._process.start()
        child.close()
        self._sender: threading.Thread | None = None  # writing the last call, if it still is
        self._send_error: Exception | None = None

    def submit(self, fn: Callable[[T], R], item: T) -> None:
        """Start ``fn(item)`` in the worker; ``result`` gives what it returns. WorkerGone if the
        worker stopped.

        The call is written to the pipe by a thread: a big one (a clustering job, ~1 MB) fills
        the pipe until the worker reads it at the end of the step under way, and this process
        has its own work meanwhile (sending in place, it waited 16-30 ms for the worker).
        """
        self._sent()
        data = pickle.dumps((fn, item), protocol=pickle.HIGHEST_PROTOCOL)
        self._sender = threading.Thread(target=self._send, args=(data,), daemon=True)
        self._sender.start()

    def _send(self, data: bytes) -> None:
        try:
            self._conn.send_bytes(data)
        except (OSError, ValueError) as exc:  # the worker stopped (ValueError: pipe closed)
            self._send_error = exc

    def _sent(self) -> None:
        """Wait until the call under way is written; WorkerGone if it could not be."""
        if self._sender is not None:
            self._sender.join()
            self._sender = None
        error, self._send_error = self._send_error, None
        if error is not None:
            raise WorkerGone(str(error) or type(error).__name__) from error

    def result(self) -> Any:
        """What the earliest call not yet answered returned; an exception it raised is raised
        here. WorkerGone if the worker stopped."""
        self._sent()
        try:
            ok, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise WorkerGone(str(exc) or type(exc).__name__) from exc
        if not ok:
            raise value
        return value

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R] | None:
        """``fn`` over ``items`` in the worker, in order; None if the worker is gone (then the
        caller does the work itself). An exception ``fn`` raises is raised here."""
        results: list[R] = []
        try:
            for item in items:
                self.submit(fn, item)
                results.append(self.result())
        except WorkerGone as exc:
            log.info("the warm worker stopped (%s); working here", exc)
            return None
        return results

    def end_calls(self) -> None:
        """No more calls: the worker does what calls left it to do (``Then``) at once, without
        waiting for a next call, and stops; ``close`` then only collects it."""
        with contextlib.suppress(WorkerGone):
            self._sent()
        with contextlib.suppress(OSError):
            self._conn.close()

    def close(self, *, wait: bool = False) -> None:
        """Stop the worker: at once (an import it may still be making is of no use), or with
        ``wait`` once it has finished what it is doing (what a call does ``Then``)."""
        if not wait and self._process.is_alive():
            self._process.terminate()  # a call still being written then fails at once
        with contextlib.suppress(WorkerGone):
            self._sent()
        with contextlib.suppress(OSError):
            self._conn.close()
        if wait:
            self._process.join(timeout=WAIT_SECONDS)
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=5)


def _serve(conn: Connection, main_end: Connection, prepare: Sequence[Callable[[], None]]) -> None:
    """The first ``prepare`` step, then calls as they come; between them the other steps (until
    the first call, each first waits ``STEP_GRACE`` for it), then what calls left to do after
    answering (``Then``), which first waits ``LATER_GRACE`` for a next call: the main process
    usually has one more for the worker moments after the last."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    main_end.close()  # the fork's copy: with it open, the main process closing its end is no EOF
    steps = list(prepare)
    later: list[Callable[[], None]] = []
    try:
        if steps:
            _run_step(steps.pop(0))
        grace = STEP_GRACE
        while True:
            if steps and not conn.poll(grace):
                _run_step(steps.pop(0))
            elif later and not conn.poll(LATER_GRACE):
                _run_later(later.pop(0))
            else:
                then = _answer(conn)
                grace = 0
                if then is not None:
                    later.append(then.after)
    except (EOFError, OSError):  # the main process closed its end: only what is left to save
        for work in later:
            _run_later(work)


def _answer(conn: Connection) -> Then | None:
    """Run the call waiting on ``conn`` and send back its result; its ``Then``, if any."""
    fn, item = conn.recv()
    result = None
    try:
        result = fn(item)
        reply: tuple[bool, Any] = (True, result.value if isinstance(result, Then) else result)
    except Exception as exc:  # noqa: BLE001  (handed to the main process, which raises it)
        reply = (False, _sendable(exc))
    conn.send(reply)
    return result if isinstance(result, Then) else None


def _sendable(exc: Exception) -> Exception:
    """``exc``, or a RuntimeError saying what it was when it would not unpickle (an exception
    class whose ``__init__`` takes other arguments): the main process must get an error."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001
        return RuntimeError(f"in the warm worker: {type(exc).__name__}: {exc}")
    return exc


def _run_step(step: Callable[[], None]) -> None:
    """A prepare step; one that fails is only an optimisation missed (the calls do without)."""
    try:
        step()
    except Exception as exc:  # noqa: BLE001
        log.info("the warm worker could not get ready (%s): working without", exc)


def _run_later(work: Callable[[], None]) -> None:
    try:
        work()
    except Exception as exc:  # noqa: BLE001  (no one to hand it to: said, and served on)
        log.warning("the warm worker failed after a call: %s", exc)
