"""Where a cold build's memory goes: the main process's peak RSS in each stage.

    python bench/memory_stages.py [-n 6000] [--work /tmp/digest-speed] [--content DIR]

Runs a cold build (``--no-cache``, empty output, the process pool as ``digest build`` runs it)
of the stream of ``bench/generate.py`` (made under ``--work`` as ``bench/speed.py`` makes it, or
``--content``) in this process, with a thread sampling the resident set every 10 ms and charging
it to the stage under way: read (and clean), cluster, render and write (one stage since pages
are written as they are rendered). What is not in a stage (the features pool, summarizing) is
charged to "after <the stage before>". It ends with the main process's and the largest
worker's peak (``ru_maxrss``); the worker processes are forked from the main one, so they start
from its size at that moment.
"""

from __future__ import annotations

import argparse
import functools
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed  # noqa: E402  (bench/ is not a package)


def rss_mb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


class Sampler:
    def __init__(self) -> None:
        self.stage = "start"
        self.peaks: dict[str, int] = {}
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            stage, now = self.stage, rss_mb()
            self.peaks[stage] = max(self.peaks.get(stage, 0), now)
            time.sleep(0.01)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        @functools.wraps(original)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.stage = label
            try:
                return original(*args, **kwargs)
            finally:
                self.peaks[label] = max(self.peaks.get(label, 0), rss_mb())
                print(f"  {label}: peak {self.peaks[label]} MB, at its end {rss_mb()} MB")
                self.stage = f"after {label}"

        setattr(owner, name, wrapped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=6000, help="articles (default 6000)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "digest-speed")
    parser.add_argument("--content", type=Path, help="build this content folder instead")
    args = parser.parse_args(argv)

    from digest import build, cluster  # cluster: numpy and scipy, which the build imports anyway

    if args.content is not None:
        content = args.content
    else:
        args.work.mkdir(parents=True, exist_ok=True)
        content, _ = speed.make_stream(args.work, args.n)
    site = Path(tempfile.mkdtemp(prefix="digest-memory-"))
    sampler = Sampler()
    sampler.wrap(build.Builder, "_read_articles", "read")
    sampler.wrap(cluster, "cluster_with_snapshot", "cluster")
    sampler.wrap(build.Builder, "_render_and_write", "render+write")
    options = build.BuildOptions(
        content_dir=content, output_dir=site / "site", use_cache=False, site_dir=site
    )
    try:
        report = build.Builder(options).build()
    finally:
        shutil.rmtree(site, ignore_errors=True)
    main_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    print(f"{report.articles:,} articles in {report.seconds:.1f} s")
    print("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in report.timings.items()))
    print("peak RSS by stage (MB): " + ", ".join(f"{k} {v}" for k, v in sampler.peaks.items()))
    print(f"peak RSS: main process {main_peak} MB, largest worker {worker_peak} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
