"""The warm worker: runs calls in a forked process, in order, and lets a build fall back."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import pytest

from digest import warmworker
from digest.build import Builder
from tests.test_build import (
    append_line,
    assert_same_as_clean_build,
    cached_site,
    spy,
)


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
    append_line(edited, "A relief fund opened on Tuesday.")
    Builder(options, workers=2).build()
    assert len(calls) == 1 and len(calls[0][2]) >= 1  # (worker, fn, stories to summarize)
    assert_same_as_clean_build(tmp_path)


def _answer_then_write(path: Path) -> warmworker.Then:
    import functools

    return warmworker.Then("answered", functools.partial(_sleep_then_record, path, 0.3))


def test_a_call_answers_first_and_a_waiting_close_lets_its_after_work_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warmworker, "WAIT_SECONDS", 10)
    log = tmp_path / "log"
    worker = warmworker.WarmWorker(_nothing)
    assert worker.map(_answer_then_write, [log]) == ["answered"]
    assert not log.exists(), "answered before the work after it"
    worker.close(wait=True)
    assert log.read_text() == "step\n"
    assert worker._process.exitcode == 0, "it stopped on its own, when its pipe closed"

    worker = warmworker.WarmWorker(_nothing)
    assert worker.map(_answer_then_write, [tmp_path / "cut"]) == ["answered"]
    worker.close()  # not waiting: the work after the call is cut short
    assert not (tmp_path / "cut").exists() and worker._process.exitcode != 0


def _answer_then_record(path: Path) -> warmworker.Then:
    import functools

    return warmworker.Then("answered", functools.partial(_record_step, path))


def test_work_left_after_a_call_lets_the_next_call_go_first(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text("")
    worker = warmworker.WarmWorker(_nothing)
    try:
        assert worker.map(_answer_then_record, [log]) == ["answered"]
        assert worker.map(_record_call, [log]) == ["call\n"], "the call came before the step"
    finally:
        worker.close(wait=True)
    assert log.read_text() == "call\nstep\n"


def test_after_the_last_call_the_worker_saves_at_once_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warmworker, "LATER_GRACE", 60)  # it would wait that long for a call
    log = tmp_path / "log"
    worker = warmworker.WarmWorker(_nothing)
    assert worker.map(_answer_then_record, [log]) == ["answered"]
    worker.end_calls()
    worker._process.join(timeout=20)
    assert not worker._process.is_alive() and log.read_text() == "step\n"
    worker.close(wait=True)
    assert worker._process.exitcode == 0


def _record_step(path: Path) -> None:
    path.write_text(path.read_text() + "step\n" if path.exists() else "step\n")


def test_a_call_sent_while_the_worker_prepares_runs_between_its_steps(tmp_path: Path) -> None:
    import functools

    log = tmp_path / "log"
    slow = functools.partial(_sleep_then_record, log, 0.5)
    worker = warmworker.WarmWorker(slow, functools.partial(_record_step, log))
    try:
        worker.submit(_record_call, log)  # arrives during the first step
        assert worker.result() == "step\ncall\n", "the call ran before the second step"
    finally:
        worker.close()


def _sleep_then_record(path: Path, seconds: float) -> None:
    import time

    time.sleep(seconds)
    _record_step(path)


def _record_call(path: Path) -> str:
    path.write_text(path.read_text() + "call\n")
    return path.read_text()


def test_an_edit_rebuild_clusters_in_the_warm_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest import cluster, tablecluster

    options = cached_site(tmp_path, 30)
    sent = spy(monkeypatch, warmworker.WarmWorker, "submit")
    here = spy(monkeypatch, cluster, "cluster_terms")  # the worker's calls are the worker's own
    edited = tmp_path / "content" / "a007.md"
    append_line(edited, "A zeppelin relief fund opened on Tuesday.")
    Builder(options, workers=2).build()
    jobs = [item for _, fn, item in sent if fn is tablecluster.run_job]
    assert len(jobs) == 1 and here == []
    # The texts as the articles' cache holds them are read there, not sent.
    assert len(jobs[0].texts) < len(jobs[0].digests) / 2
    assert_same_as_clean_build(tmp_path)


def _exit() -> None:
    os._exit(3)


def test_when_the_warm_worker_dies_the_build_clusters_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest import build as build_module
    from digest import cluster

    options = cached_site(tmp_path, 30)
    monkeypatch.setattr(build_module, "_preload_clustering", lambda place: _exit())
    here = spy(monkeypatch, cluster, "cluster_terms")
    edited = tmp_path / "content" / "a007.md"
    append_line(edited, "A zeppelin relief fund opened on Tuesday.")
    report = Builder(options, workers=2).build()
    assert len(here) == 1 and report.stories_summarized >= 1
    assert_same_as_clean_build(tmp_path)


def test_without_saved_clustering_state_the_build_clusters_itself_and_saves_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest import cluster, termtable

    options = cached_site(tmp_path, 30)
    table = tmp_path / ".digest-cache" / "terms" / "table.npz"
    table.write_bytes(b"damaged")
    here = spy(monkeypatch, cluster, "cluster_with_snapshot")
    edited = tmp_path / "content" / "a007.md"
    append_line(edited, "A zeppelin relief fund opened on Tuesday.")
    Builder(options, workers=2).build()
    assert len(here) == 1, "clustered here, from features"
    assert termtable.load(table, "") is None and table.stat().st_size > 1000
    assert_same_as_clean_build(tmp_path)


def test_a_job_missing_a_text_is_given_back_and_saves_nothing(tmp_path: Path) -> None:
    from digest import tablecluster

    options = cached_site(tmp_path, 30)
    builder = Builder(options, workers=1)
    config = builder._load_config()[0]
    place = builder._cluster_place(config)
    saved_before = [p.read_bytes() for p in (place.table, place.events, place.merge)]
    digests = [*tablecluster.load(place).table.digests[:5], "a text no table holds"]
    job = tablecluster.Job(
        place,
        digests,
        [20000.0] * len(digests),
        config.cluster,
        {row: ("Title", "Text") for row in range(5)},
        [None] * 6,  # row 5: neither sent nor in a log
        None,
    )
    tablecluster.preload(place)
    assert tablecluster.run_job(job) is None
    assert [p.read_bytes() for p in (place.table, place.events, place.merge)] == saved_before
    tablecluster.preload(place)
    job.texts[5] = ("A title", "A text no table holds, about a zeppelin.")
    done = tablecluster.run_job(job)  # the same job, its text sent
    assert done is not None and len(done.value) >= 1
    assert tablecluster.load(place).table.digests != digests, "saved after the groups are sent"
    done.after()
    assert tablecluster.load(place).table.digests == digests


class _OddError(Exception):
    def __init__(self, code: int, where: str) -> None:  # not what unpickling calls it with
        super().__init__(f"{where}: {code}")


def _raise_odd(x: int) -> int:
    raise _OddError(x, "odd")


def _failing_step() -> None:
    raise OSError("no cache here")


def test_a_worker_error_that_will_not_unpickle_still_reaches_the_caller() -> None:
    worker = warmworker.WarmWorker(_failing_step, _nothing)  # a failed step is no failure
    try:
        with pytest.raises(RuntimeError, match="_OddError: odd: 7"):
            worker.map(_raise_odd, [7])
        assert worker.map(_pid_and_square, [3]) is not None  # and it serves on
    finally:
        worker.close()


def test_two_edits_clustered_in_the_worker_leave_the_state_a_clean_build_agrees_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest import cluster

    options = cached_site(tmp_path, 30)
    here = spy(monkeypatch, cluster, "cluster_terms")
    edited = tmp_path / "content" / "a007.md"
    for sentence in ("A zeppelin relief fund opened.", "The fund raised money for zeppelins."):
        append_line(edited, sentence)
        Builder(options, workers=2).build()  # the second starts from what the first saved
    assert here == []
    assert_same_as_clean_build(tmp_path)


def test_a_build_failing_while_the_worker_clusters_stops_it_without_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = cached_site(tmp_path, 30)
    closed = spy(monkeypatch, warmworker.WarmWorker, "close", keywords=True)

    def failing(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Builder, "_ready_output", failing)
    edited = tmp_path / "content" / "a007.md"
    append_line(edited, "A relief fund opened on Tuesday.")
    with pytest.raises(KeyboardInterrupt):
        Builder(options, workers=2).build()
    assert closed == [{"wait": False}], "nothing to save: the worker is not waited for"


def test_a_date_edit_clusters_in_the_worker_with_no_story_to_summarize(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = cached_site(tmp_path, 30)
    closed = spy(monkeypatch, warmworker.WarmWorker, "close", keywords=True)
    moved = tmp_path / "content" / "a012.md"
    moved.write_text(moved.read_text().replace("date: 2025-03-13", "date: 2025-03-14"))
    report = Builder(options, workers=2).build()
    assert report.stories_summarized == 0 and closed == [{"wait": True}]
    assert_same_as_clean_build(tmp_path)


def _wait_for(path: Path) -> None:
    """A worker's step that lasts until ``path`` exists (at most 10 s: then it says so)."""
    deadline = time.monotonic() + 10
    while not path.exists():
        if time.monotonic() > deadline:
            path.with_suffix(".late").write_text("waited in vain")
            return
        time.sleep(0.01)


def test_a_big_call_is_sent_while_this_process_goes_on(tmp_path: Path) -> None:
    go = tmp_path / "go"
    worker = warmworker.WarmWorker(functools.partial(_wait_for, go))
    try:
        # 2 MB fill the pipe: the worker reads them at the end of its step, which ends when
        # this process goes on to make ``go``.
        worker.submit(len, "x" * 2_000_000)
        go.write_text("")
        assert worker.result() == 2_000_000
        assert not go.with_suffix(".late").exists(), "submit waited for the worker's step"
    finally:
        worker.close()


def _touch(path: Path) -> None:
    path.write_text("")


def test_the_first_call_goes_before_the_next_step_and_later_steps_do_not_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(warmworker, "STEP_GRACE", 5.0)  # the forked worker has it too
    ready, second = tmp_path / "ready", tmp_path / "second"
    worker = warmworker.WarmWorker(
        functools.partial(_touch, ready), functools.partial(_touch, second)
    )
    try:
        _wait_for_file(ready)
        worker.submit(os.path.exists, str(second))  # a build's job, moments after the first step
        assert worker.result() is False, "the call went before the second step"
        _wait_for_file(second, within=2.0)  # answered: the second step runs without the grace
    finally:
        worker.close()


def _wait_for_file(path: Path, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} did not appear"
        time.sleep(0.005)
