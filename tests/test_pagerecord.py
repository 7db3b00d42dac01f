"""The page record: a fresh process renders only the pages whose inputs changed, and writes the
same bytes as a clean build whatever happened to the output folder or the record meanwhile."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

import digest.views
from digest import feeds, jsondata, pagerecord, render
from digest.build import Builder, BuildOptions, BuildReport
from digest.model import Article, Story
from digest.output import KeptFile, SiteWriter, StaleOutput, content_hash
from tests.test_build import assert_same_as_clean_build, build, files_of, spy, write_stream


def fresh_build(site: Path, **options: object) -> BuildReport:
    """A build by a new builder: what a new `digest build` process does (cache on)."""
    opts = BuildOptions(
        content_dir=site / "content", output_dir=site / "site", site_dir=site, **options
    )
    return Builder(opts, workers=1).build()


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    write_stream(tmp_path / "content", 30)
    first = fresh_build(tmp_path)
    assert first.pages_kept == 0  # nothing recorded yet: every page rendered
    return tmp_path


def test_an_edit_in_a_new_process_renders_only_its_pages_and_matches_a_clean_build(
    site: Path,
) -> None:
    pages = len(json.loads((site / ".digest-cache" / "pages.json").read_text())["files"])
    append(site / "content" / "a007.md", "A relief fund opened on Tuesday.")
    report = fresh_build(site)
    # The edited article's page, its story's day page and pages listing that story change;
    # the other day and article pages are kept as they are.
    assert 0 < report.pages_kept < pages
    assert report.written >= 1
    build(site, "clean", workers=1)  # no cache, no record
    assert files_of(site / "site") == files_of(site / "clean")


def test_a_rebuild_with_nothing_new_keeps_every_page(site: Path) -> None:
    (site / ".digest-cache" / "manifest.json").unlink()  # no shortcut: the whole build runs
    mtimes = {p: p.stat().st_mtime_ns for p in (site / "site").rglob("*") if p.is_file()}
    report = fresh_build(site)
    assert report.written == 0 and report.pages_kept > 30
    assert mtimes == {p: p.stat().st_mtime_ns for p in mtimes}


def test_a_page_changed_by_hand_is_rendered_and_written_again(site: Path) -> None:
    (site / ".digest-cache" / "manifest.json").unlink()
    page = next((site / "site" / "articles").glob("*/index.html"))
    original = page.read_bytes()
    page.write_bytes(original.replace(b"<html", b"<html data-tampered"))
    report = fresh_build(site)
    assert report.written == 1
    assert page.read_bytes() == original


def test_a_page_removed_by_hand_comes_back(site: Path) -> None:
    (site / ".digest-cache" / "manifest.json").unlink()
    page = next((site / "site" / "articles").glob("*/index.html"))
    original = page.read_bytes()
    page.unlink()
    fresh_build(site)
    assert page.read_bytes() == original


def test_a_theme_change_renders_every_page_again(site: Path) -> None:
    from digest.theme import default_theme_dir

    templates = site / "templates"
    templates.mkdir()
    base = (default_theme_dir() / "base.html").read_text(encoding="utf-8")
    (templates / "base.html").write_text(base.replace("</body>", "<!-- v2 --></body>"))
    report = fresh_build(site)
    assert report.pages_kept == 0
    assert all(b"<!-- v2 -->" in p.read_bytes() for p in (site / "site").rglob("*.html"))


@pytest.mark.parametrize("damage", ["", "{", '{"salt": 3, "files": []}', "[1, 2]"])
def test_a_damaged_record_is_ignored(site: Path, damage: str) -> None:
    (site / ".digest-cache" / "manifest.json").unlink()
    (site / ".digest-cache" / "pages.json").write_text(damage)
    report = fresh_build(site)
    assert report.pages_kept == 0 and report.written == 0
    build(site, "clean", workers=1)
    assert files_of(site / "site") == files_of(site / "clean")


def test_a_page_changed_by_hand_with_its_size_and_mtime_kept_is_written_again(
    site: Path,
) -> None:
    """cp -p, rsync -a and editors can keep both; the ctime still tells."""
    (site / ".digest-cache" / "manifest.json").unlink()
    page = next((site / "site" / "articles").glob("*/index.html"))
    original, stat = page.read_bytes(), page.stat()
    page.write_bytes(original.replace(b"<html", b"<HTML"))  # same length
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert page.stat().st_mtime_ns == stat.st_mtime_ns
    report = fresh_build(site)
    assert report.written == 1
    assert page.read_bytes() == original


def test_an_entry_of_the_wrong_shape_is_not_trusted(site: Path) -> None:
    (site / ".digest-cache" / "manifest.json").unlink()
    record_path = site / ".digest-cache" / "pages.json"
    record = json.loads(record_path.read_text())
    for rel in list(record["files"])[:5]:
        record["files"][rel] = record["files"][rel][:5]
    record_path.write_text(json.dumps(record))
    report = fresh_build(site)
    assert report.written == 0
    build(site, "clean", workers=1)
    assert files_of(site / "site") == files_of(site / "clean")


def test_without_the_cache_nothing_is_recorded_or_kept(tmp_path: Path) -> None:
    write_stream(tmp_path / "content", 12)
    fresh_build(tmp_path, use_cache=False)
    report = fresh_build(tmp_path, use_cache=False)
    assert report.pages_kept == 0
    assert not (tmp_path / ".digest-cache").exists()


def _article(**changes: object) -> Article:
    base = Article(
        id="a",
        path="a.md",
        format="markdown",
        title="Flood in Arden",
        title_given=True,
        body="Body.",
        text="Body.",
    )
    return base.replace(**changes)


def test_fingerprints_follow_values_not_objects() -> None:
    record = pagerecord.PageRecord("salt", {}, {})
    story = Story(id="s", articles=(_article(),), title="Flood")
    same = Story(id="s", articles=(_article(),), title="Flood")
    assert record.fingerprint((story, 1)) == record.fingerprint((same, 1))
    for changed in (
        Story(id="s", articles=(_article(url="https://example.org/x"),), title="Flood"),
        Story(id="s", articles=(_article(text="Body!"),), title="Flood"),
        Story(id="s", articles=(_article(),), title="Flood "),
    ):
        assert record.fingerprint((changed, 1)) != record.fingerprint((story, 1))
    assert record.fingerprint((story, 1)) != record.fingerprint((story, 2))
    # Text boundaries cannot shift between fields and give the same digest.
    a, b = _article(title="ab", body="c"), _article(title="a", body="bc")
    assert record.fingerprint((a,)) != record.fingerprint((b,))
    other_salt = pagerecord.PageRecord("other", {}, {})
    assert other_salt.fingerprint((story, 1)) != record.fingerprint((story, 1))


def test_every_field_of_a_story_is_in_its_fingerprint() -> None:
    import dataclasses
    from datetime import date

    from digest.model import SummarySentence

    record = pagerecord.PageRecord("salt", {}, {})
    story = Story(id="s", articles=(_article(),), title="Flood", day=date(2025, 7, 3))
    others = {
        "id": "t",
        "articles": (_article(title="Other"),),
        "title": "Fire",
        "summary": (SummarySentence("A fire.", "a1"),),
        "day": date(2025, 7, 4),
    }
    assert {f.name for f in dataclasses.fields(Story)} == others.keys(), "a new field: add it"
    for name, value in others.items():
        changed = pagerecord.PageRecord("salt", {}, {})
        assert changed.fingerprint((story.replace(**{name: value}),)) != record.fingerprint(
            (story,)
        ), name


def test_the_writer_keeps_a_kept_file_and_refuses_one_that_is_not_there(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "digest.json").write_bytes(b"{}")
    (out / "a.html").write_bytes(b"A")
    before = os.stat(out / "a.html").st_mtime_ns
    known = {"digest.json": content_hash(b"{}"), "a.html": content_hash(b"A")}
    with SiteWriter(out, known) as writer:
        writer.add("a.html", KeptFile(content_hash(b"A")))
        writer.add("digest.json", b"{}")
        result = writer.commit()
    assert (result.written, result.unchanged) == (0, 2)
    assert os.stat(out / "a.html").st_mtime_ns == before
    with SiteWriter(out, known) as writer, pytest.raises(StaleOutput):
        writer.add("b.html", KeptFile(content_hash(b"B")))
    assert sorted(p.name for p in out.iterdir()) == ["a.html", "digest.json"]


def test_a_kept_file_is_carried_into_a_new_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "digest.json").write_bytes(b"{}")
    (out / "a.html").write_bytes(b"A")
    known = {"digest.json": content_hash(b"{}"), "a.html": content_hash(b"A")}
    with SiteWriter(out, known) as writer:
        writer.add("digest.json", b"{ }")  # most of the site changes: a new folder is built
        writer.add("a.html", KeptFile(content_hash(b"A")))
        for n in range(10):
            writer.add(f"p{n}.html", b"new")
        writer.commit()
    assert (out / "a.html").read_bytes() == b"A"
    assert (out / "p9.html").read_bytes() == b"new"


def _set_source(path: Path, source: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^source: .*$", f"source: {source}", text), encoding="utf-8")


def test_a_metadata_edit_views_and_encodes_only_its_story_again(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds, "FEED_DAYS", 2)  # the feeds show 2 of the site's 20 days
    records = spy(monkeypatch, jsondata, "story_record")
    views = spy(monkeypatch, digest.views, "story_view")
    _set_source(site / "content" / "a007.md", "Bulletin 1")
    report = fresh_build(site)
    assert len(records) == 1 and "a007.md" in {a.path for a in records[0][1]}
    # Views of the edited story and of the stories the feeds and the front page show; none of
    # the other days' stories.
    assert report.site is not None
    shown = {s.id for day in report.site.days[:2] for s in day.stories}
    assert {story.id for story, *_ in views} <= shown | {records[0][0].id}
    assert report.written >= 3  # the article's page, digest.json, search.json
    build(site, "clean", workers=1)
    assert files_of(site / "site") == files_of(site / "clean")


def test_a_rebuild_with_nothing_new_renders_views_and_encodes_nothing(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (site / ".digest-cache" / "manifest.json").unlink()  # no shortcut: the whole build runs
    renders = spy(monkeypatch, render.Renderer, "render")
    views = spy(monkeypatch, digest.views, "story_view")
    records = spy(monkeypatch, jsondata, "story_record")
    report = fresh_build(site)
    assert (renders, views, records) == ([], [], [])
    assert report.written == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "index", "salt"])
def test_damaged_encoded_stories_are_ignored(
    site: Path, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = site / ".digest-cache" / "stories.json"
    data = index.with_suffix(".bin")
    if damage == "truncate":
        data.write_bytes(data.read_bytes()[:-10])
    elif damage == "flip":
        raw = bytearray(data.read_bytes())
        raw[5] ^= 0x20
        data.write_bytes(bytes(raw))
    elif damage == "index":
        head = json.loads(index.read_text())
        head["keys"][0][1] += 1  # the lengths no longer add up to the bytes
        index.write_text(json.dumps(head))
    else:
        head = json.loads(index.read_text())
        head["salt"] = "other"
        index.write_text(json.dumps(head))
    records = spy(monkeypatch, jsondata, "story_record")
    _set_source(site / "content" / "a007.md", "Bulletin 2")
    report = fresh_build(site)
    assert len(records) == report.stories  # every story encoded anew, none from the damage
    build(site, "clean", workers=1)
    assert files_of(site / "site") == files_of(site / "clean")


def test_encoded_stories_come_back_as_saved_and_only_for_their_salt(tmp_path: Path) -> None:
    index = tmp_path / "stories.json"
    stories = pagerecord.EncodedStories({})
    assert stories.get("a", lambda: b'{"a":1}') == b'{"a":1}'
    assert stories.get("b", lambda: b"[]") == b"[]"
    stories.save(index, "salt")
    loaded = pagerecord.EncodedStories.load(index, "salt")
    assert loaded.get("a", lambda: b"made") == b'{"a":1}'
    loaded.keep(["b"])  # kept without being used: still carried to the next build
    assert loaded.encoded == 0
    loaded.save(index, "salt")  # nothing new: the files stay as they are
    again = pagerecord.EncodedStories.load(index, "salt")
    assert [again.get(k, lambda: b"made") for k in ("a", "b")] == [b'{"a":1}', b"[]"]
    assert pagerecord.EncodedStories.load(index, "pepper").get("a", lambda: b"made") == b"made"


def test_an_edit_scans_the_output_folder_once_and_records_it_as_a_full_scan_would(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (site / ".digest-cache" / "manifest.json").unlink()  # the record alone: one scan
    listings = spy(monkeypatch, os, "scandir")
    scans = spy(monkeypatch, pagerecord, "scan_output")
    append(site / "content" / "a007.md", "A relief fund opened on Tuesday.")
    report = fresh_build(site)
    assert report.written >= 1
    assert len(scans) == 1
    output = str(site / "site")
    listed = [str(path) for path, *_ in listings if str(path).startswith(output)]
    folders = pagerecord.scan_output(site / "site").folders
    assert len(listed) < len(folders) / 4, "folders as recorded are not listed again"
    monkeypatch.undo()
    record = json.loads((site / ".digest-cache" / "pages.json").read_text())
    full = pagerecord.scan_output(site / "site")
    assert {rel: entry[:4] for rel, entry in record["files"].items()} == {
        rel: list(stat) for rel, stat in full.files.items()
    }
    assert record["folders"].items() <= {k: list(v) for k, v in full.folders.items()}.items()


def test_a_file_put_into_a_recorded_folder_is_found_and_removed(site: Path) -> None:
    folder = next((site / "site" / "articles").glob("*/"))
    (folder / "stray.html").write_text("not ours")
    report = fresh_build(site)
    assert "check" not in report.timings, "the no-op check saw the new file"
    assert not (folder / "stray.html").exists()
    build(site, "clean", workers=1)
    assert files_of(site / "site") == files_of(site / "clean")


def test_a_folder_replaced_by_hand_is_listed_again(site: Path) -> None:
    folder = next((site / "site" / "articles").glob("*/"))
    page = (folder / "index.html").read_bytes()
    shutil.rmtree(folder)
    folder.mkdir()
    (folder / "other.html").write_text("not ours")
    fresh_build(site)
    assert sorted(p.name for p in folder.iterdir()) == ["index.html"]
    assert (folder / "index.html").read_bytes() == page


def test_a_scan_trusts_a_recorded_folder_only_while_its_stat_is_as_recorded(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.html").write_text("1")
    first = pagerecord.scan_output(tmp_path)
    assert set(first.files) == {"a/one.html"} and set(first.folders) == {"", "a/"}
    (tmp_path / "a" / "two.html").write_text("2")
    assert set(pagerecord.scan_output(tmp_path, first).files) == {"a/one.html", "a/two.html"}
    # As recorded (a stat that matches): the record's names are taken without listing.
    pretend = pagerecord.OutputScan(first.files, pagerecord.scan_output(tmp_path).folders)
    assert set(pagerecord.scan_output(tmp_path, pretend).files) == {"a/one.html"}


def test_a_scan_goes_down_to_a_folder_the_record_left_out_under_one_it_kept(
    tmp_path: Path,
) -> None:
    # An edit replaces one page in place: its folder changes in the tick the record is saved
    # in and is left out, its parents do not change and are kept. The page must still be
    # found by the next scan, or the next build takes it for a new file and writes it again
    # (and the one after: every build).
    (tmp_path / "articles" / "a7").mkdir(parents=True)
    (tmp_path / "articles" / "a7" / "index.html").write_text("7")
    (tmp_path / "index.html").write_text("home")
    full = pagerecord.scan_output(tmp_path)
    kept = {k: v for k, v in full.folders.items() if k != "articles/a7/"}
    recorded = pagerecord.recorded_scan(full.files, {k: list(v) for k, v in kept.items()})
    assert recorded is not None
    assert pagerecord.scan_output(tmp_path, recorded).files == full.files


def test_a_folder_changed_in_the_current_clock_tick_is_not_settled(tmp_path: Path) -> None:
    output, cache = tmp_path / "site", tmp_path / "cache"
    for folder in (output / "old", output / "new", cache):
        folder.mkdir(parents=True)
    time.sleep(0.05)  # past any file-system clock tick here: the rest is settled
    late = time.time_ns() + 10**9
    os.utime(output / "new", ns=(late, late))  # as if changed after the probe's tick
    scan = pagerecord.scan_output(output)
    assert set(pagerecord.settled_folders(scan, cache)) == {"", "old/"}


def test_pages_an_edit_does_not_reach_are_not_rendered(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive, 404 page, robots.txt and feeds (the edit is on an older day) are kept."""
    monkeypatch.setattr(feeds, "FEED_DAYS", 2)  # the feeds show 2 of the site's 20 days
    (site / ".digest-cache" / "manifest.json").unlink()
    fresh_build(site)  # the feeds made of 2 days
    renders = spy(monkeypatch, render.Renderer, "render")
    _set_source(site / "content" / "a007.md", "Bulletin 3")  # a story of an older day
    report = fresh_build(site)
    assert report.pages_kept > 0
    templates = {template for _, template, *_ in renders}
    assert templates == {"day.html", "article.html"}
    build(site, "clean", workers=1)
    assert files_of(site / "site") == files_of(site / "clean")


def test_an_article_whose_furniture_changed_with_another_file_is_rendered_again(
    tmp_path: Path,
) -> None:
    """A line is furniture while three stories of a source carry it: when one file drops it,
    the other two articles' text changes though their files did not."""
    content = tmp_path / "content"
    content.mkdir()
    # One summary sentence: the story's summary (the opening) stays as it is, so only the
    # article's own text tells its page changed.
    (tmp_path / "digest.toml").write_text("[summary]\nsentences = 1\n", encoding="utf-8")
    reports = [
        (
            "Harbour dredging",
            "Dredgers cleared silt from the northern harbour channel overnight.\n\n"
            "Fishing boats had waited a week for the tide to let them out.\n\n"
            "The port authority expects the work to finish by Friday.\n\n"
            "Divers inspected the old pier's timber piles for rot on Tuesday.\n\n"
            "Ferry timetables will change while the cranes are moored by the quay.",
        ),
        (
            "School budget",
            "Teachers welcomed the council's vote to fund three new classrooms.\n\n"
            "Parents had petitioned for the extension since last autumn.\n\n"
            "Builders are due on site before the summer holidays.\n\n"
            "The head teacher thanked governors for backing the science block.\n\n"
            "Pupils will use portable cabins in the playground until spring.",
        ),
        (
            "Orchard frost",
            "A late frost blackened apple blossom across the valley's orchards.\n\n"
            "Growers lit braziers between the rows but lost most of the crop.\n\n"
            "Insurers said claims would be assessed from next month.\n\n"
            "Cider makers fear a shortage of local fruit for the autumn pressing.\n\n"
            "Beekeepers moved hives indoors as the temperature fell below zero.",
        ),
    ]
    for n, (title, text) in enumerate(reports):
        (content / f"p{n}.md").write_text(
            f"---\ntitle: {title}\ndate: 2025-03-0{n + 1}\nsource: Daily Post\n---\n"
            f"{text}\n\nSubscribe to the Daily Post for more.\n",
            encoding="utf-8",
        )
    summaries = _summaries(fresh_build(tmp_path))
    page = tmp_path / "site" / "articles"
    first = next(p for p in page.glob("p0-*/index.html"))
    assert b"Subscribe to the Daily Post" not in first.read_bytes()  # removed as furniture
    last = content / "p2.md"
    last.write_text(last.read_text().replace("Subscribe to the Daily Post for more.\n", ""))
    assert _summaries(fresh_build(tmp_path)) == summaries
    assert b"Subscribe to the Daily Post" in first.read_bytes()  # no longer furniture
    assert_same_as_clean_build(tmp_path)


def _summaries(report: BuildReport) -> list[tuple[str, ...]]:
    assert report.site is not None
    return [tuple(s.text for s in story.summary) for d in report.site.days for story in d.stories]
