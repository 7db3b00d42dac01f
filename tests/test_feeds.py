"""Feeds, sitemap and robots.txt: parse with real parsers, absolute URLs, stable times."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import feedparser

from digest.model import Day, Site, Story
from tests.test_render import EVIL, make_article, make_site, render

BASE = "https://user.github.io/repo/"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def parse_atom(files: dict[str, bytes]) -> feedparser.FeedParserDict:
    feed = feedparser.parse(files["feed.xml"])
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


def test_atom_parses_with_one_entry_per_day_newest_first() -> None:
    feed = parse_atom(render(base_url=BASE))
    assert feed.feed.title == "Daily digest"
    assert [e.link for e in feed.entries] == [
        BASE + "2025/07/03/",
        BASE + "2025/07/02/",
        BASE + "2025/06/30/",
    ]
    first = feed.entries[0]
    assert first.title == "Thursday, 3 July 2025: 2 stories"
    assert first.id == BASE + "2025/07/03/"
    # updated = the day's newest article (17:00 AEST), never the clock
    assert first.updated == "2025-07-03T07:00:00Z"
    assert feed.feed.updated == "2025-07-03T07:00:00Z"
    content = first.content[0].value
    assert "Parliament passes the budget" in content
    assert "Lawmakers approved the budget overnight." in content
    assert 'href="https://news.example/1"' in content
    assert f'href="{BASE}articles/art-3/"' in content  # local page, absolute
    assert f'href="{BASE}2025/07/03/#budget"' in content
    links = {link.rel: link.href for link in feed.feed.links}
    assert links["self"] == BASE + "feed.xml"
    assert links["alternate"] == BASE


def test_atom_without_base_url_is_valid_and_relative() -> None:
    files = render()
    feed = parse_atom(files)
    assert feed.entries[0].link == "2025/07/03/index.html"
    assert feed.entries[0].id.startswith("urn:uuid:")
    assert "base_url is not set" in files["feed.xml"].decode()


def test_atom_escapes_untrusted_text() -> None:
    files = render(make_site(evil=True), base_url=BASE)
    raw = files["feed.xml"].decode()
    assert "<script>" not in raw
    feed = parse_atom(files)
    content = feed.entries[0].content[0].value
    # one level of escaping survives parsing: the reader shows the text, never runs it
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "javascript:" not in content


def test_control_characters_do_not_break_xml() -> None:
    article = make_article(1, title="Bell\x07 and \x0bvertical tab", published=datetime(2025, 7, 3))
    story = Story(id="s", articles=(article,), title="Odd\x00 title\x1f", day=date(2025, 7, 3))
    files = render(Site(days=(Day(date(2025, 7, 3), (story,)),)), base_url=BASE)
    feed = parse_atom(files)
    assert "Odd title" in feed.entries[0].content[0].value
    ET.fromstring(files["sitemap.xml"])


def test_feed_keeps_the_newest_30_days() -> None:
    start = date(2025, 1, 1)
    days = []
    for n in range(40):
        day = start + timedelta(days=n)
        published = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        story = Story(id=f"s{n}", articles=(make_article(n, published=published),), day=day)
        days.append(Day(day, (story,)))
    files = render(Site(days=tuple(reversed(days))), base_url=BASE)
    feed = parse_atom(files)
    assert len(feed.entries) == 30
    assert feed.entries[0].link == BASE + "2025/02/09/"
    assert len(json.loads(files["feed.json"])["items"]) == 30


def test_empty_site_feeds_are_valid() -> None:
    files = render(Site(days=()), base_url=BASE)
    feed = parse_atom(files)
    assert feed.entries == []
    assert feed.feed.updated == "1970-01-01T00:00:00Z"
    assert json.loads(files["feed.json"])["items"] == []


def test_json_feed_fields_per_1_1() -> None:
    files = render(make_site(evil=True), base_url=BASE)
    data = json.loads(files["feed.json"])
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert data["title"] == "Daily digest"
    assert data["home_page_url"] == BASE
    assert data["feed_url"] == BASE + "feed.json"
    assert data["authors"] == [{"name": "Daily digest"}]
    item = data["items"][0]
    assert {"id", "url", "title", "content_html", "date_published"} <= set(item)
    assert item["url"] == BASE + "2025/07/03/"
    assert item["date_published"] == "2025-07-03T07:00:00Z"
    assert EVIL not in item["content_html"]  # the untrusted title is escaped in the HTML
    assert "&lt;script&gt;" in item["content_html"]
    assert "<script>" not in files["feed.json"].decode()  # and < is \u003c in the JSON text
    for other in data["items"]:
        assert isinstance(other["id"], str) and other["id"]


def test_sitemap_parses_with_absolute_urls() -> None:
    files = render(base_url=BASE)
    root = ET.fromstring(files["sitemap.xml"])
    locs = [loc.text for loc in root.iter(SITEMAP_NS + "loc")]
    assert all(loc and loc.startswith(BASE) for loc in locs)
    assert set(locs) == {
        BASE,
        BASE + "archive/",
        BASE + "2025/07/03/",
        BASE + "2025/07/02/",
        BASE + "2025/06/30/",
        BASE + "undated/",
        BASE + "articles/art-3/",
        BASE + "articles/art-7/",
    }
    lastmods = {u.find(SITEMAP_NS + "loc").text: u.find(SITEMAP_NS + "lastmod") for u in root}
    assert lastmods[BASE + "2025/07/03/"].text == "2025-07-03"


def test_sitemap_without_base_url_still_parses() -> None:
    files = render()
    root = ET.fromstring(files["sitemap.xml"])
    assert root.tag == SITEMAP_NS + "urlset"
    assert "Sitemap:" not in files["robots.txt"].decode()


def test_feeds_are_deterministic() -> None:
    first, second = render(base_url=BASE), render(base_url=BASE)
    for name in ("feed.xml", "feed.json", "sitemap.xml", "robots.txt"):
        assert first[name] == second[name], name
