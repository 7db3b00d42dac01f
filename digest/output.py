"""Where the site may be written, and writing it.

A build renders the whole site in memory before it writes anything, so a build that fails (bad
config, content, template) leaves the previous site exactly as it was. Then:

- when much of the site changed (a first or cold build), the new site is written into a fresh
  folder beside the output folder, which then takes the output folder's place in one rename; files
  whose bytes did not change are hard-linked from the previous site;
- when few files changed (an edit, a no-op rebuild), only those files are replaced, each by an
  atomic rename, and files that are no longer part of the site are removed. Rebuilding a whole
  6,000-article tree to change three files would cost seconds; a live preview has one.

Either way unchanged files are never rewritten, so their modification times stay (small deploys,
cheap syncs). ``digest serve`` holds a lock around the write so no request sees a mix.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from glob import escape as glob_escape
from pathlib import Path

MARKER = "digest.json"  # a folder holding this was written by digest: safe to replace
IN_PLACE_SHARE = 0.2  # at most this share of the files changed: replace them one by one
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
class WriteResult:
    written: int
    unchanged: int
    removed: int
    hashes: dict[str, str]  # relative path -> content hash of what the output folder now holds


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def write_site(
    output: Path, files: Mapping[str, bytes], known: Mapping[str, str] | None = None
) -> WriteResult:
    """Make ``output`` hold exactly ``files``, touching only what changed.

    ``known`` is what this process last wrote there (path -> content hash); without it the
    folder is read to find out.
    """
    hashes = {rel: content_hash(data) for rel, data in files.items()}
    if not output.is_dir():
        written, kept = replace_site(output, files)
        return WriteResult(written, kept, 0, hashes)
    current = dict(known) if known is not None else _hash_tree(output)
    changed = sorted(rel for rel, h in hashes.items() if current.get(rel) != h)
    stale = sorted(rel for rel in current if rel not in hashes)
    too_many = len(changed) + len(stale) > max(1, int(len(files) * IN_PLACE_SHARE))
    # A folder inside the output that became a symlink would lead a write (or a removal) out of
    # the output folder, maybe into content/: then rebuild the folder whole instead, which
    # removes such links without following them.
    root = os.path.realpath(output)
    if too_many or not all(_stays_inside(output / rel, root) for rel in (*changed, *stale)):
        written, kept = replace_site(output, files)
        return WriteResult(written, kept, len(stale), hashes)
    for rel in changed:
        _replace_file(output / rel, files[rel])
    for rel in stale:
        with contextlib.suppress(FileNotFoundError):
            (output / rel).unlink()
        _prune_empty_parents(output / rel, output)
    return WriteResult(len(changed), len(files) - len(changed), len(stale), hashes)


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
        if path.is_file() and not path.is_symlink() and not path.name.startswith(_TMP_PREFIX):
            with contextlib.suppress(OSError):
                hashes[path.relative_to(output).as_posix()] = content_hash(path.read_bytes())
    return hashes


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
