"""What the last one-shot build left in the output folder: a fresh process renders what changed.

``digest serve`` keeps rendered pages in memory between builds (``render.PageMemo``); a new
``digest build`` process has no such memory, and rendering every page again was most of a
one-article edit's cost. So each one-shot build records, in ``.digest-cache/pages.json``, every
output file's stat signature and content hash, and for each rendered file (pages, feeds, the
sitemap, robots.txt, the data files) a fingerprint of what it was made from. The next build:

- trusts a recorded hash only for a file whose size, mtime, ctime and inode are still as recorded
  (anything else in the folder is read and hashed): the output writer starts from these hashes
  instead of reading the whole folder;
- skips rendering a page whose inputs have the recorded fingerprint and whose file is still as
  recorded: the writer keeps that file (``output.KeptFile``).

A fingerprint hashes the page's inputs (the same inputs ``PageMemo`` compares), salted with
digest's code, the config and the theme files: what every page is shaped by. A record from other
code, config or theme, or one that cannot be read, is ignored: then every page is rendered.
Each article and story is digested once, however many pages show it; an article as reading its
file made it, by the file's path and hash (``PageRecord.vouch``).

digest.json and search.json are kept whole the same way when no story in them changed; else
each unchanged story's bytes come from ``stories.bin`` (``EncodedStories``), by its digest.

The writer's scan of the output folder at ``load`` also stands for the folder after the write,
with only the files the writer touched (and their folders) stat'ed again (``OutputScan.after``).
The record keeps each folder's stat too: a folder still as recorded is not listed again
(``scan_output``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import operator
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from stat import S_ISDIR
from typing import Any

from digest.cache import read_file, read_json, write_json
from digest.model import Article, Story
from digest.output import hash_of_site_file

FORMAT = 1  # bump when the file's layout changes: an old record is then ignored

Stat = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
# What a page made from an article may show, as one flat tuple: every field but its texts
# (hashed apart: see ``PageRecord._digest_of``, which reads a story's fields itself).
_ARTICLE_FIELDS = operator.attrgetter(
    *(f.name for f in dataclasses.fields(Article) if f.name not in ("body", "text"))
)


FolderStat = tuple[int, int, int]  # a folder's mtime_ns, ctime_ns, inode


@dataclasses.dataclass
class OutputScan:
    """The output folder's files (relative path -> ``Stat``) and folders ("" for the output
    folder itself, else the relative path with a trailing "/" -> ``FolderStat``)."""

    files: dict[str, Stat]
    folders: dict[str, FolderStat]

    def after(self, touched: Iterable[str], output: Path) -> OutputScan:
        """The scan of a folder that held this and then had only ``touched`` files replaced or
        removed: those and the folders above them are stat'ed again, not the whole folder.
        (Replacing a file by a rename, or removing one, changes its folder's mtime.)"""
        files, folders = dict(self.files), dict(self.folders)
        above: set[str] = set()
        for rel in touched:
            files.pop(rel, None)
            with contextlib.suppress(OSError):
                files[rel] = _stat_of(os.stat(output / rel, follow_symlinks=False))
            cut = rel.rfind("/")
            while cut >= 0:
                above.add(rel[: cut + 1])
                cut = rel.rfind("/", 0, cut)
            above.add("")
        for folder in sorted(above, key=len, reverse=True):
            try:
                folders[folder] = _folder_stat_of(os.stat(output / folder, follow_symlinks=False))
            except OSError:  # pruned once empty
                folders.pop(folder, None)
        return OutputScan(files, folders)


def scan_output(output: Path, last: OutputScan | None = None) -> OutputScan:
    """Every file and folder of the output folder (symlinks not followed).

    A folder whose mtime, ctime and inode are as in ``last`` has the entries ``last`` names:
    adding, removing or renaming an entry changes them. Its files are stat'ed without listing
    it: at 6,000 articles the site has ~4,600 folders, and listing each was most of the scan
    (~80 ms warm, ~300 ms after other big builds had the file system's caches).
    """
    known = _entries_by_folder(last) if last is not None else {}
    files: dict[str, Stat] = {}
    folders: dict[str, FolderStat] = {}
    root = str(output)
    pending = [""]
    while pending:
        prefix = pending.pop()
        path = f"{root}/{prefix}" if prefix else root
        try:
            st = os.stat(path, follow_symlinks=False)
        except OSError:
            continue
        if not S_ISDIR(st.st_mode):
            if prefix:  # was a folder: now a file (or a link) in its place
                files[prefix[:-1]] = _stat_of(st)
            continue
        here = _folder_stat_of(st)
        folders[prefix] = here
        entries = known.get(prefix)
        if last is not None and entries is not None and last.folders.get(prefix) == here:
            names, subfolders = entries
            pending.extend(subfolders)
            for name in names:
                with contextlib.suppress(OSError):
                    files[name] = _stat_of(os.stat(f"{root}/{name}", follow_symlinks=False))
            continue
        try:
            listed = list(os.scandir(path))
        except OSError:
            continue
        for entry in listed:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                pending.append(rel + "/")
            else:
                with contextlib.suppress(OSError):
                    files[rel] = _stat_of(entry.stat(follow_symlinks=False))
    return OutputScan(files, folders)


def _entries_by_folder(scan: OutputScan) -> dict[str, tuple[list[str], list[str]]]:
    """Per folder of ``scan``: its files and its subfolders (relative paths)."""
    entries: dict[str, tuple[list[str], list[str]]] = {f: ([], []) for f in scan.folders}
    unlisted: set[str] = set()
    for rel in scan.files:
        folder = rel[: rel.rfind("/") + 1]
        parent = entries.get(folder)
        if parent is not None:
            parent[0].append(rel)
        else:
            unlisted.add(folder)
    # A folder a record leaves out (changed in the clock tick the record was saved in) may be
    # under one it keeps, unchanged since: a later scan must still go down to it and list it.
    subfolders = dict.fromkeys(scan.folders)
    for folder in sorted(unlisted):
        while folder and folder not in subfolders:
            subfolders[folder] = None
            folder = folder[: folder.rfind("/", 0, -1) + 1]
    for folder in subfolders:
        if folder:
            parent = entries.get(folder[: folder.rfind("/", 0, -1) + 1])
            if parent is not None:
                parent[1].append(folder)
    return entries


def _stat_of(st: os.stat_result) -> Stat:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _folder_stat_of(st: os.stat_result) -> FolderStat:
    return st.st_mtime_ns, st.st_ctime_ns, st.st_ino


class PageRecord:
    """The previous build's pages, checked against the output folder, and this build's fingerprints.

    ``hashes`` is what the output folder holds now (path -> content hash), for the writer.
    """

    def __init__(
        self,
        salt: str,
        hashes: dict[str, str],
        pages: Mapping[str, str],
        stories: EncodedStories | None = None,
        scan: OutputScan | None = None,
    ) -> None:
        self.salt = salt
        self.hashes = hashes
        self._previous = pages  # path -> fingerprint, for files still as recorded
        self.fingerprints: dict[str, str] = {}  # this build's pages: path -> fingerprint
        self.reused = 0  # pages kept without rendering
        self.stories = stories if stories is not None else EncodedStories({})
        self.scan = scan if scan is not None else OutputScan({}, {})  # as ``load`` found it
        self._digests: dict[int, tuple[object, bytes]] = {}  # id(article or story) -> digest
        self._text_parts: dict[str, bytes] = {}  # a string input -> its part

    def vouch(self, articles: Iterable[tuple[Article, str]]) -> None:
        """Take each article's digest from its file's key: (article, key) pairs of articles as
        reading the file made them (the very objects), whose fields are then a function of the
        key (the file's path and hash), the code and the config, which the salt names. Hashing
        ~40 MB of texts was most of a one-article edit's fingerprints."""
        for article, key in articles:
            digest = hashlib.sha256(b"file\0" + key.encode("utf-8", "surrogatepass")).digest()
            self._digests[id(article)] = (article, digest[:16])

    def kept(self, output: str, inputs: tuple[Any, ...]) -> str | None:
        """The content hash of ``output`` when it may be kept as it is, else None (render it)."""
        fingerprint = self.fingerprint(inputs)
        self.fingerprints[output] = fingerprint
        kept = self.hashes.get(output) if self._previous.get(output) == fingerprint else None
        self.reused += kept is not None
        return kept

    def fingerprint(self, inputs: tuple[Any, ...]) -> str:
        h = self._salted.copy()
        h.update(self._part(inputs))
        return h.hexdigest()

    @functools.cached_property
    def _salted(self) -> Any:
        """The hash every fingerprint starts from, fed the salt once (thousands of pages)."""
        return hashlib.blake2b(self.salt.encode(), digest_size=16)

    def encoded(self, file: str, story: Story, encode: Callable[[], bytes]) -> bytes | memoryview:
        """The bytes of ``story`` in ``file`` (digest.json, search.json): as the last build
        encoded them when the story is the same, else ``encode()``'s."""
        return self.stories.get(self._story_key(file, story), encode)

    def keep_encoded(self, file: str, stories: Iterable[Story]) -> None:
        """Keep what the last build encoded of ``stories`` in ``file``, which is kept whole."""
        self.stories.keep(self._story_key(file, story) for story in stories)

    def _story_key(self, file: str, story: Story) -> str:
        return f"{file}:{self._digest_of(story).hex()}"

    def _part(self, value: Any) -> bytes:
        """A digest of ``value`` that equal values share; unambiguous: each part says its kind
        and, where its length varies, its length."""
        kind = type(value)
        if kind is Article or kind is Story:
            return b"D" + self._digest_of(value)  # a fixed 16 bytes
        if kind is tuple or kind is list:
            # The kinds a page's inputs hold told apart here, not in a call per item: thousands
            # of pages, a few items each.
            parts = []
            for item in value:
                kind = type(item)
                if kind is Article or kind is Story:
                    parts.append(b"D" + self._digest_of(item))
                elif kind is str:
                    parts.append(self._text_part(item))
                else:
                    parts.append(self._part(item))
            return b"(%d:" % len(parts) + b"".join(parts) + b")"
        if kind is str:
            return self._text_part(value)
        return _repr_part(value)

    def _text_part(self, value: str) -> bytes:
        """``_part`` of a string: the site's shape, the same for every page, encoded once."""
        part = self._text_parts.get(value)
        if part is None:
            part = self._text_parts[value] = _repr_part(value)
        return part

    def _digest_of(self, value: Article | Story) -> bytes:
        """The digest of an article's or story's fields, made once per object (however many
        pages show it): a page's fingerprint is then a hash of a few short digests."""
        known = self._digests.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        if isinstance(value, Story):
            # The summary as (text, article) pairs: a flat repr of strings is one C call, a
            # SummarySentence's repr is a call per sentence. The articles by their own digests:
            summary = tuple((s.text, s.article) for s in value.summary)
            h = _hash_of_fields((value.id, value.title, summary, value.day))
            h.update(b"".join(map(self._digest_of, value.articles)))
        else:
            h = _hash_of_fields(_ARTICLE_FIELDS(value))
            # The texts are most of the bytes: hashed as they are, not repr'd, and once when
            # the body is the text (plain-text articles).
            texts = (value.text,) if value.body == value.text else (value.body, value.text)
            h.update(b"%d texts" % len(texts))
            for text in texts:
                data = text.encode("utf-8", "surrogatepass")
                h.update(b"%d:" % len(data))
                h.update(data)
        digest = h.digest()[:16]
        self._digests[id(value)] = (value, digest)  # holds the value: its id stays its own
        return digest


def _repr_part(value: Any) -> bytes:
    data = repr(value).encode("utf-8", "surrogatepass")
    return b"R%d:" % len(data) + data


def _hash_of_fields(fields: tuple[Any, ...]) -> Any:
    """A hash started with ``fields``: repr of a flat tuple is one C call, and its quoting keeps
    text boundaries from shifting. SHA-256: the fastest strong hash here (CPU instructions)."""
    return hashlib.sha256(repr(fields).encode("utf-8", "surrogatepass"))


class EncodedStories:
    """Each story's bytes in digest.json and search.json as the last build encoded them.

    Keyed by the file and the story's digest, and kept for one salt: an unchanged story is
    neither viewed nor encoded again (a one-article edit re-encoded 1,500 stories, 0.3 s).
    Stored in two files beside the page record: the bytes end to end, and an index naming each
    story's key and length with the salt, the size and the SHA-256 of the bytes.
    """

    def __init__(self, previous: Mapping[str, bytes | memoryview]) -> None:
        self._previous = previous
        self._current: dict[str, bytes | memoryview] = {}  # what this build used, in order
        self.encoded = 0  # stories encoded anew

    def get(self, key: str, encode: Callable[[], bytes]) -> bytes | memoryview:
        data = self._current.get(key)
        if data is None:
            data = self._previous.get(key)
            if data is None:
                data = encode()
                self.encoded += 1
            self._current[key] = data
        return data

    def keep(self, keys: Iterable[str]) -> None:
        """Carry these keys' bytes to the next build without using them in this one."""
        for key in keys:
            data = self._previous.get(key)
            if data is not None:
                self._current.setdefault(key, data)

    def save(self, index: Path, salt: str) -> None:
        """Store what this build used, unless it is what was stored already."""
        if not self.encoded and self._current.keys() == self._previous.keys():
            return
        data = b"".join(self._current.values())
        keys = [[key, len(part)] for key, part in self._current.items()]
        head = {"salt": salt, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        index.parent.mkdir(parents=True, exist_ok=True)
        _replace(_data_path(index), data)  # the bytes first: the index names their hash
        write_json(index, {**head, "keys": keys})

    @classmethod
    def load(cls, index: Path, salt: str) -> EncodedStories:
        """What ``save`` stored for ``salt``; nothing when it is missing, damaged or other."""
        try:
            head = read_json(index)
            if not isinstance(head, dict) or head.get("salt") != salt:
                return cls({})
            data = read_file(_data_path(index))
            if len(data) != head["size"] or hashlib.sha256(data).hexdigest() != head["sha256"]:
                return cls({})
            return cls(_split(memoryview(data), head["keys"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls({})


def _split(data: memoryview, keys: Any) -> dict[str, memoryview]:
    """``data`` cut into the parts ``keys`` names, [[key, length], ...], which must fill it."""
    parts: dict[str, memoryview] = {}
    start = 0
    for key, length in keys:
        if not isinstance(key, str) or not isinstance(length, int) or length < 0:
            raise ValueError("not an index of encoded stories")
        parts[key] = data[start : start + length]
        start += length
    if start != len(data):
        raise ValueError("the index does not match the bytes")
    return parts


def _data_path(index: Path) -> Path:
    return index.with_suffix(".bin")


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def salt_of(*parts: str) -> str:
    return hashlib.sha256("\0".join((str(FORMAT), *parts)).encode()).hexdigest()[:32]


def load(path: Path, salt: str, output: Path) -> PageRecord:
    """The record at ``path`` checked against ``output``; files it does not vouch for are hashed.

    Without a usable record (none, damaged, another salt), every file is read and hashed and no
    page is kept: the build is as if there were no record.
    """
    recorded: dict[str, Any] = {}
    last = None
    try:
        data = read_json(path)
        if isinstance(data, dict) and data.get("salt") == salt:
            files = data.get("files")
            recorded = files if isinstance(files, dict) else {}
            last = recorded_scan(recorded, data.get("folders"))
    except (OSError, ValueError):
        pass
    hashes: dict[str, str] = {}
    pages: dict[str, str] = {}
    scan = scan_output(output, last)
    for rel, stat in scan.files.items():
        entry = recorded.get(rel)
        if _vouches(entry, stat):
            hashes[rel] = entry[4]
            if entry[5]:
                pages[rel] = entry[5]
            continue
        digest = hash_of_site_file(output / rel)  # as the writer reads a folder it can't trust
        if digest is not None:
            hashes[rel] = digest
    return PageRecord(salt, hashes, pages, EncodedStories.load(stories_path(path), salt), scan)


def recorded_scan(files: Mapping[str, Any], folders: Any) -> OutputScan | None:
    """The scan a record of ``files`` (paths; their values are not read) and ``folders`` (as
    ``save`` wrote them) stands for; None when ``folders`` is not such a record."""
    if not isinstance(folders, dict):
        return None
    stats: dict[str, FolderStat] = {}
    for folder, value in folders.items():
        if not (isinstance(value, list) and len(value) == 3 and all(type(v) is int for v in value)):
            return None
        stats[folder] = (value[0], value[1], value[2])
    return OutputScan(dict.fromkeys(files, (0, 0, 0, 0)), stats)


def stories_path(path: Path) -> Path:
    """Where the encoded stories of the page record at ``path`` are indexed."""
    return path.with_name("stories.json")


def _vouches(entry: Any, stat: Stat) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 6
        and entry[:4] == list(stat)
        and isinstance(entry[4], str)
        and isinstance(entry[5], str)
    )


def save(
    path: Path,
    salt: str,
    scan: OutputScan,
    hashes: Mapping[str, str],
    fingerprints: Mapping[str, str],
    settled: Mapping[str, list[int]],
) -> None:
    """Record the output folder as a build left it: ``hashes`` are the files it wrote or kept,
    ``settled`` the folders of ``scan`` a next scan may trust (``settled_folders``).

    A folder holding a file the record leaves out is not recorded: the next scan lists it.
    """
    files = {
        rel: [*scan.files[rel], digest, fingerprints.get(rel, "")]
        for rel, digest in sorted(hashes.items())
        if rel in scan.files
    }
    unrecorded = {rel[: rel.rfind("/") + 1] for rel in scan.files if rel not in files}
    folders = {folder: st for folder, st in settled.items() if folder not in unrecorded}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"salt": salt, "files": files, "folders": folders})


def settled_folders(scan: OutputScan, probe_dir: Path) -> dict[str, list[int]]:
    """The folders of ``scan`` a later scan may trust without listing, as ``save`` records them.

    A folder changed in the file system's current clock tick is left out: a change later in
    the same tick would leave its mtime and ctime as they are (the "racy" entries of git's
    index). The tick is read off a file made in ``probe_dir``, on the same clock.
    """
    fd, probe = tempfile.mkstemp(dir=probe_dir, prefix=".clock-")
    try:
        now = os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)
        os.unlink(probe)
    return {
        folder: list(st)
        for folder, st in sorted(scan.folders.items())
        if st[0] < now and st[1] < now
    }
