"""Installed use: a built wheel (not the editable checkout) can `digest init` and `digest build`.

The wheel is built from a copy of the checkout, so the test leaves no build/ or egg-info behind,
and installed into a fresh venv that reuses the already installed dependencies
(--system-site-packages) but takes digest itself only from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from digest import scaffold
from tests.conftest import REPO

pytestmark = pytest.mark.slow

# What is not part of a source tree: never copied into the build folder.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "site",
    "build",
    "dist",
    "*.egg-info",
    ".digest-cache",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def digest(self) -> Path:
        return self.bin / "digest"


def run(cmd: list[str | Path], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run outside the checkout's influence: no PYTHONPATH, so imports come from the venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


def build_wheel(source: Path, dist: Path) -> Path:
    """Build offline with the installed setuptools; fall back to an isolated build (registry)."""
    base = [sys.executable, "-m", "build", "--wheel", "--outdir", dist, source]
    result = run([*base[:4], "--no-isolation", "--skip-dependency-check", *base[4:]], cwd=source)
    if result.returncode != 0:
        result = ok(run(base, cwd=source, timeout=600))
    wheels = sorted(dist.glob("digest-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, found {wheels}\n{result.stderr}"
    return wheels[0]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE, symlinks=True)
    wheel = build_wheel(source, work / "dist")
    venv = work / "venv"
    ok(run([sys.executable, "-m", "venv", "--system-site-packages", venv], cwd=work))
    installed = Installed(wheel, venv)
    # --ignore-installed: the editable digest of the outer environment is visible through
    # --system-site-packages; install beside it in the venv rather than "already satisfied"
    ok(
        run(
            [
                installed.python,
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--no-index",
                "--ignore-installed",
                wheel,
            ],
            cwd=work,
        )
    )
    return installed


def test_wheel_ships_the_default_theme(installed: Installed) -> None:
    theme = REPO / "templates"
    expected = {
        "digest/templates/" + p.relative_to(theme).as_posix()
        for p in theme.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.name != ".gitkeep"
    }
    assert expected, "the repository has no default theme"
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    assert not expected - names, f"theme files missing from the wheel: {expected - names}"
    assert "digest/scaffold.py" in names
    assert "digest/__main__.py" in names


def test_installed_digest_is_imported_from_the_venv(installed: Installed, tmp_path: Path) -> None:
    printed = ok(
        run(
            [
                installed.python,
                "-c",
                "import digest, digest.render as r; print(digest.__file__); "
                "print(r.default_theme_dir())",
            ],
            cwd=tmp_path,
        )
    ).stdout.split("\n")
    module, theme = Path(printed[0]).resolve(), Path(printed[1]).resolve()
    venv = installed.venv.resolve()
    assert venv in module.parents, f"digest imported from {module}, not from the venv"
    assert "site-packages" in module.parts
    assert REPO.resolve() not in module.parents
    assert theme == module.parent / "templates"
    assert (theme / "base.html").is_file()


def test_installed_init_and_build(installed: Installed, tmp_path: Path) -> None:
    ok(run([installed.digest, "init", "news"], cwd=tmp_path))
    site = tmp_path / "news"
    assert (site / "digest.toml").is_file()
    result = ok(run([installed.digest, "build", "--strict"], cwd=site))
    assert "warning" not in result.stderr
    out = site / "site"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert scaffold.EXAMPLE_TITLE in index
    for name in ("404.html", "feed.xml", "feed.json", "sitemap.xml", "digest.json"):
        assert (out / name).is_file(), name
    # the theme's static files came from the installed package
    for asset in (REPO / "templates" / "static").rglob("*"):
        if asset.is_file():
            shipped = out / "static" / asset.relative_to(REPO / "templates" / "static")
            assert shipped.is_file(), shipped


def test_installed_python_dash_m_digest(installed: Installed, tmp_path: Path) -> None:
    result = ok(run([installed.python, "-m", "digest", "--version"], cwd=tmp_path))
    assert "digest" in result.stdout
