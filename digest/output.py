"""Where the site may be written, and writing it.

A build streams its rendered files into a ``SiteWriter`` one by one, so a big site is never held
in memory whole, and writes nothing a reader can see before the last file is rendered: a build
that fails (bad config, content, template) leaves the previous site exactly as it was. Then:

- when much of the site changed (a first or cold build), the new site is written into a fresh
  folder beside the output folder, which then takes the output folder's place in one rename; files
  whose bytes did not change are hard-linked from the previous site. The writer starts that folder
  as soon as it sees that much changed, and from then on writes each file as it comes;
- when few files changed (an edit, a no-op rebuild), only those files are replaced, each by an
  atomic rename, and files that are no longer part of the site are removed. Rebuilding a whole
  6,000-article tree to change three files would cost seconds; a live preview has one. Only the
  changed files are held in memory until then (a few, or at most ``PENDING_BYTES``).

Either way unchanged files are never rewritten, so their modification times stay (small deploys,
cheap syncs). ``digest serve`` holds a lock around the final step (the renames) so no request
sees a mix.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from glob import escape as glob_escape
from pathlib import Path
from typing import IO

MARKER = "digest.json"  # a folder holding this was written by digest: safe to replace
IN_PLACE_SHARE = 0.2  # at most this share of the files changed: replace them one by one
PENDING_BYTES = 32 << 20  # changed files held for an in-place write; more: stream to a new folder
# A file made of chunks (digest.json) is spooled in memory up to this size, then on disk: a
# 6,000-article digest.json (4 MB) then costs no temporary file.
SPOOL_HELD_BYTES = 8 << 20
_TMP_PREFIX = ".digest-tmp-"


class UnsafeOutput(Exception):
    """The output folder is one digest must not replace; the message says why."""


def check_output_dir(output: Path, content: Path, site: Path) -> None:
    """Refuse an output folder that would overwrite or delete what is not ours."""
    out = output.resolve()
    content_r = content.resolve()
    site_r = site.resolve()
    if out == Path(out.anchor):
        raise UnsafeOutput(f"output folder {output} is the file system root")
    if out == Path.home().resolve():
        raise UnsafeOutput(f"output folder {output} is the home folder")
    folders = (("content folder", content_r), ("site folder", site_r))
    for name, folder in folders:
        if out == folder:
            raise UnsafeOutput(f"output folder {output} is the {name}")
    for name, folder in folders:
        if out in folder.parents:
            raise UnsafeOutput(f"output folder {output} contains the {name} {folder}")
    if content_r in out.parents:
        raise UnsafeOutput(f"output folder {output} is inside the content folder {content}")
    if out.exists() and not out.is_dir():
        raise UnsafeOutput(f"output {output} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UnsafeOutput(
            f"output folder {output} is not empty and was not written by digest "
            f"(no {MARKER}); empty it or choose another --output"
        )


@dataclass(frozen=True)
class KeptFile:
    """A file of the site that the output folder already holds with this content hash.

    A build that knows a page is unchanged (``pagerecord``) hands this over instead of the
    page's bytes: nothing is rendered, read or written for it.
    """

    hash: str


@dataclass(frozen=True)
class WriteResult:
    written: int
    unchanged: int
    removed: int
    hashes: dict[str, str]  # relative path -> content hash of what the output folder now holds
    # The files replaced or removed one by one; None when the folder was made anew (every
    # file's stat may have changed). Lets the caller stat only these instead of the folder.
    touched: frozenset[str] | None = None


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def write_site(
    output: Path, files: Mapping[str, bytes], known: Mapping[str, str] | None = None
) -> WriteResult:
    """Make ``output`` hold exactly ``files``, touching only what changed.

    ``known`` is what the folder holds (path -> content hash), as this process last wrote it or
    as ``pagerecord`` vouches for it; without it the folder is read to find out.
    """
    return write_stream(output, files.items(), known)


def write_stream(
    output: Path,
    files: Iterable[tuple[str, bytes | KeptFile | Iterable[bytes]]],
    known: Mapping[str, str] | None = None,
    commit_lock: contextlib.AbstractContextManager[object] | None = None,
) -> WriteResult:
    """``write_site`` for files that arrive one by one (rendered as they are written).

    When ``files`` raises, nothing visible has changed. ``commit_lock`` is held only around the
    final step that changes the output folder.
    """
    with SiteWriter(output, known) as writer:
        for rel, data in files:
            if isinstance(data, bytes | KeptFile):
                writer.add(rel, data)
            else:  # a big file made piece by piece (digest.json): never whole in memory
                writer.add_chunks(rel, data)
        with commit_lock if commit_lock is not None else contextlib.nullcontext():
            return writer.commit()


class StaleOutput(OSError):
    """A file the writer was told is unchanged in the output folder is not there as told.

    Raised only when ``known`` was given (or a ``KeptFile`` added), so someone else changed the
    folder since: write again without ``known``, which reads the folder instead.
    """


class SiteWriter:
    """Receives the site's files one at a time and makes the output folder hold exactly them.

    ``add`` each file, then ``commit``; leaving the ``with`` block without committing (an
    error while rendering) removes whatever was staged and leaves the output folder untouched.
    """

    def __init__(self, output: Path, known: Mapping[str, str] | None = None) -> None:
        self.output = output
        self._trusted = known is None  # the current hashes were read from the folder itself
        if output.is_dir():
            self.current = dict(known) if known is not None else _hash_tree(output)
        else:
            self.current = {}
        self.hashes: dict[str, str] = {}  # every file added: path -> hash
        self._pending: dict[str, bytes] = {}  # changed files held for an in-place write
        self._pending_bytes = 0
        self._staging: Path | None = None
        self._retired: Path | None = None
        self._written = self._kept = 0
        self._committed = False
        if not output.is_dir():
            self._start_staging()

    def __enter__(self) -> SiteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._committed:
            self.abort()

    def add(self, rel: str, data: bytes | KeptFile) -> None:
        if rel in self.hashes:
            raise ValueError(f"{rel} is part of the site twice")
        if isinstance(data, KeptFile):
            if self.current.get(rel) != data.hash:
                raise StaleOutput(f"{self.output / rel} is not what the last build left there")
            self.hashes[rel] = data.hash
            if self._staging is not None:
                self._link_unchanged(rel)
            return
        self._add_bytes(rel, data, content_hash(data))

    def _add_bytes(self, rel: str, data: bytes, digest: str) -> None:
        """``add`` of bytes whose ``content_hash`` is ``digest``."""
        self.hashes[rel] = digest
        if self._staging is not None:
            self._stage(rel, data)
        elif self.current.get(rel) != digest:
            self._pending[rel] = data
            self._pending_bytes += len(data)
            budget = max(1, int(max(len(self.current), len(self.hashes)) * IN_PLACE_SHARE))
            if len(self._pending) > budget or self._pending_bytes > PENDING_BYTES:
                self._start_staging()  # much changes: build a new folder, file by file

    def add_chunks(self, rel: str, chunks: Iterable[bytes]) -> None:
        """``add`` for a file given as byte chunks, hashed and written as they come.

        While staging, the chunks go straight into the new folder. Otherwise they are spooled
        (in memory up to ``SPOOL_HELD_BYTES``, then to an unnamed temporary file beside the
        output folder) until the hash tells whether the file changed: only a changed file small
        enough to be held for an in-place write is ever read back, like any file given to
        ``add``. When ``chunks`` raises, nothing is recorded and the writer can still be left
        (aborted) as usual.
        """
        if rel in self.hashes:
            raise ValueError(f"{rel} is part of the site twice")
        if self._staging is not None:
            self._stage_chunks(rel, chunks)
            return
        folder = self.output.resolve().parent
        with tempfile.SpooledTemporaryFile(SPOOL_HELD_BYTES, dir=folder) as spool:
            digest, size = _copy_hashing(chunks, spool)
            if self.current.get(rel) == digest:
                self.hashes[rel] = digest  # unchanged: nothing to write, as in ``add``
                return
            spool.seek(0)
            if size <= PENDING_BYTES:
                self._add_bytes(rel, spool.read(), digest)
                return
            self._start_staging()  # too big to hold: build a new folder, as ``add`` would
            assert self._staging is not None
            target = self._staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as out:
                shutil.copyfileobj(spool, out)
        self.hashes[rel] = digest
        self._written += 1

    def _stage_chunks(self, rel: str, chunks: Iterable[bytes]) -> None:
        assert self._staging is not None
        target = self._staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            digest, _ = _copy_hashing(chunks, out)
        self.hashes[rel] = digest
        if self.current.get(rel) == digest and _link_over_if_same(self.output / rel, target):
            self._kept += 1
        else:
            self._written += 1

    def commit(self) -> WriteResult:
        """Make the output folder hold exactly the files added; returns what was done."""
        stale = sorted(rel for rel in self.current if rel not in self.hashes)
        if self._staging is None:
            changed = sorted(self._pending)
            too_many = len(changed) + len(stale) > max(1, int(len(self.hashes) * IN_PLACE_SHARE))
            # A folder inside the output that became a symlink would lead a write (or a
            # removal) out of the output folder, maybe into content/: then rebuild the folder
            # whole instead, which removes such links without following them.
            root = os.path.realpath(self.output)
            inside = all(_stays_inside(self.output / rel, root) for rel in (*changed, *stale))
            if not too_many and inside:
                for rel in changed:
                    _replace_file(self.output / rel, self._pending[rel])
                for rel in stale:
                    with contextlib.suppress(FileNotFoundError):
                        (self.output / rel).unlink()
                    _prune_empty_parents(self.output / rel, self.output)
                self._committed = True
                self._pending.clear()
                return WriteResult(
                    len(changed),
                    len(self.hashes) - len(changed),
                    len(stale),
                    self.hashes,
                    frozenset(changed) | frozenset(stale),
                )
            self._start_staging()
        assert self._staging is not None and self._retired is not None
        output, staging, retired = self.output.resolve(), self._staging, self._retired
        if output.exists():
            os.rename(output, retired)
        try:
            os.rename(staging, output)
        except BaseException:
            if retired.exists() and not output.exists():
                os.rename(retired, output)
            raise
        self._committed = True
        shutil.rmtree(retired, ignore_errors=True)
        return WriteResult(self._written, self._kept, len(stale), self.hashes)

    def abort(self) -> None:
        """Drop whatever was staged; the output folder stays as it was."""
        self._pending.clear()
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None

    def _start_staging(self) -> None:
        """Write from now on into a new folder beside the output, starting with what came."""
        output = self.output.resolve()
        output.parent.mkdir(parents=True, exist_ok=True)
        staging = output.parent / f".{output.name}.new-{os.getpid()}"
        self._retired = output.parent / f".{output.name}.old-{os.getpid()}"
        for leftover in (staging, self._retired, *_abandoned(output)):
            shutil.rmtree(leftover, ignore_errors=True)
        staging.mkdir()
        self._staging = staging
        pending, self._pending, self._pending_bytes = self._pending, {}, 0
        for rel in self.hashes:
            if rel in pending:
                self._stage(rel, pending[rel])
            else:  # unchanged and already let go: the previous site has its bytes
                self._link_unchanged(rel)

    def _stage(self, rel: str, data: bytes) -> None:
        assert self._staging is not None
        target = self._staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if self.current.get(rel) == self.hashes[rel] and _link_if_same(
            self.output / rel, target, data
        ):
            self._kept += 1
        else:
            target.write_bytes(data)
            self._written += 1

    def _link_unchanged(self, rel: str) -> None:
        """Hard-link a file added earlier as unchanged from the previous site into the new one."""
        assert self._staging is not None
        previous, target = self.output / rel, self._staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            if previous.is_symlink():
                raise StaleOutput(f"{previous} became a symbolic link")
            if not self._trusted and content_hash(previous.read_bytes()) != self.hashes[rel]:
                raise StaleOutput(f"{previous} changed since it was written")
            os.link(previous, target)
        except StaleOutput:
            raise
        except OSError as exc:
            raise StaleOutput(f"cannot keep {previous}: {exc}") from exc
        self._kept += 1


def _stays_inside(target: Path, root: str) -> bool:
    """Whether the nearest existing folder of ``target`` really lies inside ``root``."""
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    real = os.path.realpath(folder)
    return real == root or real.startswith(root + os.sep)


def _hash_tree(output: Path) -> dict[str, str]:
    hashes = {}
    for path in output.rglob("*"):
        digest = hash_of_site_file(path)
        if digest is not None:
            hashes[path.relative_to(output).as_posix()] = digest
    return hashes


def hash_of_site_file(path: Path) -> str | None:
    """The content hash of a file of the output folder; None for what is not one of the site's
    files (a folder, a symlink, a writer's temporary file) or cannot be read."""
    if not path.is_file() or path.is_symlink() or path.name.startswith(_TMP_PREFIX):
        return None
    try:
        return content_hash(path.read_bytes())
    except OSError:
        return None


def _replace_file(target: Path, data: bytes) -> None:
    """Write beside the target, then rename over it: a reader sees the old or the new file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(_TMP_PREFIX + target.name)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _copy_hashing(chunks: Iterable[bytes], out: IO[bytes]) -> tuple[str, int]:
    """Write ``chunks`` to ``out``; their ``content_hash`` and total size."""
    hasher = hashlib.blake2b(digest_size=16)
    size = 0
    for chunk in chunks:
        hasher.update(chunk)
        out.write(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def _link_over_if_same(previous: Path, target: Path) -> bool:
    """Replace the staged ``target`` by a hard link to ``previous`` when their bytes are equal.

    ``_link_if_same`` for a file already on disk: compared block by block, not read whole. The
    previous file keeps its modification time.
    """
    link = target.with_name(_TMP_PREFIX + target.name)
    try:
        if previous.is_symlink() or previous.stat().st_size != target.stat().st_size:
            return False
        if not _same_bytes(previous, target):
            return False
        os.link(previous, link)
        os.replace(link, target)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            link.unlink()
        return False


def _same_bytes(a: Path, b: Path, block: int = 1 << 20) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            left, right = fa.read(block), fb.read(block)
            if left != right:
                return False
            if not left:
                return True


def _prune_empty_parents(path: Path, top: Path) -> None:
    folder = path.parent
    while folder != top and top in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): stop climbing
            return
        folder = folder.parent


def replace_site(output: Path, files: Mapping[str, bytes]) -> tuple[int, int]:
    """Make ``output`` hold exactly ``files``; returns (files written, files kept unchanged)."""
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.parent / f".{output.name}.new-{os.getpid()}"
    retired = output.parent / f".{output.name}.old-{os.getpid()}"
    for leftover in (staging, retired, *_abandoned(output)):
        shutil.rmtree(leftover, ignore_errors=True)
    written = kept = 0
    try:
        staging.mkdir()
        for rel, data in sorted(files.items()):
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if _link_if_same(output / rel, target, data):
                kept += 1
            else:
                target.write_bytes(data)
                written += 1
        if output.exists():
            os.rename(output, retired)
        os.rename(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired.exists() and not output.exists():
            os.rename(retired, output)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    return written, kept


def _abandoned(output: Path) -> list[Path]:
    """Staging and retired folders of this output left by digest processes that died."""
    found = []
    for kind in ("new", "old"):
        for folder in output.parent.glob(f".{glob_escape(output.name)}.{kind}-*"):
            pid = folder.name.rsplit("-", 1)[-1]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                found.append(folder)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _link_if_same(previous: Path, target: Path, data: bytes) -> bool:
    """Hard-link the previous file into the new site when its bytes are the same."""
    try:
        if previous.is_symlink() or previous.stat().st_size != len(data):
            return False
        if previous.read_bytes() != data:
            return False
        os.link(previous, target)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            target.unlink()
        return False
