"""The machine-readable files: ``digest.json`` (the contract in DESIGN.md) and ``search.json``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

from digest.model import Article, Story
from digest.views import (
    SiteView,
    StoryView,
    article_link,
    aware,
    clean_text,
    dump_json_chunks,
    encode_json_item,
    json_chunks_of_encoded,
    safe_url,
)

if TYPE_CHECKING:
    from digest.pagerecord import PageRecord


def article_record(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "path": article.path,
        "title": clean_text(article.title),
        "source": clean_text(article.source) or None,
        "published": aware(article.published).isoformat() if article.published else None,
        "url": safe_url(article.url),  # an unsafe URL is dropped: the local page stands in
        "link": article_link(article),
        "lang": article.lang,
        "tags": list(article.tags),
    }


def story_record(view: StoryView, articles: tuple[Article, ...]) -> dict[str, Any]:
    return {
        "id": view.id,
        "date": view.day.isoformat() if view.day else None,
        "title": view.title,
        "page": view.page,
        "summary": [{"text": s.text, "article": s.article} for s in view.summary],
        "articles": [article_record(a) for a in articles],
    }


# id(story view) -> (the view, its record): story views are reused for unchanged stories, and
# so are their records. The entry holds the view, so its id cannot be reused meanwhile.
RecordMemo = dict[int, tuple[StoryView, dict[str, Any]]]


def digest_json(
    site: SiteView, memo: RecordMemo | None = None, record: PageRecord | None = None
) -> Iterator[bytes]:
    """digest.json as UTF-8 chunks, each story's record made when its turn comes.

    Without a memo (a one-shot build) no record outlives its chunk. ``memo`` (a long-lived
    renderer's, one per config) reuses unchanged stories' records, and is updated once the
    last chunk has been asked for. ``record`` (a one-shot build's page record) gives each
    unchanged story's bytes as the last build encoded them.
    """
    generated = site.site.generated
    head = {
        "title": site.config.title,
        "generated": aware(generated).isoformat() if generated else None,
    }
    if record is None:
        return dump_json_chunks(head, "stories", _story_records(site, memo))
    return json_chunks_of_encoded(
        head, "stories", _encoded_stories(site, record, "digest.json", _encoded_record)
    )


def _encoded_record(site: SiteView, story: Story, day: date | None) -> bytes:
    return encode_json_item(story_record(site.story_views.of(story, day), story.articles))


def _encoded_stories(
    site: SiteView,
    record: PageRecord,
    file: str,
    encode: Callable[[SiteView, Story, date | None], bytes],
) -> Iterator[bytes | memoryview]:
    """Each story's bytes in ``file``: kept from the last build, or ``encode``d (and viewed)."""
    for story, day in site.stories_by_day():
        yield record.encoded(file, story, functools.partial(encode, site, story, day))


def _story_records(site: SiteView, memo: RecordMemo | None) -> Iterator[dict[str, Any]]:
    live: RecordMemo = {}
    for story, view in site.stories_with_models():
        hit = memo.get(id(view)) if memo is not None else None
        if hit is not None and hit[0] is view:
            record = hit[1]
        else:
            record = story_record(view, story.articles)
        if memo is not None:
            live[id(view)] = (view, record)
        yield record
    if memo is not None:
        memo.clear()
        memo.update(live)


def search_json(site: SiteView, record: PageRecord | None = None) -> Iterator[bytes]:
    """Headlines and summaries with their page links, for static/search.js, as UTF-8 chunks.

    Compact: only browsers read it, and it is downloaded on the first search. ``record`` as
    for ``digest_json``.
    """
    if record is None:
        entries = (search_entry(v) for _, v in site.stories_with_models())
        return dump_json_chunks({}, "stories", entries)
    return json_chunks_of_encoded(
        {}, "stories", _encoded_stories(site, record, "search.json", _encoded_search_entry)
    )


def search_entry(view: StoryView) -> dict[str, Any]:
    return {
        "title": view.title,
        "summary": view.summary_text,
        "page": view.page,
        "date": view.day.isoformat() if view.day else None,
        "sources": sorted({s.name for s in view.sources}),
    }


def _encoded_search_entry(site: SiteView, story: Story, day: date | None) -> bytes:
    return encode_json_item(search_entry(site.story_views.of(story, day)))
