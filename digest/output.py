"""Where the site may be written, and writing it in one step.

The whole site is first written into a fresh folder beside the output folder; only then does that
folder take the output folder's place. A build that fails half-way therefore leaves the previous
site as it was, and a server never sees a half-written one. Files whose bytes did not change are
hard-linked from the previous site, so their modification times stay (small deploys, cheap syncs).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

MARKER = "digest.json"  # a folder holding this was written by digest: safe to replace


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


def replace_site(output: Path, files: Mapping[str, bytes]) -> tuple[int, int]:
    """Make ``output`` hold exactly ``files``; returns (files written, files kept unchanged)."""
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.parent / f".{output.name}.new-{os.getpid()}"
    retired = output.parent / f".{output.name}.old-{os.getpid()}"
    for leftover in (staging, retired):
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


def _link_if_same(previous: Path, target: Path, data: bytes) -> bool:
    """Hard-link the previous file into the new site when its bytes are the same."""
    try:
        if previous.stat().st_size != len(data) or previous.read_bytes() != data:
            return False
        os.link(previous, target)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            target.unlink()
        return False
