"""The content files the last build read, kept for the next build (``.digest-cache/files/``).

A rebuild in a new process must know, for each of thousands of content files, whether it changed
since the last build and, if not, the article read from it. Kept as one cache entry per file (a
JSON object per article, 20 MB at 6,000 articles), decoding the entries and making the articles
again was ~150 ms of a one-article edit. Here they are two files:

- ``index.json``: one column per field, one row per file (its stat and hash, its warnings, the
  digest clustering names its text by, and the article's short fields): lists of strings decode
  several times faster than an object per file;
- a log of the articles' texts, UTF-8 end to end. An article made from a row reads its ``text``
  and ``body`` from the log when something first asks for them (``Article.__getattr__``): an
  edit reads a few hundred of 6,000.

A build appends the texts it read anew to the log and writes the index again. The index names
the log by the id written at its start, and says how long the log was; a log that is missing,
another one or shorter makes the index unusable (the files are read again: never a wrong text),
and bytes appended by a build that died before writing its index are never named. When most of
the log is texts no row names any more, the texts still named are copied into a new log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from digest.cache import atomic_path, code_fingerprint, read_file
from digest.model import Article

log = logging.getLogger("digest")

FORMAT = 1
INDEX_NAME = "index.json"
LOG_MAGIC = b"digest texts "  # then the log's id (16 hex digits) and a newline
LOG_HEADER = len(LOG_MAGIC) + 17
WRITE_CHUNK = 8 << 20  # texts are written to the log this many bytes at a time (memory)
COMPACT_SLACK = 1 << 20  # a log this much (and twice) larger than its live texts is compacted

FileStat = tuple[int, int, int, int]  # mtime_ns, size, ctime_ns, inode: "has it changed?"

# The article's fields kept in the index as they are (JSON values); ``published`` and ``tags``
# are converted, ``text`` and ``body`` are in the log.
_PLAIN_FIELDS = (
    "id",
    "path",
    "format",
    "title",
    "title_given",
    "source",
    "url",
    "story",
    "lang",
    "content_hash",
)
_STR, _OPT_STR, _INT = {str}, {str, type(None)}, {int}
_COLUMN_TYPES = {
    "rel": _STR,
    "hash": _STR,
    "text_digest": _STR,
    "warnings": {list},
    "id": _OPT_STR,  # None: the file made no article (only warnings)
    "path": _OPT_STR,
    "format": _OPT_STR,
    "title": _OPT_STR,
    "title_given": {bool, type(None)},
    "source": _OPT_STR,
    "url": _OPT_STR,
    "published": _OPT_STR,
    "story": _OPT_STR,
    "lang": _OPT_STR,
    "tags": {list, type(None)},
    "content_hash": _OPT_STR,
}
_INT_COLUMNS = {"stat": 4, "text": 2, "body": 2}  # flat: this many integers per row


class FileState(NamedTuple):
    """What a build knows of one content file, so an unchanged file is never read again.
    (A named tuple: a new process makes 6,000 of them.)"""

    stat: FileStat
    content_hash: str
    article: Article | None
    warnings: tuple[str, ...]
    text_digest: str = ""  # ``text_digest`` of the article's title and text ("" if unknown)


class TextLog:
    """An open log of texts: read at positions (a server's threads share it), appended to."""

    def __init__(self, path: Path, log_id: str) -> None:
        self.path = path
        self.id = log_id
        self._file: Any = None
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, log_id: str, size: int) -> TextLog | None:
        """The log at ``path`` when it is the one with ``log_id`` and at least ``size`` bytes."""
        text_log = cls(path, log_id)
        try:
            text_log.reopen()
            if os.fstat(text_log._file.fileno()).st_size >= size:
                return text_log
        except OSError:
            pass
        text_log.close()
        return None

    def reopen(self) -> None:
        """Open the file at ``path``; OSError when it is not this log."""
        self.close()
        self._file = open(self.path, "rb", buffering=0)  # noqa: SIM115  (held by the articles)
        if self._file.read(LOG_HEADER) != _header(self.id):
            raise OSError(f"{self.path} is another log")

    def read(self, at: int, length: int) -> str:
        data = b""
        try:
            with self._lock:
                self._file.seek(at)
                data = self._file.read(length)
            if len(data) != length:
                raise ValueError(f"{length - len(data)} bytes short")
            return data.decode("utf-8", "surrogatepass")
        except (OSError, ValueError, AttributeError) as exc:  # damaged since it was opened
            log.warning(
                "the text cache %s is damaged (%s): rebuild with --no-cache", self.path, exc
            )
            return data.decode("utf-8", "replace") if isinstance(exc, UnicodeDecodeError) else ""

    def texts(self, span: Span) -> tuple[str, str]:
        """The text and the body at ``span`` (``Article.__getattr__`` asks)."""
        _, text_at, text_length, body_at, body_length = span
        text = self.read(text_at, text_length)
        return text, text if body_length < 0 else self.read(body_at, body_length)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


# Where an article's texts are: (log, text at, text length, body at, body length); a body length
# of -1: the body is the text. Kept in the article as ``_texts`` (a tuple: 6,000 are made).
Span = tuple[TextLog, int, int, int, int]


def text_span(article: Article, text_log: TextLog | None) -> tuple[int, int] | None:
    """Where ``article``'s text is in ``text_log`` (position, length), if it is there as it is."""
    span = article.__dict__.get("_texts")
    if span is None or text_log is None or span[0] is not text_log:
        return None
    return span[1], span[2]


class FileStore:
    """The last build's ``FileState`` of every content file, in ``folder`` (None: nowhere).

    ``scope`` names what the articles depend on besides the files (the site's timezone); the
    code's fingerprint is added, as for every cache.
    """

    def __init__(self, folder: Path | None, scope: str, *, keep_index: bool = True) -> None:
        self.folder = folder
        self.scope = f"{FORMAT}|{code_fingerprint()}|{scope}"
        # False (a one-shot build, which saves once): the index is let go once written; its
        # columns would be held through clustering (~50 MB at 100,000 files).
        self.keep_index = keep_index
        self.log: TextLog | None = None  # the log the index names, once loaded or written
        self._log_size = 0  # its length as the index says
        # The index as loaded or last written, the row of each file in it and its states: a
        # save after an edit changes a few rows of it, not all.
        self._index: dict[str, Any] | None = None
        self._rows: dict[str, int] = {}
        self._states: Mapping[str, FileState] = {}

    def load(self) -> dict[str, FileState]:
        """The states the index holds, by path relative to content/; empty when there is none
        or it is unusable (said in the log)."""
        if self.folder is None:
            return {}
        path = self.folder / INDEX_NAME
        try:
            index = orjson.loads(read_file(path))
            text_log = self._checked_log(index)
            states = _made_states(index, text_log)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("ignoring the file cache %s: %s", path, exc)
            return {}
        self.log, self._log_size = text_log, index["log_size"]
        self._keep(index, states)
        return states

    def _checked_log(self, index: Any) -> TextLog:
        """The log ``index`` names, once the index is found whole and of this scope."""
        if not isinstance(index, dict) or index.get("scope") != self.scope:
            raise ValueError("written for another version or setting")
        rows = _checked_columns(index)
        log_name, log_id, log_size = index["log"], index["log_id"], index["log_size"]
        if not isinstance(log_name, str) or not log_name.startswith("texts-") or "/" in log_name:
            raise ValueError("no log named")
        if not isinstance(log_id, str) or type(log_size) is not int:
            raise ValueError("no log named")
        if len(set(index["rel"])) != rows:
            raise ValueError("a file in two rows")
        assert self.folder is not None
        text_log = TextLog.open(self.folder / log_name, log_id, log_size)
        if text_log is None:
            raise ValueError(f"its log {log_name} is missing or not the one it names")
        text = index["text"]
        if any(at is not None and text[2 * row + 1] < 0 for row, at in enumerate(index["id"])):
            text_log.close()
            raise ValueError("an article without a text")
        spans = [*text, *index["body"]]
        for at, length in zip(spans[::2], spans[1::2], strict=True):
            if length >= 0 and (at < LOG_HEADER or at + length > log_size):
                text_log.close()
                raise ValueError("a text outside its log")
        return text_log

    def unchanged(self, files: Mapping[str, FileState]) -> bool:
        """Whether ``files`` are what the index holds (then there is nothing to save)."""
        states = self._states
        return len(files) == len(states) and all(
            states.get(rel) is state for rel, state in files.items()
        )

    def save(self, files: Mapping[str, FileState]) -> None:
        """Keep ``files`` for the next build: their new texts appended to the log (a new log
        when there is none, or when it is mostly texts no file uses any more), then the index.

        Failing to write is only logged: the store is an optimisation, never a reason to fail.
        """
        if self.folder is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            index = self._updated_index(files) if self.log is not None else None
            if index is None or self._log_size > 2 * _live_bytes(index) + COMPACT_SLACK:
                self._new_log(files.values())
                index = self._updated_index(files)
            assert self.log is not None
            index.update(log=self.log.path.name, log_id=self.log.id, log_size=self._log_size)
            with atomic_path(self.folder / INDEX_NAME) as tmp, open(tmp, "wb") as out:
                out.write(orjson.dumps(index))
            if self.keep_index:
                self._keep(index, files)
            else:
                self._index, self._rows, self._states = None, {}, dict(files)
            self._remove_other_logs()
        except (OSError, ValueError) as exc:
            log.warning("could not write the file cache in %s: %s", self.folder, exc)
            self._index, self._rows, self._states = None, {}, {}

    def _keep(self, index: dict[str, Any], states: Mapping[str, FileState]) -> None:
        self._index = index
        self._rows = {rel: row for row, rel in enumerate(index["rel"])}
        self._states = dict(states)  # a copy: the caller may change its mapping in place

    def _updated_index(self, files: Mapping[str, FileState]) -> dict[str, Any]:
        """The index of ``files``, their texts appended to the log where it lacks them: the
        last index with the rows that changed put again when the files are the same (the same
        paths, in the same order), else a new one."""
        assert self.log is not None
        index, rows = self._index, self._rows
        if (
            index is None
            or index["log_id"] != self.log.id
            or len(rows) != len(files)
            or any(rows.get(rel) != row for row, rel in enumerate(files))
        ):
            index = _empty_index(len(files), self.scope)
            changed = [(row, rel, state) for row, (rel, state) in enumerate(files.items())]
        else:
            states = self._states
            changed = [
                (rows[rel], rel, state)
                for rel, state in files.items()
                if states.get(rel) is not state
            ]
        text_log = self.log
        new = [
            s.article
            for _, _, s in changed
            if s.article is not None and _outside(s.article, text_log)
        ]
        if new:
            with open(text_log.path, "ab", buffering=0) as out:
                self._log_size = max(self._log_size, _write_texts(out, new, text_log))
        for row, rel, state in changed:
            _put_row(index, row, rel, state, text_log)
        return index

    def _new_log(self, states: Iterable[FileState]) -> None:
        """Write every text into a new log, named by a new id, and point the articles at it.

        Writing reads every text first: an article that pointed at the old log has its texts
        in memory before it points at the new one.
        """
        assert self.folder is not None
        log_id = os.urandom(8).hex()
        text_log = TextLog(self.folder / f"texts-{log_id}.bin", log_id)
        articles = [s.article for s in states if s.article is not None]
        with atomic_path(text_log.path) as tmp, open(tmp, "wb", buffering=0) as out:
            out.write(_header(log_id))
            end = _write_texts(out, articles, text_log)
        text_log.reopen()
        # The old log stays open while an article points at it: one a server still holds
        # from an earlier build (a page memo's) may read its texts yet. Its file is removed.
        self.log, self._log_size = text_log, end

    def _remove_other_logs(self) -> None:
        """Remove the logs the index does not name (a server reading one keeps its open file;
        a system that refuses to remove an open file has it removed another time)."""
        assert self.folder is not None and self.log is not None
        for path in self.folder.glob("texts-*.bin"):
            if path.name != self.log.path.name:
                with contextlib.suppress(OSError):
                    path.unlink()


def _header(log_id: str) -> bytes:
    return LOG_MAGIC + log_id.encode("ascii", "replace") + b"\n"


def _outside(article: Article, text_log: TextLog) -> bool:
    span = article.__dict__.get("_texts")
    return span is None or span[0] is not text_log


def _write_texts(out: Any, articles: list[Article], text_log: TextLog) -> int:
    """Write the articles' texts at the end of ``out`` (a file of ``text_log``), a chunk at a
    time, and point each article at its texts there. Returns the position after the last.

    Each chunk's place is read after writing it: another build appending to the same log at
    the same time (a server and ``digest build``) moves it, never splits it.
    """
    chunk: list[bytes] = []
    spans: list[tuple[Article, int, int, int]] = []  # article, text at, text and body lengths
    size = end = 0

    def flush() -> None:
        nonlocal chunk, spans, size, end
        out.write(b"".join(chunk))
        end = out.tell()
        base = end - size
        for article, at, text_length, body_length in spans:
            at += base
            article.__dict__["_texts"] = (text_log, at, text_length, at + text_length, body_length)
        chunk, spans, size = [], [], 0

    for article in articles:
        # The texts are read before the article points anywhere else: it keeps them.
        text = article.text.encode("utf-8", "surrogatepass")
        body = article.body
        encoded = None if body == article.text else body.encode("utf-8", "surrogatepass")
        spans.append((article, size, len(text), -1 if encoded is None else len(encoded)))
        chunk.append(text)
        size += len(text)
        if encoded is not None:
            chunk.append(encoded)
            size += len(encoded)
        if size >= WRITE_CHUNK:
            flush()
    flush()
    return end


def _live_bytes(index: dict[str, Any]) -> int:
    """The bytes of the log the rows of ``index`` use."""
    body = index["body"][1::2]
    return sum(index["text"][1::2]) + sum(body) + body.count(-1)


def _empty_index(rows: int, scope: str) -> dict[str, Any]:
    index: dict[str, Any] = {"scope": scope, "format": FORMAT, "rows": rows, "log_id": None}
    for name in _COLUMN_TYPES:
        index[name] = [None] * rows
    for name, width in _INT_COLUMNS.items():
        index[name] = [0] * (rows * width)
    return index


def _put_row(
    index: dict[str, Any], row: int, rel: str, state: FileState, text_log: TextLog
) -> None:
    """Put ``state`` of the file ``rel`` in ``row`` of ``index`` (its texts are in ``text_log``)."""
    index["rel"][row] = rel
    index["stat"][4 * row : 4 * row + 4] = state.stat
    index["hash"][row] = state.content_hash
    index["warnings"][row] = list(state.warnings)
    index["text_digest"][row] = state.text_digest
    article = state.article
    if article is None:
        for name in (*_PLAIN_FIELDS, "published", "tags"):
            index[name][row] = None
        index["text"][2 * row : 2 * row + 2] = index["body"][2 * row : 2 * row + 2] = (0, -1)
        return
    values = article.__dict__
    for name in _PLAIN_FIELDS:
        index[name][row] = values[name]
    when = values["published"]
    index["published"][row] = when.isoformat() if when is not None else None
    index["tags"][row] = list(values["tags"])
    span = values["_texts"]
    if span[0] is not text_log:
        raise ValueError("an article's text is not in the log")  # a bug: never seen
    index["text"][2 * row : 2 * row + 2] = span[1:3]
    index["body"][2 * row : 2 * row + 2] = span[3:5]


def _checked_columns(index: dict[str, Any]) -> int:
    """The number of rows, once every column has one value of its type per row."""
    rows = index["rows"]
    if type(rows) is not int:
        raise ValueError("no row count")
    for name, kinds in _COLUMN_TYPES.items():
        column = index[name]
        if not isinstance(column, list) or len(column) != rows:
            raise ValueError(f"column {name} has another length")
        if not set(map(type, column)) <= kinds:
            raise ValueError(f"column {name} holds another type")
    for name, width in _INT_COLUMNS.items():
        column = index[name]
        if not isinstance(column, list) or len(column) != rows * width:
            raise ValueError(f"column {name} has another length")
        if not set(map(type, column)) <= _INT:
            raise ValueError(f"column {name} holds another type")
    return rows


def _made_states(index: dict[str, Any], text_log: TextLog) -> dict[str, FileState]:
    """The states of the index's rows, each article reading its texts from ``text_log``."""
    stat, text, body = index["stat"], index["text"], index["body"]
    stats = zip(stat[::4], stat[1::4], stat[2::4], stat[3::4], strict=True)
    spans = [
        (text_log, *span) for span in zip(text[::2], text[1::2], body[::2], body[1::2], strict=True)
    ]
    from_iso = datetime.fromisoformat
    published = [from_iso(when) if when is not None else None for when in index["published"]]
    tags = [tuple(names) if names else () for names in index["tags"]]
    names = (*_PLAIN_FIELDS, "published", "tags", "_texts")
    values = zip(*(index[name] for name in _PLAIN_FIELDS), published, tags, spans, strict=True)
    new, make_state = object.__new__, tuple.__new__
    states: dict[str, FileState] = {}
    for rel, row_stat, content_hash, warnings, digest, row in zip(
        index["rel"],
        stats,
        index["hash"],
        index["warnings"],
        index["text_digest"],
        values,
        strict=True,
    ):
        article = None
        if row[0] is not None:  # an id: the file made an article
            # Made without the dataclass's ``__init__`` (which sets each field through
            # ``object.__setattr__``): a new process makes thousands of them.
            article = new(Article)
            article.__dict__.update(zip(names, row, strict=True))
        states[rel] = make_state(
            FileState, (row_stat, content_hash, article, tuple(warnings), digest)
        )
    return states
