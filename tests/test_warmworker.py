"""The warm worker: runs calls in a forked process, in order, and lets a build fall back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digest import warmworker
from digest.build import Builder
from tests.test_build import build, cached_site, files_of, spy


def _pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def _fail(x: int) -> int:
    raise ValueError(f"bad item {x}")


def _nothing() -> None:
    pass


def test_calls_run_in_the_worker_in_order() -> None:
    worker = warmworker.WarmWorker(_nothing)
    try:
        results = worker.map(_pid_and_square, [3, 1, 2])
    finally:
        worker.close()
    assert results is not None
    assert [square for _, square in results] == [9, 1, 4]
    assert {pid for pid, _ in results} != {os.getpid()}


def test_an_error_in_the_worker_is_raised_here() -> None:
    worker = warmworker.WarmWorker(_nothing)
    try:
        with pytest.raises(ValueError, match="bad item 5"):
            worker.map(_fail, [5])
    finally:
        worker.close()


def test_a_worker_that_is_gone_gives_none() -> None:
    worker = warmworker.WarmWorker(_nothing)
    worker._process.kill()
    worker._process.join()
    assert worker.map(_pid_and_square, [1]) is None
    worker.close()


def test_an_edit_rebuild_summarizes_in_the_warm_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = cached_site(tmp_path, 30)
    calls = spy(monkeypatch, warmworker.WarmWorker, "map")
    edited = tmp_path / "content" / "a007.md"
    edited.write_text(edited.read_text() + "\nA relief fund opened on Tuesday.\n")
    Builder(options, workers=2).build()
    assert len(calls) == 1 and len(calls[0][2]) >= 1  # (worker, fn, stories to summarize)
    build(tmp_path, "clean", workers=1)
    assert files_of(tmp_path / "site") == files_of(tmp_path / "clean")
