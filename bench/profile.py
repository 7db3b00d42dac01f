"""A profile of the cold build on the synthetic stream, kept with the speed figures.

    python bench/profile.py [-n 6000] [--out docs/profile-cold-build.txt]

Runs ``python -m pyinstrument -m digest build --no-cache`` in a fresh process on the stream of
``bench/generate.py``. pyinstrument samples the main process only: the stages digest runs in its
process pool (read+clean, summarize) show up as time waiting on the pool; the stage timings line
of ``-v`` (kept at the top of the output) gives their wall time.
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


def profile(n: int, out: Path, work: Path) -> None:
    content, _ = speed.make_stream(work, n)
    site = content.parent / "profile"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    raw = site / "profile.txt"
    cmd = [
        sys.executable, "-m", "pyinstrument", "-o", str(raw),
        "-m", "digest", "build", "--no-cache", "-v",
        "--content", str(content), "--output", str(site / "site"),
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=site, capture_output=True, text=True, check=True)
    log = [line for line in (done.stdout + done.stderr).splitlines() if "built" in line or
           "timings:" in line]  # fmt: skip
    shown = " ".join(cmd[1:]).replace(str(content), f"<stream of {n}>").replace(str(site), "<tmp>")
    header = [f"# {shown}", f"# (python bench/profile.py -n {n})", *("# " + x for x in log), ""]
    out.write_text("\n".join(header) + "\n" + raw.read_text(encoding="utf-8"), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=6000, help="articles (default 6000)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "profile-cold-build.txt")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "digest-speed")
    args = parser.parse_args(argv)
    profile(args.n, args.out, args.work)
    print(f"profile written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
