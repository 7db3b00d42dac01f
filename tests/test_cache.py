"""The persistent cache: survives restarts, ignores what it cannot trust, rewrites only changes."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from digest.build import Builder, BuildOptions
from digest.cache import ArrayCache, JsonCache, article_from_json, article_to_json
from digest.model import Article


def test_entries_survive_a_new_process(tmp_path: Path) -> None:
    cache = JsonCache(tmp_path, "tz=UTC")
    cache.put("a", {"x": 1})
    cache.finish()
    assert JsonCache(tmp_path, "tz=UTC").get("a") == {"x": 1}


def test_another_scope_or_garbage_is_ignored(tmp_path: Path) -> None:
    cache = JsonCache(tmp_path, "tz=UTC")
    cache.put("a", {"x": 1})
    cache.finish()
    assert JsonCache(tmp_path, "tz=Europe/Berlin").get("a") is None
    for shard in tmp_path.glob("*.json"):
        shard.write_bytes(b"\x00{not json")
    assert JsonCache(tmp_path, "tz=UTC").get("a") is None


def test_unused_entries_are_dropped_and_untouched_shards_not_rewritten(tmp_path: Path) -> None:
    cache = JsonCache(tmp_path, "s")
    for i in range(200):
        cache.put(f"k{i}", i)
    cache.finish()
    mtimes = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")}
    for i in range(199):  # k199 is not used by this build
        assert cache.get(f"k{i}") == i
    cache.finish()
    rewritten = [p.name for p in tmp_path.glob("*.json") if p.stat().st_mtime_ns != mtimes[p.name]]
    assert len(rewritten) == 1, "only the shard that lost k199"
    fresh = JsonCache(tmp_path, "s")
    assert fresh.get("k199") is None and fresh.get("k0") == 0


def test_a_one_shot_builder_built_twice_keeps_every_file_in_the_cache(tmp_path: Path) -> None:
    content = tmp_path / "content"
    content.mkdir()
    for n in range(64):  # more files than shards: the edited file's shard holds others too
        (content / f"a{n}.md").write_text(
            f"---\ntitle: Story {n}\ndate: 2025-03-{n % 28 + 1:02d}\n---\nText number {n}.\n",
            encoding="utf-8",
        )
    options = BuildOptions(content_dir=content, output_dir=tmp_path / "site", site_dir=tmp_path)
    builder = Builder(options, workers=1)
    assert builder.build().files_read == 64
    (content / "a3.md").write_text(
        "---\ntitle: Story 3\ndate: 2025-03-04\n---\nText three, edited.\n", encoding="utf-8"
    )
    assert builder.build().files_read == 1
    (tmp_path / ".digest-cache" / "manifest.json").unlink()
    (content / "a5.md").touch()  # a new process must not take the shortcut: it reads the cache
    assert Builder(options, workers=1).build().files_read == 0


def test_article_round_trip() -> None:
    article = Article(
        id="a-1",
        path="x/a.md",
        format="markdown",
        title="T",
        title_given=True,
        body="**b**",
        text="b",
        source="ANI",
        url="https://example.org/a",
        published=datetime(2025, 7, 3, 15, 27, tzinfo=UTC),
        story="pin",
        lang="en",
        tags=("a", "b"),
        content_hash="abc",
    )
    assert article_from_json(article_to_json(article)) == article
    assert article_from_json(article_to_json(article.replace(body="b"))).body == "b"
    for damaged in ({**article_to_json(article), "extra": 1}, {"id": "a"}):
        with pytest.raises(ValueError):  # read as a cache miss
            article_from_json(damaged)


def test_arrays_round_trip_without_pickle_and_damage_is_a_miss(tmp_path: Path) -> None:
    ids = np.array([3, 1 << 63, 7], dtype=np.uint64)
    cache = ArrayCache(tmp_path, "features", 2)
    cache.put("a", (ids, np.array([True, False, True])))
    cache.put("empty", (ids[:0], np.zeros(0, dtype=bool)))
    cache.finish()
    loaded = ArrayCache(tmp_path, "features", 2).get("a")
    assert loaded is not None
    assert loaded[0].dtype == np.uint64 and loaded[0].tolist() == ids.tolist()
    assert loaded[1].tolist() == [True, False, True]
    assert ArrayCache(tmp_path, "other", 2).get("a") is None
    for shard in tmp_path.glob("*.npz"):
        shard.write_bytes(b"PK\x03\x04 not really a zip")
    assert ArrayCache(tmp_path, "features", 2).get("a") is None


def test_a_new_process_reads_only_the_files_whose_stat_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest import build as build_module
    from tests.test_build import append_line, cached_site, spy

    options = cached_site(tmp_path, 12)
    calls = spy(monkeypatch, build_module, "_file_hash")
    hashed = lambda: sorted(Path(path).name for (path,) in calls)  # noqa: E731
    edited = tmp_path / "content" / "a004.md"
    append_line(edited, "A relief fund opened on Tuesday.")
    touched = tmp_path / "content" / "a005.md"
    touched.write_bytes(touched.read_bytes())  # same bytes, new mtime: read, found unchanged
    report = Builder(options, workers=1).build()
    assert hashed() == ["a004.md", "a005.md"]
    assert report.files_read == 1
    calls.clear()
    (tmp_path / ".digest-cache" / "manifest.json").unlink()
    Builder(options, workers=1).build()
    assert hashed() == []  # both recorded again with their new stat


def test_shards_of_another_scope_are_written_again_not_read_at_every_build(
    tmp_path: Path,
) -> None:
    old = JsonCache(tmp_path, "old scope")
    for n in range(100):
        old.put(f"key{n}", n)
    old.finish()
    cache = JsonCache(tmp_path, "new scope")  # newer code: every shard foreign
    assert cache.get("key1") is None
    cache.put("key1", "new")
    cache.finish()
    for shard in sorted(tmp_path.glob("*.json")):
        assert json.loads(shard.read_text())["scope"] == cache.scope, shard.name
    other = tmp_path / f"{(cache._shard_of('key1') + 1) % JsonCache.SHARDS:02d}.json"
    other.write_text("damaged")
    damaged = JsonCache(tmp_path, "new scope")
    assert damaged.get("key1") == "new"
    damaged.finish()  # nothing changed, but the damaged shard is written again
    assert json.loads(other.read_text())["scope"] == cache.scope


def test_installed_versions_are_those_importlib_metadata_reports() -> None:
    from importlib import metadata

    from digest.cache import installed_versions

    names = ["sumy", "Jinja2", "markdown_it_py", "PyYAML", "numpy", "orjson", "no-such-dist"]
    expected = []
    for name in names:
        try:
            expected.append(metadata.version(name))
        except metadata.PackageNotFoundError:
            expected.append(None)
    assert installed_versions(names) == expected
    assert expected[-1] is None and all(expected[:-1])


def test_finish_rewrites_only_the_changed_shards_with_every_entry_used(tmp_path: Path) -> None:
    first = JsonCache(tmp_path, "scope")
    for n in range(200):
        first.put(f"key{n}", n)
    first.finish()
    cache = JsonCache(tmp_path, "scope")
    for build in range(2):  # a fresh cache, then the same one again
        before = {p.name: p.stat().st_ino for p in tmp_path.iterdir()}  # a rewrite: a new file
        for n in range(200):
            if n != 5:  # key5 is not used: dropped
                assert cache.get(f"key{n}") is not None
        cache.put("key7", "changed")
        cache.put(f"new{build}", "added")
        cache.finish()
        after = {p.name: p.stat().st_ino for p in tmp_path.iterdir()}
        dropped = "key5" if build == 0 else "new0"  # the entry the build before added
        dirty = {cache._shard_of(k) for k in (dropped, "key7", f"new{build}")}
        assert {name for name in after if after[name] != before.get(name)} == {
            f"{shard:02d}.json" for shard in dirty
        }
        reread = JsonCache(tmp_path, "scope")
        expected = {f"key{n}": n for n in range(200) if n != 5} | {"key7": "changed"}
        expected[f"new{build}"] = "added"
        assert {k: reread.get(k) for k in expected} == expected
        assert reread.get(dropped) is None


def test_installed_versions_follow_the_path_order_and_ask_about_develop_installs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.cache import installed_versions

    first, second = tmp_path / "first", tmp_path / "second"
    (first / "Some_Dist-2.0.dist-info").mkdir(parents=True)
    (first / "old_egg-1.5-py3.11.egg-info").mkdir()
    (second / "some.dist-3.0.dist-info").mkdir(parents=True)
    (second / "old_egg-9.9.dist-info").mkdir()
    (second / "develop.egg-info").mkdir()  # no version in the name: importlib.metadata is asked
    (second / "develop.egg-info" / "PKG-INFO").write_text("Name: develop\nVersion: 4.2\n")
    monkeypatch.setattr(sys, "path", [str(first), str(second), *sys.path])
    assert installed_versions(["some-dist", "old-egg", "develop"]) == ["2.0", "1.5", "4.2"]


@pytest.mark.parametrize("size", [0, 1, 4096, 3_000_001])
def test_read_file_reads_every_byte(tmp_path: Path, size: int) -> None:
    from digest.cache import read_file

    path = tmp_path / "f.bin"
    data = bytes(i % 251 for i in range(size))
    path.write_bytes(data)
    assert read_file(path) == data
    assert read_file(str(path)) == data
    with pytest.raises(FileNotFoundError):
        read_file(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        read_file(tmp_path)
