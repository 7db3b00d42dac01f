"""Save-to-reload latency of ``digest serve`` for a one-article edit on a large site.

Generates a site of N articles (default 6,000) from the real news text of the shared dev data
(DUC 2004 and ECB+ clusters, copied with varied dates and outlets; nothing is written into the
repo), starts the dev server in this process, listens on its event stream like a browser would,
then edits one article at a time and measures the time from the save to the reload event.

    python bench/serve_latency.py [--articles 6000] [--runs 7] [--keep DIR]

The data folder is ``../shared/data/dev`` beside the repo; ``DIGEST_DATA`` overrides it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from digest.build import Builder, BuildOptions, BuildReport
from digest.livereload import EVENTS_PATH
from digest.serve import DevServer
from digest.watch import SETTLE, Batch

OUTLETS = ("Reuters", "AP", "AFP", "BBC News", "The Guardian", "Al Jazeera", "NPR", "DW")
FIRST_DAY = date(2025, 1, 1)


def data_dir() -> Path:
    env = os.environ.get("DIGEST_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared/data/dev"


def load_texts(folder: Path) -> list[dict[str, str]]:
    """The articles of the shared cluster files (id, cluster, text)."""
    rows = []
    for name in ("duc2004.jsonl", "ecbplus.jsonl"):
        path = folder / "clusters" / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    if not rows:
        raise SystemExit(f"no articles found under {folder}/clusters (set DIGEST_DATA)")
    return rows


def first_sentence(text: str) -> str:
    line = " ".join(text.split())[:200]
    cut = line.find(". ")
    return (line[:cut] if 20 < cut < 120 else line[:90].rsplit(" ", 1)[0]).strip()


def generate(content: Path, rows: list[dict[str, str]], count: int) -> list[Path]:
    """``count`` Markdown articles: the rows again and again, each pass on other days.

    A cluster's articles share a day, as real coverage of one event does; the copies of a
    pass are 20 days from the previous pass, beyond the clustering window, so they make new
    stories instead of one giant one.
    """
    clusters = sorted({r["cluster"] for r in rows})
    day_of = {c: FIRST_DAY + timedelta(days=i % 19) for i, c in enumerate(clusters)}
    paths = []
    per_folder: dict[str, int] = defaultdict(int)
    for i in range(count):
        row = rows[i % len(rows)]
        copy = i // len(rows)
        day = day_of[row["cluster"]] + timedelta(days=20 * copy)
        outlet = OUTLETS[(i + copy) % len(OUTLETS)]
        title = first_sentence(row["text"]) or f"Article {i}"
        folder = f"{day:%Y-%m}"
        per_folder[folder] += 1
        path = content / folder / f"a{i:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        front = {
            "title": title,
            "date": f"{day.isoformat()}T{8 + i % 10:02d}:{i % 60:02d}:00+00:00",
            "source": outlet,
        }
        lines = "\n".join(f"{k}: {json.dumps(v)}" for k, v in front.items())
        path.write_text(f"---\n{lines}\n---\n{row['text'].strip()}\n", encoding="utf-8")
        paths.append(path)
    return paths


class Events:
    """A plain HTTP client on ``/__digest__/events``: each new epoch goes into a queue."""

    def __init__(self, port: int) -> None:
        self.epochs: queue.Queue[tuple[float, int]] = queue.Queue()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.conn.request("GET", EVENTS_PATH)
        self.resp = self.conn.getresponse()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for raw in self.resp:
                line = raw.decode("utf-8").strip()
                if line.startswith("data:") and line[5:].strip().isdigit():
                    self.epochs.put((time.perf_counter(), int(line[5:])))
        except (OSError, ValueError):
            pass

    def next_epoch(self, after: int, timeout: float) -> tuple[float, int]:
        deadline = time.monotonic() + timeout
        while True:
            stamp, epoch = self.epochs.get(timeout=max(0.01, deadline - time.monotonic()))
            if epoch != after:
                return stamp, epoch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=7, help="edits to time (at least 5)")
    parser.add_argument("--workers", type=int, default=None, help="build processes")
    parser.add_argument("--keep", type=Path, help="build the site here and keep it")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    rows = load_texts(data_dir())
    with tempfile.TemporaryDirectory(prefix="digest-serve-bench-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        (root / "digest.toml").write_text('title = "Serve benchmark"\n', encoding="utf-8")
        mark = time.perf_counter()
        paths = generate(root / "content", rows, args.articles)
        print(
            f"generated {len(paths)} articles from {len(rows)} texts in "
            f"{time.perf_counter() - mark:.1f}s"
        )
        return run(root, paths, args)


def run(root: Path, paths: list[Path], args: argparse.Namespace) -> int:
    options = BuildOptions(
        config_path=root / "digest.toml",
        content_dir=root / "content",
        output_dir=root / "site",
        site_dir=root,
    )
    reports: list[BuildReport | None] = []
    settles: queue.Queue[BuildReport | None] = queue.Queue()
    done = threading.Event()

    def on_build(batch: Batch, report: BuildReport | None) -> None:
        reports.append(report)
        if SETTLE in batch.kinds:
            settles.put(report)
        done.set()

    started = time.perf_counter()
    server = DevServer(
        options, port=0, builder=Builder(options, workers=args.workers), on_build=on_build
    )
    server.start()
    try:
        if not done.wait(3600) or reports[-1] is None:
            print("the first build failed:", server.site.state.status().error)
            return 1
        cold = time.perf_counter() - started
        first = reports[-1]
        print(
            f"cold build: {cold:.2f}s ({first.articles} articles, {first.stories} stories, "
            f"{first.days} days, {first.written} files)"
        )
        print("  timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in first.timings.items()))
        events = Events(server.port)
        _, epoch = events.next_epoch(0, 30)
        latencies, timings = edit_runs(paths, events, epoch, reports, settles, args.runs)
    finally:
        server.stop()
    report_results(latencies, timings)
    return 0 if statistics.median(latencies) < 1.0 else 1


def edit_runs(
    paths: list[Path],
    events: Events,
    epoch: int,
    reports: list[BuildReport | None],
    settles: queue.Queue[BuildReport | None],
    runs: int,
) -> tuple[list[float], list[dict[str, float]]]:
    """Alternately append a line to an article and save a new one (a re-report of another).

    After each reload, waits for the exact clustering the server runs when idle (a settle), as
    an editor's next save comes seconds later; reports whether it changed any page.
    """
    latencies: list[float] = []
    timings: list[dict[str, float]] = []
    step = max(1, len(paths) // (runs + 1))
    for n in range(max(5, runs)):
        time.sleep(0.5)  # let the watcher settle: each edit is its own burst
        source = paths[(n + 1) * step % len(paths)]
        text = source.read_text(encoding="utf-8")
        if n % 2:
            what = "new article"
            path = source.with_name(f"new-{n}.md")
            text = text.replace('source: "', 'source: "Wire copy via ', 1)
        else:
            what, path = "edit", source
        saved = time.perf_counter()
        path.write_text(text + f"\nAn editor's note, revision {n}.\n", encoding="utf-8")
        reloaded, epoch = events.next_epoch(epoch, 120)
        latencies.append(reloaded - saved)
        report = reports[-1]
        timings.append(dict(report.timings) if report else {})
        extra = f"files read {report.files_read}, summarized {report.stories_summarized}"
        if report is not None and report.provisional:
            settled = settles.get(timeout=600)
            changed = settled.written if settled else "failed"
            extra += f"; exact clustering when idle: {settled.seconds if settled else 0:.2f}s"
            extra += f", pages changed by it: {changed}"
        print(f"  {what} {n + 1}: {latencies[-1] * 1000:.0f} ms ({extra})")
    return latencies, timings


def report_results(latencies: list[float], timings: list[dict[str, float]]) -> None:
    ms = [x * 1000 for x in latencies]
    print(
        f"save -> reload event over {len(ms)} edits: median {statistics.median(ms):.0f} ms, "
        f"min {min(ms):.0f} ms, max {max(ms):.0f} ms (target < 1000 ms)"
    )
    stages = sorted({k for t in timings for k in t})
    breakdown = ", ".join(
        f"{k} {statistics.median(t.get(k, 0.0) for t in timings) * 1000:.0f}" for k in stages
    )
    print(f"  median build timings (ms): {breakdown}")
    from digest.watch import QUIET_SECONDS

    print(f"  (includes the {QUIET_SECONDS * 1000:.0f} ms debounce quiet period)")


if __name__ == "__main__":
    sys.exit(main())
