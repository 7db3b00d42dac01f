"""The persistent build cache in ``.digest-cache/``: cleaned articles per file, summaries per story.

Stored as JSON, not pickle: the cache lives in the user's site folder (and may be restored by CI
from elsewhere), so loading it must never execute anything. A cache that is missing, corrupt, or
written by another version or setting is ignored and rebuilt; it never fails a build.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import tempfile
import zlib
from dataclasses import fields
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from digest import __version__
from digest.model import Article, SummarySentence

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
    for name in ("sumy", "nltk", "markdown-it-py", "jinja2", "numpy", "scipy", "pyyaml"):
        try:
            h.update(f"{name}={metadata.version(name)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{name}=?".encode())
    return h.hexdigest()[:16]


def article_to_json(article: Article) -> dict[str, Any]:
    data = {f.name: getattr(article, f.name) for f in fields(Article)}
    data["published"] = article.published.isoformat() if article.published else None
    data["tags"] = list(article.tags)
    if article.body == article.text:  # plain-text articles: store (and keep in memory) one copy
        data["body"] = None
    return data


def article_from_json(data: dict[str, Any]) -> Article:
    values = dict(data)
    values["published"] = datetime.fromisoformat(data["published"]) if data["published"] else None
    values["tags"] = tuple(data["tags"])
    if values["body"] is None:
        values["body"] = values["text"]
    return Article(**values)


def summary_to_json(title: str, summary: tuple[SummarySentence, ...]) -> dict[str, Any]:
    return {"title": title, "summary": [[s.text, s.article] for s in summary]}


def summary_from_json(data: dict[str, Any]) -> tuple[str, tuple[SummarySentence, ...]]:
    return data["title"], tuple(SummarySentence(text, article) for text, article in data["summary"])


class JsonCache:
    """Entries in SHARDS JSON files in one folder, valid only for the ``scope`` written with them.

    ``scope`` names what the entries depend on besides their own key (the digest version, the
    settings that change the result). Entries not used by the latest build are dropped, so the
    cache never grows past the site. Sharding keeps a rebuild after one edit from rewriting the
    entries of every other file: only the shards whose entries changed are written.
    """

    SHARDS = 32

    def __init__(self, folder: Path | None, scope: str, keep: bool = True) -> None:
        self.folder = folder
        self.scope_key = scope
        self.keep = keep  # False: let go of every entry at ``finish`` (no next build to serve)
        self.scope = f"{_FORMAT}|{code_fingerprint()}|{scope}"
        self._old: dict[str, Any] = {}
        for shard in range(self.SHARDS):
            self._old.update(self._load(shard))
        self._used: dict[str, Any] = {}
        self._changed: set[str] = set()

    def _shard_path(self, shard: int) -> Path:
        assert self.folder is not None
        return self.folder / f"{shard:02d}.json"

    def _load(self, shard: int) -> dict[str, Any]:
        if self.folder is None:
            return {}
        path = self._shard_path(shard)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.info("ignoring unreadable cache %s: %s", path, exc)
            return {}
        if not isinstance(data, dict) or data.get("scope") != self.scope:
            log.info("ignoring cache %s written for another version or setting", path)
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

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
        """End a build: keep the entries it used for the next one (unless not ``keep``) and write
        the changed shards.

        Failing to write is only logged: the cache is an optimisation, never a reason to fail.
        """
        dropped = self._old.keys() - self._used.keys()
        dirty = {self._shard_of(key) for key in self._changed | dropped}
        if self.folder is not None and dirty:
            by_shard: dict[int, dict[str, Any]] = {shard: {} for shard in dirty}
            for key, value in self._used.items():
                entries = by_shard.get(self._shard_of(key))
                if entries is not None:
                    entries[key] = value
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                for shard, entries in sorted(by_shard.items()):
                    _write_json(self._shard_path(shard), {"scope": self.scope, "entries": entries})
            except OSError as exc:
                log.warning("could not write the cache in %s: %s", self.folder, exc)
        self._old, self._used, self._changed = self._used if self.keep else {}, {}, set()


def _write_json(path: Path, data: Any) -> None:
    """Write atomically: a reader (or a crash) sees the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
