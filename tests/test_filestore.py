"""The file store: the last build's files, their articles' texts read only when asked for."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.filestore import FileState, FileStore, TextLog, text_span
from digest.model import Article

SCOPE = "tz=UTC"


def article(n: int, text: str = "", *, markdown: bool = False) -> Article:
    text = text or f"Text of article {n}, with a line.\nAnd a second line: caf\u00e9 \U0001f600."
    return Article(
        id=f"a{n}",
        path=f"a{n}.{'md' if markdown else 'txt'}",
        format="markdown" if markdown else "text",
        title=f"Title {n}",
        title_given=markdown,
        body=f"**{text}**" if markdown else text,
        text=text,
        source="Wire" if n % 2 else None,
        url=f"https://example.com/{n}" if n % 3 else None,
        published=datetime(2025, 7, 1 + n % 20, 8, n % 60, tzinfo=UTC) if n % 4 else None,
        story="pinned" if n == 5 else None,
        lang="en",
        tags=("a", "b") if n % 2 else (),
        content_hash=f"hash{n}",
    )


def state(n: int, text: str = "", *, markdown: bool = False) -> FileState:
    return FileState(
        (n, 100 + n, 7, 1000 + n), f"file{n}", article(n, text, markdown=markdown), (), f"d{n}"
    )


def files(count: int = 6) -> dict[str, FileState]:
    made = {f"a{n}.txt": state(n, markdown=n % 3 == 0) for n in range(count)}
    made["empty.txt"] = FileState((9, 0, 9, 9), "e", None, ("empty.txt: no text",), "")
    return made


def fields(a: Article) -> tuple[object, ...]:
    return tuple(getattr(a, name) for name in a.__dataclass_fields__)


def assert_same(loaded: dict[str, FileState], expected: dict[str, FileState]) -> None:
    assert list(loaded) == list(expected)
    for rel, want in expected.items():
        got = loaded[rel]
        assert got[:2] == want[:2] and got[3:] == want[3:], rel
        if want.article is None:
            assert got.article is None
        else:
            assert got.article is not None and fields(got.article) == fields(want.article), rel


def test_the_files_come_back_with_their_texts_read_only_when_asked_for(tmp_path: Path) -> None:
    kept = files()
    FileStore(tmp_path, SCOPE).save(kept)
    loaded = FileStore(tmp_path, SCOPE).load()
    some = loaded["a1.txt"].article
    assert some is not None and "text" not in some.__dict__ and "body" not in some.__dict__
    assert some.text == kept["a1.txt"].article.text  # type: ignore[union-attr]
    assert some.body is some.text, "a plain-text article's body is its text, stored once"
    markdown = loaded["a3.txt"].article
    assert markdown is not None and markdown.body.startswith("**")
    assert_same(loaded, kept)


def test_an_article_pickles_with_its_texts_not_with_the_log(tmp_path: Path) -> None:
    FileStore(tmp_path, SCOPE).save(files())
    lazy = FileStore(tmp_path, SCOPE).load()["a3.txt"].article
    assert lazy is not None and "text" not in lazy.__dict__
    copy = pickle.loads(pickle.dumps(lazy))
    assert "_texts" not in copy.__dict__ and copy == lazy and copy.body.startswith("**")
    with pytest.raises(AttributeError):
        lazy.no_such_field  # noqa: B018  (other names are no texts)


def test_an_edit_appends_its_text_and_rewrites_only_the_index(tmp_path: Path) -> None:
    store = FileStore(tmp_path, SCOPE)
    store.save(files())
    (log_file,) = tmp_path.glob("texts-*.bin")
    size = log_file.stat().st_size
    again = FileStore(tmp_path, SCOPE)
    loaded = again.load()
    assert again.unchanged(loaded)
    edited = dict(loaded)
    edited["a2.txt"] = state(2, "An edited text.")
    assert not again.unchanged(edited)
    again.save(edited)
    assert list(tmp_path.glob("texts-*.bin")) == [log_file]
    assert log_file.stat().st_size == size + len(b"An edited text.")
    assert_same(FileStore(tmp_path, SCOPE).load(), edited)
    edited.pop("a4.txt")  # a file removed, one added: rows move
    edited["new.txt"] = state(40, "A new file.")
    again.save(edited)
    assert_same(FileStore(tmp_path, SCOPE).load(), edited)


def test_a_store_that_lets_go_of_its_index_saves_the_same(tmp_path: Path) -> None:
    once = FileStore(tmp_path / "once", SCOPE, keep_index=False)
    kept = FileStore(tmp_path / "kept", SCOPE)
    for store in (once, kept):
        store.save(files())
        edited = dict(files())
        edited["a2.txt"] = state(2, "An edited text.")
        store.save(edited)
    assert once._index is None and kept._index is not None
    assert_same(FileStore(tmp_path / "once", SCOPE).load(), edited)
    assert_same(FileStore(tmp_path / "kept", SCOPE).load(), edited)


def test_a_log_mostly_of_old_texts_is_compacted(tmp_path: Path) -> None:
    store = FileStore(tmp_path, SCOPE)
    kept = files()
    store.save(kept)
    first = store.log
    assert first is not None
    for round_ in range(60):  # each edit leaves ~20 KB no row uses
        kept = dict(kept)
        kept["a1.txt"] = state(1, f"Round {round_}. " + "x" * 20_000)
        store.save(kept)
    assert store.log is not first, "a new log"
    assert [p.name for p in tmp_path.glob("texts-*.bin")] == [store.log.path.name]
    assert (tmp_path / store.log.path.name).stat().st_size < 600_000, "half of 1.2 MB appended"
    assert_same(FileStore(tmp_path, SCOPE).load(), kept)


def test_bytes_a_build_appended_before_dying_are_never_read(tmp_path: Path) -> None:
    FileStore(tmp_path, SCOPE).save(files())
    (log_file,) = tmp_path.glob("texts-*.bin")
    with open(log_file, "ab") as out:
        out.write(b"half of a text a build wrote before it was killed")
    assert_same(FileStore(tmp_path, SCOPE).load(), files())


def damage_index(folder: Path, change: str) -> None:
    path = folder / "index.json"
    index = json.loads(path.read_text())
    if change == "garbage":
        path.write_bytes(b"\x00{garbage")
        return
    if change == "scope":
        index["scope"] = "1|another version|tz=UTC"
    elif change == "length":
        index["title"].pop()
    elif change == "type":
        index["title"][0] = 7
    elif change == "span":
        index["text"][1] = 10**9
    elif change == "no text":
        index["text"][1] = -1
    elif change == "log name":
        index["log"] = "../../content/a.txt"
    path.write_text(json.dumps(index))


@pytest.mark.parametrize(
    "change", ["garbage", "scope", "length", "type", "span", "no text", "log name"]
)
def test_a_damaged_or_foreign_index_is_ignored(tmp_path: Path, change: str) -> None:
    FileStore(tmp_path, SCOPE).save(files())
    damage_index(tmp_path, change)
    assert FileStore(tmp_path, SCOPE).load() == {}


@pytest.mark.parametrize("change", ["missing", "another", "shorter"])
def test_an_index_whose_log_is_not_the_one_it_names_is_ignored(tmp_path: Path, change: str) -> None:
    FileStore(tmp_path, SCOPE).save(files())
    (log_file,) = tmp_path.glob("texts-*.bin")
    data = log_file.read_bytes()
    if change == "missing":
        log_file.unlink()
    elif change == "another":
        log_file.write_bytes(data.replace(data[13:29], b"0" * 16, 1))  # another log's id
    else:
        log_file.write_bytes(data[:-5])
    assert FileStore(tmp_path, SCOPE).load() == {}
    assert FileStore(tmp_path, "tz=Europe/Berlin").load() == {}


def test_a_store_without_a_folder_keeps_nothing(tmp_path: Path) -> None:
    store = FileStore(None, SCOPE)
    store.save(files())
    assert store.load() == {} and not list(tmp_path.iterdir())


def test_a_worker_reads_a_text_where_the_store_says_it_is(tmp_path: Path) -> None:
    store = FileStore(tmp_path, SCOPE)
    store.save(files())
    loaded = FileStore(tmp_path, SCOPE)
    lazy = loaded.load()["a2.txt"].article
    assert lazy is not None
    span = text_span(lazy, loaded.log)
    assert span is not None and text_span(lazy, store.log) is None, "another open log"
    assert text_span(article(2), loaded.log) is None, "an article the store did not make"
    assert loaded.log is not None
    other_process = TextLog.open(loaded.log.path, loaded.log.id, 0)
    assert other_process is not None and other_process.read(*span) == lazy.text
    assert TextLog.open(loaded.log.path, "0" * 16, 0) is None


def test_an_article_left_on_a_replaced_log_still_reads_its_texts(tmp_path: Path) -> None:
    FileStore(tmp_path, SCOPE).save(files())
    store = FileStore(tmp_path, SCOPE)
    loaded = store.load()
    first = store.log
    held = loaded["a4.txt"].article  # as a server's page memo holds an article of a past build
    assert held is not None and "text" not in held.__dict__
    kept = dict(loaded)
    del kept["a4.txt"]  # its file removed: no save moves its texts
    for round_ in range(100):
        kept["a1.txt"] = state(1, f"Round {round_}. " + "x" * 20_000)
        store.save(kept)
        if store.log is not first:
            break
    assert store.log is not first, "compacted: a new log (the same dict changed in place)"
    store.save(kept)  # the old log's file removed
    assert [p.name for p in tmp_path.glob("texts-*.bin")] == [store.log.path.name]
    assert held.text == files()["a4.txt"].article.text  # type: ignore[union-attr]
