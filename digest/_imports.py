"""Importing third-party packages without the parts of them digest never uses."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import types
from collections.abc import Iterator
from typing import Any

# Packages that sumy's imports load only for features digest never uses, hidden in this order of
# preference: all of scipy when nothing loaded it yet, else just scipy.stats.
_HIDDEN = ("scipy", "scipy.stats")
_STOOD_IN = ("requests",)  # imported by a module digest uses, for a function it never calls
# ``sumy.utils`` takes ``languages`` from pycountry (0.035 s: its database module and
# ``importlib.metadata``) to turn an ISO code into a language's name; a name needs no lookup.
_LANGUAGES_FROM = "pycountry"
# sumy stems with ``nltk.stem.snowball``; importing it runs ``nltk/__init__.py``, which imports
# all of NLTK (0.2-0.3 s). What the module needs is imported without that, under a bare package.
_BARE_PACKAGE = "nltk"
_BARE_IMPORT = "nltk.stem.snowball"
# Names those modules import from heavy ones for what sumy never asks for: ``stopwords`` (all of
# NLTK's corpus readers) for snowball stemmers made with ``ignore_stopwords=True``, and ``load``
# (NLTK's grammars, urllib) for the RSLP stemmer's rules.
_LAZY_NAMES = {"nltk.corpus": ("stopwords",), "nltk.data": ("load",)}


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
    - ``nltk.stem.snowball`` is imported without ``nltk/__init__.py`` (``_bare_import``): the
      snowball stemmers sumy uses need a handful of NLTK's modules, not all of it.

    Afterwards these import normally: what the block put in ``sys.modules`` is taken out,
    NLTK's modules too (the objects sumy holds keep working; an ``import nltk`` later loads all
    of NLTK afresh). ``sys.modules`` is the process's, so no other thread should import scipy
    or NLTK meanwhile.
    """
    placed: dict[str, types.ModuleType | None] = {}
    hidden = next((name for name in _HIDDEN if name not in sys.modules), None)
    if hidden is not None:
        placed[hidden] = None
    for name in _STOOD_IN:
        if name not in sys.modules:
            placed[name] = _stand_in(name)
    if _LANGUAGES_FROM not in sys.modules:
        placed[_LANGUAGES_FROM] = _stand_in(_LANGUAGES_FROM, languages=_LanguagesByCode())
    sys.modules.update(placed)  # type: ignore[arg-type]
    bare = _BARE_PACKAGE not in sys.modules
    try:
        bare = bare and _bare_import(_BARE_PACKAGE, _BARE_IMPORT)
        yield
    finally:
        for name, module in placed.items():
            if name in sys.modules and sys.modules[name] is module:
                del sys.modules[name]
        if bare:
            _forget_package(_BARE_PACKAGE)


def _bare_import(package: str, name: str) -> bool:
    """Import ``name`` from ``package`` without running the package's ``__init__.py``: under a
    bare package module, with stand-ins for the names in ``_LAZY_NAMES``. True if it worked;
    otherwise (another version of the package needs more) nothing of it stays imported, and
    the usual import follows."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        return False
    bare = types.ModuleType(package, f"{package} without its __init__, for {name}")
    bare.__path__ = list(spec.submodule_search_locations)
    sys.modules[package] = bare
    for module_name, names in _LAZY_NAMES.items():
        if module_name.startswith(package + "."):
            lazy = types.ModuleType(module_name, f"Stands in for {module_name} in {name}.")
            for attribute in names:
                setattr(lazy, attribute, _LazyAttribute(module_name, attribute))
            sys.modules[module_name] = lazy
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001  (whatever fails, the usual import is the answer)
        _forget_package(package)
        return False
    return True


def _forget_package(package: str) -> None:
    """Take ``package`` and its submodules out of ``sys.modules``."""
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


class _LazyAttribute:
    """``module.attribute``, imported when it is first called or asked for an attribute."""

    def __init__(self, module: str, attribute: str) -> None:
        self._where = (module, attribute)

    def _real(self) -> Any:
        module, attribute = self._where
        return getattr(importlib.import_module(module), attribute)

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):  # what introspection probes: no import for it
            raise AttributeError(name)
        return getattr(self._real(), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._real()(*args, **kwargs)


def _stand_in(name: str, **attributes: object) -> types.ModuleType:
    """A module called ``name`` with ``attributes``, whose other attributes are the real
    module's, imported at the first lookup after the block (when ``sys.modules`` no longer
    holds the stand-in)."""
    module = types.ModuleType(name, f"Stands in for {name} until it is used.")
    for attribute, value in attributes.items():
        setattr(module, attribute, value)

    def real_attribute(attribute: str) -> object:
        # Dunders (``__path__``, ``__file__``) are what the import system and introspection
        # probe: they must not import the real module, least of all during the block.
        if attribute.startswith("__") or sys.modules.get(name) is module:
            raise AttributeError(f"module {name!r} stands in, without {attribute!r}")
        return getattr(importlib.import_module(name), attribute)

    module.__getattr__ = real_attribute  # type: ignore[method-assign]
    return module


class _LanguagesByCode:
    """``pycountry.languages`` for ``sumy.utils.normalize_language``, which asks it for the
    language whose ``alpha_2`` code, then ``alpha_3`` code, is the name it was given: a value
    of another length is no such code, answered (the default, as pycountry answers) without
    importing pycountry. Anything else is pycountry's own answer."""

    _CODE_LENGTHS = {"alpha_2": 2, "alpha_3": 3}

    def get(self, *, default: Any = None, **fields: Any) -> Any:
        if len(fields) == 1:
            ((field, value),) = fields.items()
            length = self._CODE_LENGTHS.get(field)
            if length is not None and isinstance(value, str) and len(value) != length:
                return default
        return self._real().get(default=default, **fields)

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):  # what introspection probes: no import for it
            raise AttributeError(name)
        return getattr(self._real(), name)

    @staticmethod
    def _real() -> Any:
        return importlib.import_module(_LANGUAGES_FROM).languages
