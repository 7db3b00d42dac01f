"""The machine-readable files: ``digest.json`` (the contract in DESIGN.md) and ``search.json``."""

from __future__ import annotations

from typing import Any

from digest.model import Article
from digest.views import (
    SiteView,
    StoryView,
    article_link,
    aware,
    clean_text,
    dump_json,
    safe_url,
)


def _dumps(data: Any) -> str:
    # Compact: only then does json use its C encoder (5-10x faster on a 6,000-article digest).
    return dump_json(data, indent=None)


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


def digest_json(site: SiteView, memo: RecordMemo | None = None) -> str:
    """``memo`` (a long-lived renderer's, one per config) reuses unchanged stories' records."""
    records = []
    live: RecordMemo = {}
    for story, view in site.stories_with_models():
        hit = memo.get(id(view)) if memo is not None else None
        record = (
            hit[1] if hit is not None and hit[0] is view else story_record(view, story.articles)
        )
        live[id(view)] = (view, record)
        records.append(record)
    if memo is not None:
        memo.clear()
        memo.update(live)
    generated = site.site.generated
    return _dumps(
        {
            "title": site.config.title,
            "generated": aware(generated).isoformat() if generated else None,
            "stories": records,
        }
    )


def search_json(site: SiteView) -> str:
    """Headlines and summaries with their page links, for static/search.js."""
    stories = [
        {
            "title": v.title,
            "summary": v.summary_text,
            "page": v.page,
            "date": v.day.isoformat() if v.day else None,
            "sources": sorted({s.name for s in v.sources}),
        }
        for _, v in site.stories_with_models()
    ]
    # Compact: only browsers read it, and it is downloaded on the first search.
    return dump_json({"stories": stories}, indent=None)
