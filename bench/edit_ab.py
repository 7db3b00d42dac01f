"""A/B of the one-article edit: this checkout against another revision, runs alternating.

    python bench/edit_ab.py --old REV [--size 6000] [--runs 9] [--noop | --outlet]
                            [--work /tmp/digest-ab]
                            [--streams /tmp/digest-speed]

Each version gets its own copy of the generated stream (``bench/generate.py``, the one
``bench/speed.py`` uses) and its own site folder; REV is checked out in a git worktree and run
with ``PYTHONPATH`` pointing at it. After one build each to fill the caches, every run appends
a different sentence to the same article of each copy and times ``python -m digest build`` in
a fresh process, old and new in turn, so load from elsewhere on the machine falls on both.
With ``--noop`` nothing is edited: every run is a no-op rebuild; with ``--outlet`` each run
changes the outlet named in one Markdown article's front matter (``speed.py``'s metadata
edit). Prints every run and the medians. The machine's noise (±0.1 s per run) is why it
alternates and why a change of a few tens of milliseconds needs nine runs or more.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed  # noqa: E402  (the stream and the edited article are speed.py's)

HERE = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", required=True, help="the revision to compare against")
    parser.add_argument("--size", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=9)
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--noop", action="store_true", help="time no-op rebuilds (nothing changed) instead"
    )
    what.add_argument(
        "--outlet", action="store_true", help="time an outlet name edited instead (speed.py's)"
    )
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "digest-ab")
    parser.add_argument(
        "--streams", type=Path, default=Path(tempfile.gettempdir()) / "digest-speed"
    )  # where speed.py keeps (and makes, when missing) the generated streams
    args = parser.parse_args()

    content, records = speed.make_stream(args.streams, args.size)
    edited = speed.edit_target(records)
    renamed = speed.metadata_target(records)
    worktree = args.work / "old-code"
    git = ["git", "-C", str(HERE), "worktree"]
    if worktree.exists():
        subprocess.run([*git, "remove", "--force", str(worktree)], check=True)
    subprocess.run([*git, "add", "--detach", str(worktree), args.old], check=True)
    sources = {"old": worktree, "new": HERE}
    try:
        sites = {name: prepare(args.work / name, content) for name in sources}
        for name, source in sources.items():  # the cold build that fills each cache
            build(sites[name], source)
        if args.noop:  # files changed within the last build's clock tick are read again once
            time.sleep(1.1)
            for name, source in sources.items():
                build(sites[name], source)
        times: dict[str, list[float]] = {name: [] for name in sources}
        for run in range(args.runs):
            for name, source in sources.items():
                if args.outlet and renamed is not None:
                    speed.rename_source(sites[name] / "content" / renamed, run)
                elif not args.noop:
                    with open(sites[name] / "content" / edited, "a", encoding="utf-8") as f:
                        f.write(f"\nThe jury deliberated for {run + 2} more hours, a clerk said.\n")
                times[name].append(build(sites[name], source))
                print(f"  {name} #{run + 1}: {times[name][-1]:.3f}s", flush=True)
    finally:
        subprocess.run([*git, "remove", "--force", str(worktree)], check=True)
    for name, runs in times.items():
        print(f"{name}: median {statistics.median(runs):.3f}s  runs {[round(t, 3) for t in runs]}")


def prepare(folder: Path, content: Path) -> Path:
    """A fresh copy of the stream in ``folder``, with a site folder beside it."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(content, folder / "content")
    (folder / "site").mkdir()
    return folder


def build(folder: Path, source: Path) -> float:
    """One ``digest build`` of ``folder`` by the code in ``source``, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(source)
    cmd = [sys.executable, "-m", "digest", "build", "--content", "../content", "--output", "out"]
    started = time.perf_counter()
    subprocess.run(cmd, cwd=folder / "site", env=env, check=True, capture_output=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
