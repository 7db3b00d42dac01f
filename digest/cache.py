"""The persistent build cache in ``.digest-cache/``: cleaned articles per file, summaries per story,
clustering features per article text.

Stored as JSON and as numpy ``.npz`` read without pickle: the cache lives in the user's site
folder (and may be restored by CI from elsewhere), so loading it must never execute anything.
JSON goes through orjson: a new process after a one-article edit parses ~20 MB of cached
articles at 6,000, 3x faster than with the json module (docs/benchmarks.md). A
cache that is missing, corrupt, or written by another version or setting is ignored and rebuilt;
it never fails a build.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import sys
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from digest import __version__
from digest.model import Article, SummarySentence

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("digest")

CACHE_DIR_NAME = ".digest-cache"
_FORMAT = 1


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """digest's own code and the versions of what shapes its results, as one short hash.

    Part of every cache's scope: an editable install or an upgrade from git changes the code
    without changing ``__version__``, and a cached article or summary from other code would make
    a local build differ from a clean one.
    """
    h = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parent
    for source in sorted(package.glob("*.py")):
        h.update(source.name.encode())
        h.update(source.read_bytes())
    names = ("sumy", "nltk", "markdown-it-py", "jinja2", "numpy", "scipy", "pyyaml", "orjson")
    for name, version in zip(names, installed_versions(names), strict=True):
        h.update(f"{name}={version or '?'}".encode())
    return h.hexdigest()[:16]


def installed_versions(names: Iterable[str]) -> list[str | None]:
    """The installed version of each distribution named (None: not installed).

    Read from the names of the ``{name}-{version}.dist-info`` folders on ``sys.path``, as the
    import system would find them (first wins): ``importlib.metadata`` costs a fresh process
    ~30 ms (its import, and parsing each METADATA file) for the same answer. A distribution
    found first as an ``.egg-info`` without a version in its name (a develop install), or not
    found, is asked of ``importlib.metadata``.
    """
    found: dict[str, str | None] = {}
    for entry in sys.path:
        try:
            listing = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in listing:
            match = _DIST_INFO.fullmatch(folder)
            if match:
                found.setdefault(_normalized(match["name"]), match["version"])
    versions: list[str | None] = []
    for name in names:
        version = found.get(_normalized(name))
        if version is None:
            from importlib import metadata

            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                version = None
        versions.append(version)
    return versions


# name-version.dist-info; name-version[-pyX.Y[-platform]].egg-info, or name.egg-info
_DIST_INFO = re.compile(r"(?P<name>[^-]+)(?:-(?P<version>[^-]+)(?:-[^-]+)*)?\.(?:dist|egg)-info")


def _normalized(name: str) -> str:
    """A distribution's name as packaging compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def article_to_json(article: Article) -> dict[str, Any]:
    data = {f.name: getattr(article, f.name) for f in fields(Article)}
    data["published"] = article.published.isoformat() if article.published else None
    data["tags"] = list(article.tags)
    if article.body == article.text:  # plain-text articles: store (and keep in memory) one copy
        data["body"] = None
    return data


_ARTICLE_FIELDS = frozenset(f.name for f in fields(Article))


def article_from_json(data: dict[str, Any]) -> Article:
    """The article ``article_to_json`` made ``data`` of; ValueError when it has other fields.

    Filled in without the dataclass's ``__init__``: a frozen dataclass sets each field through
    ``object.__setattr__``, and a new process rebuilds thousands of articles from the cache.
    """
    if data.keys() != _ARTICLE_FIELDS:
        raise ValueError("not an article's fields")
    article = object.__new__(Article)
    values = article.__dict__
    values.update(data)
    published = data["published"]
    values["published"] = datetime.fromisoformat(published) if published else None
    values["tags"] = tuple(data["tags"])
    if data["body"] is None:
        values["body"] = data["text"]
    return article


def summary_to_json(title: str, summary: tuple[SummarySentence, ...]) -> dict[str, Any]:
    return {"title": title, "summary": [[s.text, s.article] for s in summary]}


def summary_from_json(data: dict[str, Any]) -> tuple[str, tuple[SummarySentence, ...]]:
    return data["title"], tuple(SummarySentence(text, article) for text, article in data["summary"])


class ShardedCache:
    """Entries in SHARDS files in one folder, valid only for the ``scope`` written with them.

    ``scope`` names what the entries depend on besides their own key (the digest version, the
    settings that change the result). Entries not used by the latest build are dropped, so the
    cache never grows past the site. Sharding keeps a rebuild after one edit from rewriting the
    entries of every other file: only the shards whose entries changed are written. Subclasses
    say how a shard is stored.
    """

    SHARDS = 32
    SUFFIX = ""

    def __init__(self, folder: Path | None, scope: str) -> None:
        self.folder = folder
        self.scope_key = scope
        self.scope = f"{_FORMAT}|{code_fingerprint()}|{scope}"
        self._old: dict[str, Any] = {}
        # Each key's shard, as read (or computed): hashing every key again at ``finish`` was
        # most of a rebuild's cost of writing one shard.
        self._shard_at: dict[str, int] = {}
        # Shards found unreadable or written for another scope (older code): written again at
        # ``finish``, or every later build would read them again to find nothing.
        self._stale: set[int] = set()
        for shard in range(self.SHARDS):
            entries = self._load(shard)
            self._old.update(entries)
            self._shard_at.update(dict.fromkeys(entries, shard))
        self._used: dict[str, Any] = {}
        self._changed: set[str] = set()

    def _shard_path(self, shard: int) -> Path:
        assert self.folder is not None
        return self.folder / f"{shard:02d}{self.SUFFIX}"

    def _load(self, shard: int) -> dict[str, Any]:
        if self.folder is None:
            return {}
        path = self._shard_path(shard)
        try:
            scope, entries = self._read(path)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            log.info("ignoring unreadable cache %s: %s", path, exc)
            self._stale.add(shard)
            return {}
        if scope != self.scope:
            log.info("ignoring cache %s written for another version or setting", path)
            self._stale.add(shard)
            return {}
        return entries

    def _read(self, path: Path) -> tuple[Any, dict[str, Any]]:
        """A shard's scope and entries; raises on anything unreadable."""
        raise NotImplementedError

    def _write(self, path: Path, entries: dict[str, Any]) -> None:
        raise NotImplementedError

    def _shard_of(self, key: str) -> int:
        return zlib.crc32(key.encode("utf-8", "surrogatepass")) % self.SHARDS

    def get(self, key: str) -> Any | None:
        value = self._used.get(key)
        if value is None:
            value = self._old.get(key)
            if value is not None:
                self._used[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self._used[key] = value
        self._changed.add(key)

    def finish(self) -> None:
        """End a build: keep the entries it used for the next one and write the changed shards.

        Failing to write is only logged: the cache is an optimisation, never a reason to fail.
        """
        dropped = self._old.keys() - self._used.keys()
        shard_at = self._shard_at
        for key in self._changed:
            if key not in shard_at:
                shard_at[key] = self._shard_of(key)
        dirty = {shard_at[key] for key in self._changed | dropped} | self._stale
        if self.folder is not None and dirty:
            by_shard: dict[int, dict[str, Any]] = {shard: {} for shard in dirty}
            for key, value in self._used.items():
                entries = by_shard.get(shard_at[key])
                if entries is not None:
                    entries[key] = value
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                for shard, entries in sorted(by_shard.items()):
                    self._write(self._shard_path(shard), entries)
                self._stale = set()
            except (OSError, ValueError) as exc:
                log.warning("could not write the cache in %s: %s", self.folder, exc)
        self._old, self._used, self._changed = self._used, {}, set()
        self._shard_at = {key: shard_at[key] for key in self._old}


class JsonCache(ShardedCache):
    """Entries that are JSON values."""

    SUFFIX = ".json"

    def _read(self, path: Path) -> tuple[Any, dict[str, Any]]:
        data = read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
            raise ValueError("not a cache shard")
        return data.get("scope"), data["entries"]

    def _write(self, path: Path, entries: dict[str, Any]) -> None:
        write_json(path, {"scope": self.scope, "entries": entries})


class ArrayCache(ShardedCache):
    """Entries that are tuples of FIELDS one-dimensional numpy arrays, in ``.npz`` files.

    Each shard holds its keys, and per field the entries' arrays end to end with their lengths;
    loading never unpickles (``allow_pickle=False``).
    """

    SUFFIX = ".npz"

    def __init__(self, folder: Path | None, scope: str, fields: int) -> None:
        self.fields = fields
        super().__init__(folder, scope)

    def _read(self, path: Path) -> tuple[Any, dict[str, Any]]:
        import zipfile  # with numpy, which imports it anyway

        import numpy as np  # numpy only when there are arrays: a no-op build never gets here

        try:
            return self._read_npz(np.load(path, allow_pickle=False))
        except zipfile.BadZipFile as exc:  # what ``_load`` counts as unreadable
            raise ValueError(f"not an .npz file: {exc}") from exc

    def _read_npz(self, npz: Any) -> tuple[Any, dict[str, Any]]:
        import numpy as np

        with npz as data:
            scope = str(data["scope"])
            keys = data["keys"].tolist()
            columns = []
            for f in range(self.fields):
                values, lengths = data[f"values{f}"], data[f"lengths{f}"]
                if len(lengths) != len(keys) or int(lengths.sum()) != len(values):
                    raise ValueError("lengths do not match the values")
                columns.append(np.split(values, np.cumsum(lengths)[:-1]) if len(keys) else [])
        return scope, dict(zip(keys, zip(*columns, strict=True), strict=True))

    def _write(self, path: Path, entries: dict[str, Any]) -> None:
        import numpy as np

        arrays: dict[str, np.ndarray] = {
            "scope": np.array(self.scope),
            "keys": np.array(list(entries), dtype=str),
        }
        for f in range(self.fields):
            column = [entry[f] for entry in entries.values()]
            arrays[f"lengths{f}"] = np.array([len(a) for a in column], dtype=np.int64)
            arrays[f"values{f}"] = np.concatenate(column) if column else np.zeros(0)
        with atomic_path(path) as tmp, open(tmp, "wb") as out:
            np.savez(out, **arrays)


def read_json(path: Path) -> Any:
    """The JSON value in ``path``; OSError when unreadable, ValueError when not JSON."""
    return orjson.loads(read_file(path))


def read_file(path: Path | str) -> bytes:
    """The bytes of ``path``, read at once at the size ``stat`` gives (and on to the end, for a
    file that grew meanwhile). ``Path.read_bytes`` grows its buffer as it reads: a file of
    ~20 MB took it 2-3 times longer."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        data = os.read(fd, os.fstat(fd).st_size + 1)
        more = os.read(fd, 1 << 20) if data else b""
        if not more:
            return data
        chunks = [data, more]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path``, whole or not at all (``atomic_path``).

    OSError when it cannot be written; ValueError (not TypeError, as orjson raises) when
    ``value`` is not JSON: a key that is no string, a path with an undecodable byte.
    """
    try:
        data = orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"cannot write {path.name} as JSON: {exc}") from exc
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        out.write(data)


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write named arrays to ``path`` (``.npz``), whole or not at all; failing to write is only
    logged: a cache is an optimisation, never a reason to fail."""
    import numpy as np

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as out:
            np.savez(out, **arrays)
    except OSError as exc:
        log.warning("could not write the cache in %s: %s", path.parent, exc)


def load_arrays(path: Path, scope: str) -> dict[str, np.ndarray] | None:
    """The arrays ``save_arrays`` wrote at ``path`` with a ``scope`` array equal to ``scope``;
    None when there is no file, another scope, or anything unreadable (never unpickles)."""
    import zipfile  # with numpy, which imports it anyway

    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["scope"]) != scope:
                log.info("ignoring cache %s written for another version or setting", path)
                return None
            return {name: data[name] for name in data.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.info("ignoring unreadable cache %s: %s", path, exc)
        return None


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[str]:
    """A temporary name to write to, then renamed to ``path``: a reader (or a crash) sees the
    old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
