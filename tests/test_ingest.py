"""ingest: finding article files and reading them into Articles, metadata included."""

from __future__ import annotations

import hashlib
import os
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.ingest import (
    MAX_TEXT_CHARS,
    ReadResult,
    article_id,
    discover,
    find_dateline,
    parse_date_line,
    read_article,
)

SAMPLE_000 = "000_da002abaa098f033.txt"
SAMPLE_001 = "001_ec3f2d02b8384f94.txt"


def write(root: Path, rel: str, data: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def read(root: Path, rel: str, data: str | bytes, tz: object = UTC) -> ReadResult:
    return read_article(write(root, rel, data), root, tz)  # type: ignore[arg-type]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    return folder


# --------------------------------------------------------------------------- the two samples


def test_sample_000_has_no_date_and_the_agency_from_its_sign_off(sample_content: Path) -> None:
    result = read_article(sample_content / SAMPLE_000, sample_content, UTC)
    article = result.article
    assert article is not None
    assert article.published is None
    assert article.source == "ANI"
    assert article.format == "text"
    assert not article.title_given
    assert article.title.startswith("Russian President Vladimir Putin")
    assert "(local time)" not in article.title
    assert len(article.title) <= 110
    assert not article.text.startswith("WASHINGTON")  # the dateline is metadata
    assert article.text.startswith("Russian President Vladimir Putin on Thursday")
    assert not article.text.rstrip().endswith("(ANI)")


def test_sample_001_metadata_lines_are_read_and_removed(sample_content: Path) -> None:
    article = read_article(sample_content / SAMPLE_001, sample_content, UTC).article
    assert article is not None
    assert article.published == datetime(2025, 7, 3, 15, 27, tzinfo=UTC)
    assert article.published.utcoffset() is not None
    assert article.source == "ANI"
    assert article.title.startswith("Russia President Vladimir Putin on Thursday held")
    assert article.title[0].isupper()
    for text in (article.body, article.text):
        assert "GMT+10" not in text
        assert not text.startswith(("ANI", "Washington DC [US], July 4 (ANI)"))
    assert article.text.startswith("Russia President Vladimir Putin on Thursday held")


def test_sample_ids_hashes_and_paths(sample_content: Path) -> None:
    path = sample_content / SAMPLE_001
    article = read_article(path, sample_content, UTC).article
    assert article is not None
    assert article.path == SAMPLE_001
    assert article.id == article_id(SAMPLE_001)
    assert article.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()


def test_sample_date_is_independent_of_the_site_timezone(sample_content: Path) -> None:
    article = read_article(sample_content / SAMPLE_001, sample_content, ZoneInfo("Asia/Tokyo"))
    assert article.article is not None
    assert article.article.published == datetime(2025, 7, 3, 15, 27, tzinfo=UTC)


# --------------------------------------------------------------------------- discovery


def test_discover_nested_sorted_and_skips_hidden_and_other_files(content: Path) -> None:
    for rel in [
        "b.md",
        "a/z.txt",
        "a/b/c.markdown",
        "A.TXT",
        ".hidden.md",
        ".git/x.md",
        "a/.drafts/y.md",
        "notes.html",
        "image.png",
    ]:
        write(content, rel, "text")
    found = [p.relative_to(content).as_posix() for p in discover(content)]
    assert found == ["A.TXT", "a/b/c.markdown", "a/z.txt", "b.md"]


def test_discover_skips_symlinks_leading_outside(tmp_path: Path, content: Path) -> None:
    outside = write(tmp_path, "outside/secret.md", "secret")
    inside = write(content, "real.md", "real")
    try:
        os.symlink(outside, content / "leak.md")
        os.symlink(inside, content / "alias.md")
        os.symlink(outside.parent, content / "linked_dir")
    except OSError:
        pytest.skip("symlinks not supported here")
    found = [p.name for p in discover(content)]
    assert "leak.md" not in found
    assert "secret.md" not in found
    assert found == ["alias.md", "real.md"]


def test_article_id_is_slug_plus_hash_and_safe() -> None:
    one = article_id("world/Ünïcode Story — Über Alles!!.md")
    assert re.fullmatch(r"[a-z0-9-]+", one)
    slug, digest = one.rsplit("-", 1)
    assert len(slug) <= 40 and len(digest) == 12
    assert slug.startswith("unicode-story-uber-alles")
    assert article_id("a/x.md") != article_id("b/x.md")
    assert article_id("a/x.md") == article_id("a/x.md")
    # Thousands of files share a name (index.md): their ids must not collide.
    ids = {article_id(f"2025/{n:05d}/index.md") for n in range(20000)}
    assert len(ids) == 20000
    assert re.fullmatch(r"[a-z0-9-]+", article_id("日本語.md"))


# --------------------------------------------------------------------------- front matter


def test_front_matter_all_keys(content: Path) -> None:
    text = (
        "---\n"
        "title: Storm hits the coast\n"
        "date: 2025-07-03T10:00:00+02:00\n"
        "source: The Kenya Star\n"
        "url: https://example.org/storm\n"
        "story: storm-2025\n"
        "lang: en\n"
        "tags: [weather, coast]\n"
        "unknown_key: whatever\n"
        "---\n"
        "# Heading\n\n"
        "The storm **hit** the [coast](https://example.org) on Thursday.\n\n"
        "- first item\n- second item\n"
    )
    result = read(content, "news/storm.md", text)
    article = result.article
    assert result.warnings == ()
    assert article is not None
    assert article.title == "Storm hits the coast" and article.title_given
    assert article.published == datetime(2025, 7, 3, 8, 0, tzinfo=UTC)
    assert article.source == "The Kenya Star"
    assert article.url == "https://example.org/storm"
    assert article.story == "storm-2025"
    assert article.lang == "en"
    assert article.tags == ("weather", "coast")
    assert article.format == "markdown"
    assert "**hit**" in article.body and "---" not in article.body
    assert article.text.split("\n") == [
        "Heading",
        "The storm hit the coast on Thursday.",
        "first item",
        "second item",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-07-03", datetime(2025, 7, 3, tzinfo=ZoneInfo("Europe/Berlin"))),
        ("2025-07-03 10:05", datetime(2025, 7, 3, 10, 5, tzinfo=ZoneInfo("Europe/Berlin"))),
        ("2025-07-03T10:05:00Z", datetime(2025, 7, 3, 10, 5, tzinfo=UTC)),
        ("'2025-07-03T10:05:00-05:00'", datetime(2025, 7, 3, 15, 5, tzinfo=UTC)),
    ],
)
def test_front_matter_dates(content: Path, value: str, expected: datetime) -> None:
    result = read(content, "a.md", f"---\ndate: {value}\n---\nText.\n", ZoneInfo("Europe/Berlin"))
    assert result.article is not None
    assert result.article.published == expected
    assert result.article.published.tzinfo is not None
    assert result.warnings == ()


def test_tags_as_comma_string_and_missing_title_made_from_text(content: Path) -> None:
    body = "The council approved the new budget on Monday after a long debate, officials said.\n"
    result = read(content, "b.md", "---\ntags: economy, city hall ,\n---\n" + body)
    article = result.article
    assert article is not None
    assert article.tags == ("economy", "city hall")
    assert not article.title_given
    assert (
        article.title
        == "The council approved the new budget on Monday after a long debate, officials said"
    )


def test_wrong_types_warn_per_key_and_keep_the_rest(content: Path) -> None:
    text = "---\ntitle: [not, text]\ntags: 5\nsource: Reuters\nurl: 42\n---\nBody text here.\n"
    result = read(content, "c.md", text)
    assert result.article is not None
    assert result.article.source == "Reuters"
    assert result.article.tags == ()
    assert result.article.url is None
    assert len(result.warnings) == 3
    assert all(w.startswith("content/c.md: ") for w in result.warnings)
    assert any("'title'" in w for w in result.warnings)


def test_front_matter_that_is_not_a_mapping(content: Path) -> None:
    result = read(content, "d.md", "---\n- just\n- a list\n---\nBody text.\n")
    assert result.article is not None
    assert result.article.text == "Body text."
    assert len(result.warnings) == 1


def test_javascript_url_is_dropped_with_a_warning(content: Path) -> None:
    result = read(content, "e.md", "---\nurl: javascript:alert(1)\n---\nBody.\n")
    assert result.article is not None
    assert result.article.url is None
    assert any("url" in w for w in result.warnings)


# --------------------------------------------------------------------------- hostile input


def test_empty_file_gives_a_warning_and_no_article(content: Path) -> None:
    for name in ("empty.md", "blank.txt"):
        result = read(content, name, "" if name == "empty.md" else "  \n\n \t\n")
        assert result.article is None
        assert len(result.warnings) == 1
        assert result.warnings[0].startswith(f"content/{name}: ")


def test_binary_file_gives_a_warning_and_no_article(content: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20
    result = read(content, "pic.txt", data)
    assert result.article is None
    assert "binary" in result.warnings[0]


def test_invalid_utf8_is_kept_with_a_warning(content: Path) -> None:
    data = "Caf\u00e9 owners said prices rose \u2013 again.".encode("cp1252")
    result = read(content, "latin.txt", data)
    assert result.article is not None
    assert "Caf\u00e9" in result.article.text
    assert len(result.warnings) == 1 and "UTF-8" in result.warnings[0]

    undecodable = b"Good text then a bad byte \x81\x8d here and more words after it."
    result = read(content, "bad.txt", undecodable)
    assert result.article is not None
    assert "\ufffd" in result.article.text
    assert result.warnings


@pytest.mark.parametrize(
    "front",
    [
        "---\ntitle: [unclosed\ndate: 2025-07-03\n---\n",
        "---\ntitle: x\n  bad: indent: here\n---\n",
        "---\ntitle: never closed\n",
    ],
)
def test_broken_front_matter_still_gives_the_article(content: Path, front: str) -> None:
    result = read(content, "broken.md", front + "The real body of the story is here.\n")
    assert result.article is not None
    assert "The real body of the story is here." in result.article.text
    assert result.article.title_given is False
    assert len(result.warnings) == 1
    assert result.warnings[0].startswith("content/broken.md: front matter")


@pytest.mark.parametrize("value", ["2025-02-30", "2025-13-01", "'yesterday'", "2025-07-03T25:00"])
def test_impossible_front_matter_date(content: Path, value: str) -> None:
    result = read(content, "f.md", f"---\ntitle: T\ndate: {value}\n---\nBody.\n")
    assert result.article is not None
    assert result.article.published is None
    assert result.article.title == "T"
    assert len(result.warnings) == 1 and "date" in result.warnings[0]


def test_impossible_date_line_in_text(content: Path) -> None:
    text = "Reuters\n30 Feb 2025, 10:00 UTC\nThe minister resigned on Friday after a long row.\n"
    result = read(content, "g.txt", text)
    assert result.article is not None
    assert result.article.published is None
    assert result.article.source == "Reuters"
    assert "30 Feb" not in result.article.text
    assert result.warnings


def test_huge_file_is_cut_at_a_line_boundary(content: Path) -> None:
    line = "A long wire story sentence that repeats many times over, said the editors. " * 3
    data = (line.strip() + "\n") * (20_000_000 // len(line))
    started = time.perf_counter()
    result = read(content, "huge.txt", data)
    elapsed = time.perf_counter() - started
    assert result.article is not None
    assert len(result.article.body) <= MAX_TEXT_CHARS
    assert result.article.body.endswith("said the editors.")
    assert any("large" in w for w in result.warnings)
    assert elapsed < 60  # only a guard against pathological slowness, not a benchmark


def test_unreadable_file_gives_a_warning(content: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(content, "locked.txt", "secret text")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)  # root can read anything: simulate it
    result = read_article(path, content, UTC)
    assert result.article is None
    assert result.warnings == (
        "content/locked.txt: cannot read the file (Permission denied); skipped",
    )


def test_directory_named_like_an_article_does_not_crash(content: Path) -> None:
    (content / "folder.md").mkdir()
    result = read_article(content / "folder.md", content, UTC)
    assert result.article is None and result.warnings


def test_script_and_javascript_links_are_kept_as_data(content: Path) -> None:
    text = (
        "<script>alert(1)</script>\n"
        "Officials said the [x](javascript:alert(1)) link was reported on Tuesday morning.\n"
    )
    for name in ("h.txt", "h.md"):
        result = read(content, name, text)
        article = result.article
        assert article is not None
        assert article.url is None
        assert "Officials said" in article.text
        if name == "h.txt":
            assert "<script>alert(1)</script>" in article.body


# --------------------------------------------------------------------------- plain-text metadata


def test_outlet_date_byline_and_dateline_are_metadata(content: Path) -> None:
    text = (
        "The Kenya Star\n"
        "Updated: July 3, 2025 5:30 pm EDT\n"
        "By Jane Doe\n"
        "NEW YORK, July 3 (AP) \u2014 Stocks rose on Thursday as investors cheered the jobs data.\n"
        "Analysts said the gains could last into next week if earnings hold up.\n"
    )
    article = read(content, "i.txt", text).article
    assert article is not None
    assert article.source == "The Kenya Star"
    assert article.published == datetime(2025, 7, 3, 21, 30, tzinfo=UTC)
    assert article.text.split("\n") == [
        "Stocks rose on Thursday as investors cheered the jobs data.",
        "Analysts said the gains could last into next week if earnings hold up.",
    ]
    assert article.body == article.text


def test_dateline_gives_the_agency_but_never_a_date(content: Path) -> None:
    text = "LONDON (Reuters) - British inflation fell to its lowest level in three years in June.\n"
    article = read(content, "j.txt", text).article
    assert article is not None
    assert article.source == "Reuters"
    assert article.published is None
    assert article.text.startswith("British inflation fell")

    text = "Accra (Ghana), July 3 (ANI): India and Ghana signed four agreements on Wednesday.\n"
    article = read(content, "k.txt", text).article
    assert article is not None and article.published is None and article.source == "ANI"


def test_plain_text_without_metadata_keeps_its_first_lines(content: Path) -> None:
    text = "Budget talks\nThe council met on Monday to discuss the budget for next year.\n"
    article = read(content, "l.txt", text).article
    assert article is not None
    assert article.text.startswith("Budget talks\n")
    assert article.source is None and article.published is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("04 Jul 2025, 01:27 GMT+10", datetime(2025, 7, 3, 15, 27, tzinfo=UTC)),
        ("July 3, 2025", datetime(2025, 7, 3, tzinfo=UTC)),
        ("3 July 2025 10:05 UTC", datetime(2025, 7, 3, 10, 5, tzinfo=UTC)),
        ("2025-07-03T15:27:00+02:00", datetime(2025, 7, 3, 13, 27, tzinfo=UTC)),
        ("Published 3 July 2025 10:05 IST", datetime(2025, 7, 3, 4, 35, tzinfo=UTC)),
        ("Thursday, Jul 3, 2025 at 10:05 UTC-5", datetime(2025, 7, 3, 15, 5, tzinfo=UTC)),
        ("3 July 2025 10:05 +05:30", datetime(2025, 7, 3, 4, 35, tzinfo=UTC)),
    ],
)
def test_date_lines(line: str, expected: datetime) -> None:
    found = parse_date_line(line, UTC)
    assert found is not None
    assert found.value == expected


def test_naive_date_line_uses_the_site_timezone() -> None:
    found = parse_date_line("3 July 2025 10:05", timezone(timedelta(hours=2)))
    assert found is not None and found.value == datetime(2025, 7, 3, 8, 5, tzinfo=UTC)


def test_sentences_are_not_date_lines() -> None:
    assert parse_date_line("July 3, 2025 was a hot day in the city, people said.", UTC) is None
    assert parse_date_line("The 3 July 2025 meeting", UTC) is None


@pytest.mark.parametrize(
    ("paragraph", "rest", "agency"),
    [
        ("Washington DC [US], July 4 (ANI): Russia said", "Russia said", "ANI"),
        ("WASHINGTON: Russian President", "Russian President", None),
        ("LONDON (Reuters) - The pound", "The pound", "Reuters"),
        ("NEW YORK, July 3 (AP) \u2014 Stocks", "Stocks", "AP"),
        ("MAURITIUS, 3rd July, 2025 (WAM) - The chamber", "The chamber", "WAM"),
    ],
)
def test_datelines(paragraph: str, rest: str, agency: str | None) -> None:
    found = find_dateline(paragraph)
    assert found is not None
    assert paragraph[found.length :] == rest
    assert found.agency == agency


@pytest.mark.parametrize(
    "paragraph", ["Note: this is a sentence.", "He said (quietly) - that it was over."]
)
def test_not_datelines(paragraph: str) -> None:
    assert find_dateline(paragraph) is None


def test_long_title_is_cut_with_an_ellipsis(content: Path) -> None:
    sentence = " ".join(["word"] * 60) + "."
    article = read(content, "m.txt", sentence + "\n").article
    assert article is not None
    assert article.title.endswith("\u2026")
    assert len(article.title) <= 111
    assert not article.title.endswith("...")


def test_long_title_cut_where_a_clause_ends_needs_no_ellipsis(content: Path) -> None:
    text = (
        "Russian President Vladimir Putin held a telephonic conversation with US President "
        "Donald Trump in which he made it clear that Moscow will not back down on its goals.\n"
    )
    article = read(content, "c.txt", text).article
    assert article is not None
    assert article.title.endswith("Donald Trump"), article.title
