"""The site writer: refusing unsafe output folders, one-step replacement, unchanged files kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from digest.output import (
    MARKER,
    StaleOutput,
    UnsafeOutput,
    check_output_dir,
    replace_site,
    write_site,
    write_stream,
)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "content").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("content", "is the content folder"),
        (".", "is the site folder"),
        ("..", "contains the"),
        ("content/site", "inside the content folder"),
    ],
)
def test_refuses_output_that_would_overwrite_the_site(site: Path, output: str, reason: str) -> None:
    with pytest.raises(UnsafeOutput, match=reason):
        check_output_dir(site / output, site / "content", site)


def test_refuses_the_root(site: Path) -> None:
    with pytest.raises(UnsafeOutput, match="root"):
        check_output_dir(Path("/"), site / "content", site)


def test_refuses_a_folder_digest_did_not_write(site: Path) -> None:
    (site / "docs").mkdir()
    (site / "docs" / "thesis.tex").write_text("years of work")
    with pytest.raises(UnsafeOutput, match="not written by digest"):
        check_output_dir(site / "docs", site / "content", site)


def test_accepts_new_empty_or_previous_output(site: Path) -> None:
    check_output_dir(site / "site", site / "content", site)
    (site / "site").mkdir()
    check_output_dir(site / "site", site / "content", site)
    (site / "site" / MARKER).write_text("{}")
    (site / "site" / "index.html").write_text("old")
    check_output_dir(site / "site", site / "content", site)


def test_replace_site_writes_exactly_the_files(tmp_path: Path) -> None:
    out = tmp_path / "site"
    replace_site(out, {"index.html": b"one", "a/b/index.html": b"two", "stale.html": b"x"})
    written, kept = replace_site(out, {"index.html": b"one", "a/b/index.html": b"2"})
    assert (written, kept) == (1, 1)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["a/b/index.html", "index.html"]
    assert (out / "a/b/index.html").read_bytes() == b"2"
    assert not list(tmp_path.glob(".site.*")), "no staging folders left behind"


def test_unchanged_files_keep_their_mtime(tmp_path: Path) -> None:
    import os

    out = tmp_path / "site"
    replace_site(out, {"same.html": b"same", "changed.html": b"v1"})
    old = 1_000_000_000
    os.utime(out / "same.html", ns=(old, old))
    os.utime(out / "changed.html", ns=(old, old))
    replace_site(out, {"same.html": b"same", "changed.html": b"v2"})
    assert (out / "same.html").stat().st_mtime_ns == old
    assert (out / "changed.html").stat().st_mtime_ns != old


def test_failed_write_leaves_previous_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    replace_site(out, {"index.html": b"good"})

    class Exploding(dict):
        def items(self):  # type: ignore[override]
            yield "index.html", b"new"
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_site(out, Exploding())
    assert (out / "index.html").read_bytes() == b"good"
    assert not list(tmp_path.glob(".site.*"))


def test_write_site_replaces_only_what_changed(tmp_path: Path) -> None:
    import os

    out = tmp_path / "site"
    pages = {f"2025/07/{d:02d}/index.html": f"day {d}".encode() for d in range(1, 21)}
    first = write_site(out, {**pages, "old/index.html": b"gone soon", MARKER: b"{}"})
    old = 1_000_000_000
    for path in out.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))
    pages["2025/07/05/index.html"] = b"day 5, updated"
    result = write_site(out, {**pages, MARKER: b"{}"}, first.hashes)
    assert (result.written, result.removed) == (1, 1)
    assert (out / "2025/07/05/index.html").read_bytes() == b"day 5, updated"
    assert not (out / "old").exists(), "a stale file's empty folder goes too"
    assert (out / "2025/07/06/index.html").stat().st_mtime_ns == old
    assert not list(out.rglob(".digest-tmp-*"))


def test_write_site_without_memory_reads_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "site"
    files = {f"p{i}.html": b"x" * i for i in range(10)}
    write_site(out, files)
    again = write_site(out, files)  # a new process: no memory of the last write
    assert (again.written, again.unchanged, again.removed) == (0, 10, 0)
    files = {f"p{i}.html": b"y" for i in range(10)}  # everything changed: one swap
    swapped = write_site(out, files)
    assert swapped.written == 10
    assert all(p.read_bytes() == b"y" for p in out.iterdir())


def test_a_symlinked_folder_in_the_output_never_leads_a_write_outside(tmp_path: Path) -> None:
    out, victim = tmp_path / "site", tmp_path / "content"
    victim.mkdir()
    (victim / "a.html").write_text("the editor's own file")
    pages = {f"p{i}.html": b"x" for i in range(20)}
    first = write_site(out, {**pages, "sub/a.html": b"v1"})
    import shutil

    shutil.rmtree(out / "sub")
    (out / "sub").symlink_to(victim, target_is_directory=True)
    write_site(out, {**pages, "sub/a.html": b"v2"}, first.hashes)
    assert (victim / "a.html").read_text() == "the editor's own file"
    assert not (out / "sub").is_symlink()
    assert (out / "sub" / "a.html").read_bytes() == b"v2"


def test_folders_left_by_a_dead_build_are_cleared(tmp_path: Path) -> None:
    out = tmp_path / "site"
    dead = tmp_path / ".site.new-999999999"  # no such process
    dead.mkdir()
    (dead / "half.html").write_text("half")
    replace_site(out, {"index.html": b"ok"})
    assert not dead.exists()


def _stream(files: dict[str, bytes], fail_after: int | None = None):  # type: ignore[no-untyped-def]
    """The files one by one, as a build renders them; raising after ``fail_after`` of them."""
    for n, item in enumerate(sorted(files.items())):
        if fail_after is not None and n == fail_after:
            raise RuntimeError("template error")
        yield item


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.mark.parametrize("known", [True, False])
def test_a_stream_failing_midway_leaves_the_previous_site(tmp_path: Path, known: bool) -> None:
    out = tmp_path / "site"
    old = {f"{d:02d}/index.html": f"day {d}".encode() for d in range(40)} | {MARKER: b"{}"}
    first = write_site(out, old)
    before = _snapshot(out)
    new = {rel: data + b" v2" for rel, data in old.items()}  # everything changes: staging
    with pytest.raises(RuntimeError, match="template error"):
        write_stream(out, _stream(new, fail_after=30), first.hashes if known else None)
    assert _snapshot(out) == before
    assert not list(tmp_path.glob(".site.*")), "no staging folder is left behind"


def test_a_first_stream_failing_midway_creates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "site"
    files = {f"{d:02d}/index.html": b"x" for d in range(10)}
    with pytest.raises(RuntimeError):
        write_stream(out, _stream(files, fail_after=5))
    assert not out.exists()
    assert not list(tmp_path.iterdir())


def test_a_stream_that_outgrows_memory_is_staged_and_keeps_unchanged_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import digest.output

    out = tmp_path / "site"
    files = {f"p{i:02d}.html": bytes([65 + i]) * 100 for i in range(20)}
    first = write_site(out, files)
    old = 1_000_000_000
    for path in out.iterdir():
        os.utime(path, ns=(old, old))
    monkeypatch.setattr(digest.output, "PENDING_BYTES", 150)  # two changed files are too many
    files["p03.html"] = b"changed"
    files["p17.html"] = b"changed too"
    result = write_stream(out, _stream(files), first.hashes)
    assert (result.written, result.unchanged) == (2, 18)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files
    assert (out / "p00.html").stat().st_mtime_ns == OLD_MTIME, "linked from the previous site"
    assert (out / "p19.html").stat().st_mtime_ns == old
    assert not list(tmp_path.glob(".site.*"))


def test_a_stream_notices_a_file_removed_behind_its_back(tmp_path: Path) -> None:
    out = tmp_path / "site"
    files = {f"p{i:02d}.html": f"page {i}".encode() for i in range(10)}
    first = write_site(out, files)
    (out / "p00.html").unlink()  # someone else removed it; `known` still says it is there
    changed = {rel: data if rel == "p00.html" else data + b"!" for rel, data in files.items()}
    with pytest.raises(StaleOutput):
        write_stream(out, _stream(changed), first.hashes)
    assert not (out / "p00.html").exists() and (out / "p01.html").read_bytes() == b"page 1"
    assert not list(tmp_path.glob(".site.*"))
    write_stream(out, _stream(changed))  # reading the folder instead: right again
    assert {p.name: p.read_bytes() for p in out.iterdir()} == changed


def test_a_stream_refuses_a_file_twice(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with pytest.raises(ValueError, match="twice"):
        write_stream(out, iter([("a.html", b"1"), ("a.html", b"2")]))
    assert not out.exists()


# --- files given as chunks (digest.json) -------------------------------------------------------


def _pieces(data: bytes, fail: bool = False):  # type: ignore[no-untyped-def]
    """``data`` a few bytes at a time, as digest.json is made; raising halfway with ``fail``."""
    for start in range(0, len(data), 3):
        if fail and start >= len(data) // 2:
            raise RuntimeError("encoding error")
        yield data[start : start + 3]


def _chunked_stream(files: dict[str, bytes], fail: str | None = None):  # type: ignore[no-untyped-def]
    """Like ``_stream``, but MARKER and "big.json" come last, as chunks, as iter_site gives them;
    ``fail`` breaks one of them halfway."""
    chunked = (MARKER, "big.json")
    yield from sorted((rel, data) for rel, data in files.items() if rel not in chunked)
    for rel in chunked:
        if rel in files:
            yield rel, _pieces(files[rel], fail=rel == fail)


def _set_mtimes(folder: Path, ns: int) -> None:
    import os

    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(ns, ns))


def test_chunks_are_written_exactly_into_a_new_folder(tmp_path: Path) -> None:
    out = tmp_path / "site"
    files = {"index.html": b"home", MARKER: b'{"stories":[' + b"1," * 50 + b"2]}\n"}
    result = write_stream(out, _chunked_stream(files))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files
    assert result.hashes == write_site(tmp_path / "other", files).hashes
    assert not list(tmp_path.glob(".site.*"))


@pytest.mark.parametrize("known", [True, False])
@pytest.mark.parametrize("everything_changes", [True, False])
def test_chunks_of_an_unchanged_file_keep_its_mtime(
    tmp_path: Path, known: bool, everything_changes: bool
) -> None:
    out = tmp_path / "site"
    pages = {f"p{i:02d}.html": f"page {i}".encode() for i in range(20)}
    files = {**pages, MARKER: b"{}" * 100, "big.json": bytes(range(256)) * 40}
    first = write_site(out, files)
    old = 1_000_000_000
    _set_mtimes(out, old)
    if everything_changes:  # a new folder is staged; the chunked files are linked into it
        files |= {rel: data + b"!" for rel, data in pages.items()}
    result = write_stream(out, _chunked_stream(files), first.hashes if known else None)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files
    assert result.written == (20 if everything_changes else 0)
    assert (out / MARKER).stat().st_mtime_ns == old
    assert (out / "big.json").stat().st_mtime_ns == old
    assert not list(tmp_path.glob(".site.*")) and not list(out.rglob(".digest-tmp-*"))


OLD_MTIME = 1_000_000_000


def _spooling_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: bool, extra: dict[str, bytes]
) -> tuple[Path, dict[str, bytes], Any]:
    """A written site of 20 pages and ``extra``, all mtimes set to OLD_MTIME, with chunked files
    spooled in memory (or in a temporary file, when not ``in_memory``)."""
    import digest.output

    monkeypatch.setattr(digest.output, "SPOOL_HELD_BYTES", 1000 if in_memory else 4)
    out = tmp_path / "site"
    pages = {f"p{i:02d}.html": f"page {i}".encode() for i in range(20)}
    first = write_site(out, {**pages, **extra})
    _set_mtimes(out, OLD_MTIME)
    return out, pages, first


@pytest.mark.parametrize("spooled_in_memory", [True, False])
def test_changed_chunks_are_replaced_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spooled_in_memory: bool
) -> None:
    out, pages, first = _spooling_site(tmp_path, monkeypatch, spooled_in_memory, {MARKER: b"{}"})
    files = {**pages, MARKER: b'{"changed":true}'}
    result = write_stream(out, _chunked_stream(files), first.hashes)
    assert (result.written, result.unchanged) == (1, 20)
    assert (out / MARKER).read_bytes() == b'{"changed":true}'
    assert (out / "p00.html").stat().st_mtime_ns == OLD_MTIME, "nothing else was touched"


@pytest.mark.parametrize("spooled_in_memory", [True, False])
def test_changed_chunks_too_big_to_hold_start_a_new_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spooled_in_memory: bool
) -> None:
    import digest.output

    extra = {"big.json": b"x" * 500}
    out, pages, first = _spooling_site(tmp_path, monkeypatch, spooled_in_memory, extra)
    monkeypatch.setattr(digest.output, "PENDING_BYTES", 100)
    files = {**pages, "big.json": b"y" * 500}
    result = write_stream(out, _chunked_stream(files), first.hashes)
    assert (result.written, result.unchanged) == (1, 20)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files
    assert (out / "p00.html").stat().st_mtime_ns == OLD_MTIME, "linked from the previous site"
    assert not list(tmp_path.glob(".site.*"))


@pytest.mark.parametrize("everything_changes", [True, False])
def test_chunks_failing_midway_leave_the_previous_site(
    tmp_path: Path, everything_changes: bool
) -> None:
    out = tmp_path / "site"
    pages = {f"p{i:02d}.html": f"page {i}".encode() for i in range(20)}
    first = write_site(out, {**pages, "big.json": b"x" * 50, MARKER: b"{}"})
    before = _snapshot(out)
    files = {**pages, "big.json": b"y" * 50, MARKER: b"{}"}
    if everything_changes:
        files |= {rel: data + b"!" for rel, data in pages.items()}
    with pytest.raises(RuntimeError, match="encoding error"):
        write_stream(out, _chunked_stream(files, fail="big.json"), first.hashes)
    assert _snapshot(out) == before
    assert not list(tmp_path.glob(".site.*")) and not list(out.rglob(".digest-tmp-*"))


def test_first_chunks_failing_midway_create_nothing(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with pytest.raises(RuntimeError, match="encoding error"):
        write_stream(out, _chunked_stream({"big.json": b"z" * 30}, fail="big.json"))
    assert not out.exists()
    assert not list(tmp_path.iterdir())


def test_chunks_refuse_a_file_twice(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with pytest.raises(ValueError, match="twice"):
        write_stream(out, iter([("a.json", b"1"), ("a.json", iter([b"2"]))]))
    assert not out.exists()
