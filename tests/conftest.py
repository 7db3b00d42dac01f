"""Shared test fixtures: where the repo, its sample content and the shared evaluation data live."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CONTENT = REPO / "content"
SHARED = REPO.parent / "shared"


@pytest.fixture
def sample_content() -> Path:
    return SAMPLE_CONTENT


def run_digest(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m digest ARGS`` in ``cwd``, as a user runs it, with this checkout's package."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
