"""Importing third-party packages without the parts of them digest never uses."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def without_scipy_stats() -> Iterator[None]:
    """Imports made in the block see ``scipy.stats`` as absent (an ImportError).

    sumy imports all of NLTK for its stemmers, and NLTK imports ``scipy.stats`` (about 50 MB
    resident, in every summarizing process) for two statistics it falls back from when scipy is
    missing; digest uses neither. Afterwards ``scipy.stats`` imports normally again.
    """
    if "scipy.stats" in sys.modules:  # already loaded: nothing to save
        yield
        return
    sys.modules["scipy.stats"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get("scipy.stats", ...) is None:
            del sys.modules["scipy.stats"]
