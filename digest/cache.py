"""The persistent build cache in ``.digest-cache/``: cleaned articles per file, summaries per story.

Stored as JSON, not pickle: the cache lives in the user's site folder (and may be restored by CI
from elsewhere), so loading it must never execute anything. A cache that is missing, corrupt, or
written by another version or setting is ignored and rebuilt; it never fails a build.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

from digest import __version__
from digest.model import Article, SummarySentence

log = logging.getLogger("digest")

CACHE_DIR_NAME = ".digest-cache"
_FORMAT = 1


def article_to_json(article: Article) -> dict[str, Any]:
    data = {f.name: getattr(article, f.name) for f in fields(Article)}
    data["published"] = article.published.isoformat() if article.published else None
    data["tags"] = list(article.tags)
    return data


def article_from_json(data: dict[str, Any]) -> Article:
    values = dict(data)
    values["published"] = datetime.fromisoformat(data["published"]) if data["published"] else None
    values["tags"] = tuple(data["tags"])
    return Article(**values)


def summary_to_json(title: str, summary: tuple[SummarySentence, ...]) -> dict[str, Any]:
    return {"title": title, "summary": [[s.text, s.article] for s in summary]}


def summary_from_json(data: dict[str, Any]) -> tuple[str, tuple[SummarySentence, ...]]:
    return data["title"], tuple(SummarySentence(text, article) for text, article in data["summary"])


class JsonCache:
    """One JSON file of entries, valid only for the ``scope`` it was written under.

    ``scope`` names what the entries depend on besides their own key (the digest version, the
    settings that change the result). Entries not used by the latest build are dropped on save,
    so the file never grows past the site.
    """

    def __init__(self, path: Path | None, scope: str) -> None:
        self.path = path
        self.scope = f"{_FORMAT}|{__version__}|{scope}"
        self._old: dict[str, Any] = self._load()
        self._used: dict[str, Any] = {}
        self.dirty = False

    def _load(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.info("ignoring unreadable cache %s: %s", self.path, exc)
            return {}
        if not isinstance(data, dict) or data.get("scope") != self.scope:
            log.info("ignoring cache %s written for another version or setting", self.path)
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def get(self, key: str) -> Any | None:
        value = self._used.get(key)
        if value is None:
            value = self._old.get(key)
            if value is not None:
                self._used[key] = value
        return value

    def put(self, key: str, value: Any) -> None:
        self._used[key] = value
        self.dirty = True

    def finish(self) -> None:
        """End a build: write the entries it used, atomically, and keep them for the next build.

        Failing to write is only logged: the cache is an optimisation, never a reason to fail.
        """
        changed = self.dirty or self._used.keys() != self._old.keys()
        if self.path is not None and changed:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".json")
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as out:
                        json.dump(
                            {"scope": self.scope, "entries": self._used}, out, ensure_ascii=False
                        )
                    os.replace(tmp, self.path)
                finally:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)
            except OSError as exc:
                log.warning("could not write the cache %s: %s", self.path, exc)
        self._old, self._used, self.dirty = self._used, {}, False
