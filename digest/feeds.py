"""Atom and JSON Feed 1.1: one entry per day, newest first, its stories as the entry's HTML.

Times come from the articles (the day's newest), never from the clock, so a feed is the same bytes
for the same input. Without ``base_url`` links are relative to the site root, where both feeds
live; readers resolve them against the feed's own address.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from digest.config import Config
from digest.model import Site
from digest.output import KeptFile
from digest.views import DayView, Urls, dump_json, rfc3339

if TYPE_CHECKING:
    from digest.render import Renderer

FEED_DAYS = 30  # readers only need recent days; the archive has the rest
EPOCH = "1970-01-01T00:00:00Z"  # "updated" of a feed with nothing dated in it
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True)
class FeedEntry:
    id: str
    url: str
    title: str
    summary: str
    content_html: str  # plain str: the feed template escapes it once more, as Atom wants
    updated: str  # RFC 3339, UTC


def entry_id(config: Config, day: DayView) -> str:
    """A permanent id: the day's URL, or a name-based UUID when there is no URL to use."""
    if config.base_url:
        return config.base_url + day.path
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"digest:{day.day.isoformat()}"))


def day_updated(day: DayView, config: Config) -> str:
    if day.updated:
        return rfc3339(day.updated)
    return rfc3339(datetime.combine(day.day, time(), tzinfo=config.tz))


def feed_entries(r: Renderer) -> list[FeedEntry]:
    config = r.config
    urls = Urls(config, "feed.xml")
    entries = []
    models = {d.day: d for d in r.view.site.days}
    for day in sorted(r.view.days, key=lambda d: d.day, reverse=True)[:FEED_DAYS]:
        html = r.memoized(
            ("feed entry", day.day),
            tuple(models[day.day].stories),
            lambda day=day: r.render(
                "feed_entry.html", "feed.xml", day=day, href=urls.absolute_href
            ),
        )
        entries.append(
            FeedEntry(
                id=entry_id(config, day),
                url=urls(day.path, absolute=True),
                title=f"{day.label}: {day.count_label}",
                summary="; ".join(s.title for s in day.stories),
                content_html=html.strip(),
                updated=day_updated(day, config),
            )
        )
    return entries


def feed_updated(r: Renderer, entries: list[FeedEntry]) -> str:
    if entries:
        return max(e.updated for e in entries)
    generated = r.view.site.generated
    return rfc3339(generated) if generated else EPOCH


def feed_id(config: Config) -> str:
    if config.base_url:
        return config.base_url
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"digest:{config.title}"))


def json_feed(config: Config, entries: list[FeedEntry]) -> str:
    urls = Urls(config, "feed.json")
    feed = {
        "version": JSON_FEED_VERSION,
        "title": config.title,
        "description": config.description,
        "home_page_url": urls("", absolute=True),
        "feed_url": urls("feed.json", absolute=True),
        "language": config.language,
        "authors": [{"name": config.title}],
        "items": [
            {
                "id": e.id,
                "url": e.url,
                "title": e.title,
                "summary": e.summary,
                "content_html": e.content_html,
                "date_published": e.updated,
                "date_modified": e.updated,
            }
            for e in entries
        ],
    }
    return dump_json(feed, indent=2)


def render_feeds(r: Renderer) -> dict[str, str | KeptFile]:
    """feed.xml (Atom) and feed.json (JSON Feed 1.1); their entries are made only when one of
    them is (the page record may keep both)."""
    entries = functools.cache(lambda: feed_entries(r))
    inputs = _feed_inputs(r.view.site)

    def atom() -> str:
        return r.render(
            "feed.xml",
            "feed.xml",
            entries=[asdict(e) for e in entries()],
            feed_id=feed_id(r.config),
            updated=feed_updated(r, entries()),
        )

    return {
        "feed.xml": r.file("feed.xml", inputs, atom),
        "feed.json": r.file("feed.json", inputs, lambda: json_feed(r.config, entries())),
    }


def _feed_inputs(site: Site) -> tuple[Any, ...]:
    """What the feeds are made from: the newest days' stories and the site's newest time."""
    days = sorted(site.days, key=lambda d: d.day, reverse=True)[:FEED_DAYS]
    return (site.generated, *((day.day, tuple(day.stories)) for day in days))
