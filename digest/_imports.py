"""Importing third-party packages without the parts of them digest never uses."""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterator

# Packages that sumy's imports load only for features digest never uses, hidden in this order of
# preference: all of scipy when nothing loaded it yet, else just scipy.stats.
_HIDDEN = ("scipy", "scipy.stats")
_STOOD_IN = ("requests",)  # imported by a module digest uses, for a function it never calls


@contextlib.contextmanager
def without_unused_dependencies() -> Iterator[None]:
    """Imports made in the block skip what digest never uses of sumy's dependencies.

    - ``scipy`` is absent (an ImportError): sumy imports all of NLTK for its stemmers, and NLTK
      tries ``scipy.sparse`` for a dependency parser (0.2 s, 18 MB resident) and
      ``scipy.stats`` for two statistics (50 MB), falling back when scipy is missing; digest
      uses none of them. When scipy is loaded already (the clustering uses it), only
      ``scipy.stats`` is absent, if it is not loaded either.
    - ``requests`` (0.07 s) is a stand-in: ``sumy.utils`` imports it for ``fetch_url`` only.
      The stand-in imports the real module when something is first asked of it.

    Afterwards these import normally: what the block put in ``sys.modules`` is taken out.
    ``sys.modules`` is the process's, so no other thread should import scipy meanwhile.
    """
    placed: dict[str, types.ModuleType | None] = {}
    hidden = next((name for name in _HIDDEN if name not in sys.modules), None)
    if hidden is not None:
        placed[hidden] = None
    for name in _STOOD_IN:
        if name not in sys.modules:
            placed[name] = _stand_in(name)
    sys.modules.update(placed)  # type: ignore[arg-type]
    try:
        yield
    finally:
        for name, module in placed.items():
            if name in sys.modules and sys.modules[name] is module:
                del sys.modules[name]


def _stand_in(name: str) -> types.ModuleType:
    """An empty module called ``name`` whose attributes are the real module's, imported at the
    first lookup after the block (when ``sys.modules`` no longer holds the stand-in)."""
    module = types.ModuleType(name, f"Stands in for {name} until it is used.")

    def real_attribute(attribute: str) -> object:
        # Dunders (``__path__``, ``__file__``) are what the import system and introspection
        # probe: they must not import the real module, least of all during the block.
        if attribute.startswith("__") or sys.modules.get(name) is module:
            raise AttributeError(f"module {name!r} stands in, without {attribute!r}")
        return getattr(importlib.import_module(name), attribute)

    module.__getattr__ = real_attribute  # type: ignore[method-assign]
    return module
