"""A profile of the cold build on the synthetic stream, kept with the speed figures.

    python bench/profile_build.py [-n 6000] [--out docs/profile-cold-build.txt]

Runs a cold build (no cache, empty output) of the stream of ``bench/generate.py`` under
pyinstrument in a fresh process. pyinstrument samples one process only, so by default the build
runs with one worker (``Builder(options, workers=1)``): every stage's own work is in the profile,
not hidden behind a process pool. ``--cli`` profiles ``python -m digest build --no-cache`` as
users run it instead (the pool stages then show as waiting on the pool).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed  # noqa: E402  (bench/ is not a package)

REPO = Path(__file__).resolve().parents[1]


# The one-worker build, run under pyinstrument in a fresh process (argv: content, output).
IN_PROCESS = """
import sys, time
from pathlib import Path
from digest.build import Builder, BuildOptions
options = BuildOptions(content_dir=Path(sys.argv[1]), output_dir=Path(sys.argv[2]), use_cache=False)
report = Builder(options, workers=1).build()
print(f"built {report.articles} articles into {report.stories} stories in {report.seconds:.2f}s")
print("timings: " + ", ".join(f"{k} {v:.3f}s" for k, v in report.timings.items()))
"""


def profile(n: int, out: Path, work: Path, cli: bool) -> None:
    content, _ = speed.make_stream(work, n)
    site = content.parent / "profile"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    raw = site / "profile.txt"
    script = site / "one_worker_build.py"
    script.write_text(IN_PROCESS)
    cmd = [sys.executable, "-m", "pyinstrument", "-o", str(raw)]
    if cli:
        cmd += ["-m", "digest", "build", "--no-cache", "-v"]
        cmd += ["--content", str(content), "--output", str(site / "site")]
    else:
        cmd += [str(script), str(content), str(site / "site")]
    done = subprocess.run(cmd, cwd=site, capture_output=True, text=True, check=True)
    log = [line for line in (done.stdout + done.stderr).splitlines() if "built" in line or
           "timings:" in line]  # fmt: skip
    shown = " ".join(cmd[1:]).replace(str(content), f"<stream of {n}>").replace(str(site), "<tmp>")
    how = "python -m digest build (process pool)" if cli else "Builder(options, workers=1).build()"
    header = [
        f"# cold build of {n} generated articles, {how}",
        f"# python bench/profile_build.py -n {n}{' --cli' if cli else ''}  ->  {shown}",
        *("# " + x for x in log),
        "",
    ]
    out.write_text("\n".join(header) + "\n" + raw.read_text(encoding="utf-8"), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=6000, help="articles (default 6000)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "profile-cold-build.txt")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "digest-speed")
    parser.add_argument("--cli", action="store_true", help="profile the CLI with its process pool")
    args = parser.parse_args(argv)
    profile(args.n, args.out, args.work, args.cli)
    print(f"profile written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
