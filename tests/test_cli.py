"""End-to-end through the command line: `python -m digest build` on real folders."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CONTENT
from tests.conftest import run_digest as run

FURNITURE = ("...", "…", "Kenya Star", "pic.twitter", "t.co/", "@ulgenfatma74", "GMT+10")


@pytest.fixture
def sample_site(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE_CONTENT, tmp_path / "content")
    return tmp_path


def tree_state(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file's content hash and mtime: what must not change."""
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_help_explains_every_flag(tmp_path: Path) -> None:
    out = run("build", "--help", cwd=tmp_path).stdout
    for flag in (
        "--config",
        "--content",
        "--output",
        "--base-url",
        "--strict",
        "--no-cache",
        "-q",
        "-v",
    ):
        assert flag in out
    top = run("--help", cwd=tmp_path).stdout
    for command in ("build", "serve", "init"):
        assert command in top


def test_sample_site_builds_into_one_story(sample_site: Path) -> None:
    before = tree_state(sample_site / "content")
    result = run("build", cwd=sample_site)
    assert result.returncode == 0, result.stderr
    site = sample_site / "site"
    for name in (
        "index.html",
        "2025/07/03/index.html",
        "archive/index.html",
        "feed.xml",
        "feed.json",
        "sitemap.xml",
        "404.html",
        ".nojekyll",
        "digest.json",
    ):
        assert (site / name).is_file(), name
    digest = json.loads((site / "digest.json").read_text(encoding="utf-8"))
    assert len(digest["stories"]) == 1
    story = digest["stories"][0]
    assert story["date"] == "2025-07-03"
    assert sorted(a["path"] for a in story["articles"]) == sorted(
        p.name for p in SAMPLE_CONTENT.glob("*.txt")
    )
    words = [w for w in story["title"].split() if w.isalpha()]
    assert len(words) >= 4, story["title"]
    assert len(story["summary"]) >= 2
    article_ids = {a["id"] for a in story["articles"]}
    for sentence in story["summary"]:
        assert sentence["article"] in article_ids
        assert sentence["text"].rstrip()[-1] in ".!?\"'’”", sentence["text"]
        for junk in FURNITURE:
            assert junk not in sentence["text"]
    day_page = (site / "2025/07/03/index.html").read_text(encoding="utf-8")
    for article in story["articles"]:
        assert f'href="{article["link"]}"' in day_page or article["link"] in day_page
        assert (site / article["link"] / "index.html").is_file() or article["url"]
    assert tree_state(sample_site / "content") == before, "the build wrote into content/"


def test_same_input_same_bytes(sample_site: Path) -> None:
    assert run("build", "--no-cache", "--output", "one", cwd=sample_site).returncode == 0
    assert run("build", "--output", "two", cwd=sample_site).returncode == 0
    assert run("build", "--output", "two", cwd=sample_site).returncode == 0  # from the cache
    one, two = tree_state(sample_site / "one"), tree_state(sample_site / "two")
    assert {k: v[0] for k, v in one.items()} == {k: v[0] for k, v in two.items()}


def test_no_op_rebuild_rewrites_nothing(sample_site: Path) -> None:
    assert run("build", cwd=sample_site).returncode == 0
    before = tree_state(sample_site / "site")
    result = run("build", "-v", cwd=sample_site)
    assert result.returncode == 0
    assert tree_state(sample_site / "site") == before
    assert "0 files written" in result.stderr


def test_missing_content_is_fatal(tmp_path: Path) -> None:
    result = run("build", cwd=tmp_path)
    assert result.returncode == 2
    assert "content" in result.stderr


def test_bad_config_is_fatal_and_keeps_previous_site(sample_site: Path) -> None:
    assert run("build", cwd=sample_site).returncode == 0
    before = tree_state(sample_site / "site")
    (sample_site / "digest.toml").write_text('title = "unclosed\n')
    result = run("build", cwd=sample_site)
    assert result.returncode == 2
    assert "digest.toml" in result.stderr
    assert tree_state(sample_site / "site") == before


def test_bad_config_value_names_the_key(sample_site: Path) -> None:
    (sample_site / "digest.toml").write_text('timezone = "Mars/Olympus"\n')
    result = run("build", cwd=sample_site)
    assert result.returncode == 2
    assert "timezone" in result.stderr and "Mars/Olympus" in result.stderr


@pytest.mark.parametrize("output", ["content", ".", "/", ".."])
def test_unsafe_output_is_refused(sample_site: Path, output: str) -> None:
    before = tree_state(sample_site)
    result = run("build", "--output", output, cwd=sample_site)
    assert result.returncode == 2
    assert "output" in result.stderr
    assert tree_state(sample_site) == before


def test_strict_fails_on_warnings_but_build_goes_on(sample_site: Path) -> None:
    (sample_site / "content" / "empty.txt").write_text("")
    (sample_site / "content" / "undated.md").write_text(
        "---\ntitle: A lonely undated note about beekeeping\n---\nBees were kept on the roof.\n"
    )
    result = run("build", "--strict", cwd=sample_site)
    assert result.returncode == 1
    assert "empty.txt" in result.stderr and "undated.md" in result.stderr
    digest = json.loads((sample_site / "site" / "digest.json").read_text(encoding="utf-8"))
    paths = [a["path"] for s in digest["stories"] for a in s["articles"]]
    assert "undated.md" in paths, "an undated article is still shown"
    assert run("build", cwd=sample_site).returncode == 0  # not strict: warnings allowed


def test_every_article_lands_in_exactly_one_story(sample_site: Path) -> None:
    extra = sample_site / "content" / "deep" / "er"
    extra.mkdir(parents=True)
    for i in range(5):
        (extra / f"note{i}.md").write_text(
            f"---\ntitle: Harbour note {i}\ndate: 2025-07-0{i + 1}\nsource: Port Times\n---\n"
            f"Ship number {i} of the fleet reached harbour {i * 7} with cargo {i * 13}.\n"
        )
    assert run("build", cwd=sample_site).returncode == 0
    digest = json.loads((sample_site / "site" / "digest.json").read_text(encoding="utf-8"))
    paths = [a["path"] for s in digest["stories"] for a in s["articles"]]
    assert sorted(paths) == sorted(
        p.relative_to(sample_site / "content").as_posix()
        for p in (sample_site / "content").rglob("*")
        if p.is_file()
    )


def test_corrupt_cache_is_ignored(sample_site: Path) -> None:
    assert run("build", cwd=sample_site).returncode == 0
    cache_files = list((sample_site / ".digest-cache").rglob("*.json"))
    assert cache_files, "the first build wrote a cache"
    for cache_file in cache_files:
        cache_file.write_bytes(b"\x00garbage{")
    result = run("build", cwd=sample_site)
    assert result.returncode == 0, result.stderr
    assert (sample_site / "site" / "digest.json").is_file()


def test_hostile_article_is_escaped_everywhere(sample_site: Path) -> None:
    (sample_site / "content" / "evil.md").write_text(
        "---\ntitle: <script>alert('t')</script> Harbour fire\ndate: 2025-07-03\n"
        "source: <img src=x onerror=alert(1)>\nurl: javascript:alert(2)\n---\n"
        "A fire broke out at the harbour. <script>alert('b')</script>\n\n"
        '[click me](javascript:alert(3)) and <a href="javascript:alert(4)">me</a>.\n'
    )
    assert run("build", cwd=sample_site).returncode == 0
    for path in (sample_site / "site").rglob("*"):
        if path.is_file() and path.suffix in (".html", ".xml", ".json"):
            text = path.read_text(encoding="utf-8")
            assert "<script>alert" not in text, path
            assert "<img src=x" not in text, path
            assert 'href="javascript:' not in text.lower(), path
            assert "javascript:alert(2)" not in text or path.suffix == ".json", path


def test_no_op_rebuild_keeps_warnings_and_notices_a_damaged_output(sample_site: Path) -> None:
    (sample_site / "content" / "empty.txt").write_text("")
    assert run("build", cwd=sample_site).returncode == 0
    again = run("build", "--strict", "-v", cwd=sample_site)
    assert "timings: check" in again.stderr, "nothing changed: nothing was built"
    assert again.returncode == 1 and "empty.txt" in again.stderr, "its warnings still count"
    (sample_site / "site" / "feed.xml").unlink()
    repaired = run("build", "-v", cwd=sample_site)
    assert "timings: check" not in repaired.stderr
    assert (sample_site / "site" / "feed.xml").is_file()
    (sample_site / "content" / "late.md").write_text(
        "---\ntitle: A late report on the harbour\ndate: 2025-07-03\n---\nShips docked late.\n"
    )
    run("build", cwd=sample_site)
    digest = json.loads((sample_site / "site" / "digest.json").read_text(encoding="utf-8"))
    assert "late.md" in [a["path"] for s in digest["stories"] for a in s["articles"]]


def test_a_damaged_cache_entry_is_a_miss_not_a_crash(sample_site: Path) -> None:
    assert run("build", cwd=sample_site).returncode == 0
    for shard in (sample_site / ".digest-cache").rglob("*.json"):
        data = json.loads(shard.read_text(encoding="utf-8"))
        for entry in data.get("entries", {}).values():
            if isinstance(entry, dict) and "summary" in entry:
                entry["summary"] = [["only text"]]
        if "title" in data:  # the file store's index: JSON as ever, but a column is not titles
            data["title"] = [1] * len(data["title"])
        shard.write_text(json.dumps(data), encoding="utf-8")
    (sample_site / ".digest-cache" / "manifest.json").unlink()
    result = run("build", cwd=sample_site)
    assert result.returncode == 0, result.stderr
    assert "reading 2 of 2 files" in result.stderr


def test_a_new_config_warning_is_not_hidden_by_the_no_op_shortcut(sample_site: Path) -> None:
    assert run("build", "--strict", cwd=sample_site).returncode == 0
    (sample_site / "digest.toml").write_text('titel = "typo"\n')
    result = run("build", "--strict", cwd=sample_site)
    assert result.returncode == 1 and "titel" in result.stderr


def test_an_edit_with_the_same_size_and_restored_mtime_is_seen(sample_site: Path) -> None:

    (sample_site / "content" / "note.md").write_text(
        "---\ntitle: Harbour note\ndate: 2025-07-03\n---\nThe ferry left at nine.\n"
    )
    assert run("build", cwd=sample_site).returncode == 0
    note = sample_site / "content" / "note.md"
    before = note.stat()
    note.write_text(note.read_text().replace("nine", "four"))  # same size
    os.utime(note, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert run("build", cwd=sample_site).returncode == 0
    page = (sample_site / "site" / "digest.json").read_text(encoding="utf-8")
    assert "four" in page or "four" in "".join(
        p.read_text(encoding="utf-8") for p in (sample_site / "site" / "articles").rglob("*.html")
    )


def test_no_cache_is_written_into_the_content_folder(tmp_path: Path) -> None:
    shutil.copytree(SAMPLE_CONTENT, tmp_path / "articles")
    before = tree_state(tmp_path / "articles")
    result = run(
        "build", "--content", ".", "--output", str(tmp_path / "out"), cwd=tmp_path / "articles"
    )
    assert result.returncode == 0, result.stderr
    assert tree_state(tmp_path / "articles") == before
    assert not (tmp_path / "articles" / ".digest-cache").exists()
