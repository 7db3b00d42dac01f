"""Shared test fixtures: where the repo, its sample content and the shared evaluation data live."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_CONTENT = REPO / "content"
SHARED = REPO.parent / "shared"


@pytest.fixture
def sample_content() -> Path:
    return SAMPLE_CONTENT
