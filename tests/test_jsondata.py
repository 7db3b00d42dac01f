"""digest.json and search.json made in chunks: the same bytes as the whole-string encoding."""

from __future__ import annotations

import json
from typing import Any

import pytest

import digest.jsondata
import digest.views
from digest.config import Config
from digest.jsondata import RecordMemo, digest_json, search_json, story_record
from digest.model import Article, Site
from digest.views import SiteView, aware, dump_json, dump_json_chunks
from tests.test_render import make_site

CONFIG = Config(timezone="Australia/Sydney", title="Daily <digest> & more ☀")


def _view(site: Site) -> SiteView:
    return SiteView.build(site, CONFIG)


def _digest_json_whole(view: SiteView) -> bytes:
    """digest.json as the whole-string encoding made it before it was streamed."""
    generated = view.site.generated
    data = {
        "title": view.config.title,
        "generated": aware(generated).isoformat() if generated else None,
        "stories": [story_record(v, s.articles) for s, v in view.stories_with_models()],
    }
    return dump_json(data, indent=None).encode("utf-8")


def _search_json_whole(view: SiteView) -> bytes:
    stories = [
        {
            "title": v.title,
            "summary": v.summary_text,
            "page": v.page,
            "date": v.day.isoformat() if v.day else None,
            "sources": sorted({s.name for s in v.sources}),
        }
        for _, v in view.stories_with_models()
    ]
    return dump_json({"stories": stories}, indent=None).encode("utf-8")


@pytest.mark.parametrize("evil", [False, True])
@pytest.mark.parametrize("chunk_chars", [1, 7, 1 << 16])
def test_streamed_files_equal_the_whole_string_encoding(
    evil: bool, chunk_chars: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digest.views, "JSON_CHUNK_CHARS", chunk_chars)
    view = _view(make_site(evil=evil))
    chunks = list(digest_json(view))
    assert b"".join(chunks) == _digest_json_whole(view)
    assert b"".join(search_json(view)) == _search_json_whole(view)
    if chunk_chars == 1:
        stories = len(list(view.stories_by_day()))
        assert len(chunks) > stories, "small chunks really are passed on one by one"


def test_an_empty_site_streams_the_same_bytes() -> None:
    view = _view(Site(days=()))
    assert b"".join(digest_json(view)) == _digest_json_whole(view)
    assert b"".join(search_json(view)) == b'{"stories":[]}\n'


@pytest.mark.parametrize(
    "head",
    [{}, {"a": 1, "z": None}, {"title": "x <b> & é", "generated": "2025", "zz": [1, {"b": 2}]}],
)
def test_dump_json_chunks_is_dump_json(head: dict[str, Any]) -> None:
    items = [{"b": "<&>", "a": [1.5, None, True]}, "ü ☀ \u2028", 3]
    whole = dump_json({**head, "stories": items}, indent=None).encode("utf-8")
    assert b"".join(dump_json_chunks(head, "stories", iter(items))) == whole
    assert json.loads(whole)["stories"] == items


def test_dump_json_chunks_refuses_a_key_given_twice() -> None:
    with pytest.raises(ValueError, match="both"):
        list(dump_json_chunks({"stories": 1}, "stories", []))


def test_records_are_made_one_by_one_as_chunks_are_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[str] = []
    original = digest.jsondata.story_record

    def counting(view: Any, articles: tuple[Article, ...]) -> dict[str, Any]:
        made.append(view.id)
        return original(view, articles)

    monkeypatch.setattr(digest.jsondata, "story_record", counting)
    monkeypatch.setattr(digest.views, "JSON_CHUNK_CHARS", 1)
    chunks = digest_json(_view(make_site()))
    assert made == []
    next(chunks)
    next(chunks)
    assert len(made) < 5, "not every record is made before the first chunks go out"
    list(chunks)
    assert made == ["budget", "storm", "rates", "june", "undated-note"]


def test_the_record_memo_is_reused_and_updated_once_streamed() -> None:
    view = _view(make_site())
    memo: RecordMemo = {}
    first = b"".join(digest_json(view, memo))
    assert len(memo) == 5
    records = {key: record for key, (_, record) in memo.items()}
    again = b"".join(digest_json(view, memo))
    assert again == first == _digest_json_whole(view)
    assert all(memo[key][1] is record for key, record in records.items()), "records reused"
