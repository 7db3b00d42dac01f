"""The machine-readable files: ``digest.json`` (the contract in DESIGN.md) and ``search.json``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from digest.model import Article
from digest.views import (
    SiteView,
    StoryView,
    article_link,
    aware,
    clean_text,
    dump_json_chunks,
    safe_url,
)


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


def digest_json(site: SiteView, memo: RecordMemo | None = None) -> Iterator[bytes]:
    """digest.json as UTF-8 chunks, each story's record made when its turn comes.

    Without a memo (a one-shot build) no record outlives its chunk. ``memo`` (a long-lived
    renderer's, one per config) reuses unchanged stories' records, and is updated once the
    last chunk has been asked for.
    """
    generated = site.site.generated
    head = {
        "title": site.config.title,
        "generated": aware(generated).isoformat() if generated else None,
    }
    return dump_json_chunks(head, "stories", _story_records(site, memo))


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


def search_json(site: SiteView) -> Iterator[bytes]:
    """Headlines and summaries with their page links, for static/search.js, as UTF-8 chunks.

    Compact: only browsers read it, and it is downloaded on the first search.
    """
    stories = (
        {
            "title": v.title,
            "summary": v.summary_text,
            "page": v.page,
            "date": v.day.isoformat() if v.day else None,
            "sources": sorted({s.name for s in v.sources}),
        }
        for _, v in site.stories_with_models()
    )
    return dump_json_chunks({}, "stories", stories)
