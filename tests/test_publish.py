"""Publishing acceptance: the built site works when served under a sub-path, as on GitHub Pages.

A project site lives at https://user.github.io/<repo>/, so the sample site is built with
``--base-url http://127.0.0.1:<port>/sub/path/`` and served there by a plain static server that
knows nothing but files (no rewriting, no redirects; unknown paths under the sub-path get the
site's 404.html with status 404, as GitHub Pages does). Every page reachable from the front page
and the feeds is then crawled.

These tests need the renderer; when it is broken they fail, never skip.
"""

from __future__ import annotations

import json
import mimetypes
import os
import posixpath
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import feedparser
import pytest

from digest import scaffold
from tests.conftest import REPO, SAMPLE_CONTENT

PREFIX = "/sub/path/"
MAX_PAGES = 2000  # a crawl that finds more is a link-generation bug, not a big site
HTTP_TIMEOUT = 10
# Which attribute of which tag is a reference the crawler checks.
REFERENCES = {"a": "href", "link": "href", "script": "src", "img": "src"}
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
JSON_FEED_TOP = {
    "version",
    "title",
    "home_page_url",
    "feed_url",
    "description",
    "user_comment",
    "next_url",
    "icon",
    "favicon",
    "authors",
    "author",
    "language",
    "expired",
    "hubs",
    "items",
}
JSON_FEED_ITEM = {
    "id",
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "image",
    "banner_image",
    "date_published",
    "date_modified",
    "authors",
    "author",
    "tags",
    "language",
    "attachments",
}


# -- the static server ----------------------------------------------------------------------------


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    root: Path  # the built site, served at PREFIX


class StaticHandler(BaseHTTPRequestHandler):
    """Files under PREFIX; a folder URL ending in "/" serves its index.html; nothing else."""

    server: SiteServer

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if not path.startswith(PREFIX):
            self._send(404, b"not under the site's path", "text/plain", send_body)
            return
        target = self._file_for(path[len(PREFIX) :])
        if target is None:
            page = (self.server.root / "404.html").read_bytes()
            self._send(404, page, "text/html; charset=utf-8", send_body)
            return
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self._send(200, target.read_bytes(), kind, send_body)

    def _file_for(self, rel: str) -> Path | None:
        normal = posixpath.normpath("/" + rel)
        if normal != "/" + rel.rstrip("/") and rel not in ("", "/"):
            return None  # dot segments or doubled slashes: no real site links like that
        target = self.server.root / normal.lstrip("/")
        if rel.endswith("/") or rel == "":
            target = target / "index.html"
        return target if target.is_file() else None

    def _send(self, status: int, body: bytes, kind: str, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib's name)
        pass  # quiet test output


@dataclass
class Published:
    root: Path  # the built site folder
    base: str  # http://127.0.0.1:<port>/sub/path/
    host: str  # 127.0.0.1:<port>


def build_sample_site(site: Path, base_url: str) -> Path:
    """The repository's sample content plus a Markdown article on another day and an undated
    one, so day navigation, an original's link and the undated list are crawled too."""
    shutil.copytree(SAMPLE_CONTENT, site / "content")
    extra = site / "content" / "extra"
    extra.mkdir()
    (extra / "example.md").write_text(scaffold.example_article(date(2025, 7, 1)), encoding="utf-8")
    (extra / "undated.md").write_text(
        "---\ntitle: A note without a date\nsource: Desk\n---\n\nThis note has no date at all.\n"
        "It is still shown, in the undated list.\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "digest", "build", "--base-url", base_url],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, f"build failed:\n{result.stderr}"
    return site / "site"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    server = SiteServer(("127.0.0.1", 0), StaticHandler)  # the port first: the build needs it
    host = f"127.0.0.1:{server.server_address[1]}"
    base = f"http://{host}{PREFIX}"
    server.root = build_sample_site(tmp_path_factory.mktemp("publish"), base)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Published(server.root, base, host)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# -- fetching and parsing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    kind: str


def fetch(url: str) -> Response:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            return Response(response.status, response.read(), response.headers["Content-Type"])
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read(), error.headers.get("Content-Type", ""))


class RefParser(HTMLParser):
    """Collects (tag, attribute value) references and every element id of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"] or "")
        if tag == "a" and values.get("name"):
            self.ids.add(values["name"] or "")
        wanted = REFERENCES.get(tag)
        if wanted and values.get(wanted) is not None:
            self.refs.append((tag, (values[wanted] or "").strip()))


def parse_html(body: bytes) -> RefParser:
    parser = RefParser()
    parser.feed(body.decode("utf-8"))
    parser.close()
    return parser


@dataclass
class Crawl:
    pages: dict[str, Response] = field(default_factory=dict)  # fragment-less URL -> response
    ids: dict[str, set[str]] = field(default_factory=dict)  # HTML page URL -> its element ids
    problems: list[str] = field(default_factory=list)
    fragments: list[tuple[str, str, str]] = field(default_factory=list)  # (from, url, fragment)


def check_refs(site: Published, page: str, refs: list[tuple[str, str]], crawl: Crawl) -> list[str]:
    """Problems with one page's references; returns the same-host URLs to visit."""
    todo = []
    for tag, value in refs:
        absolute = urljoin(page, value)
        parts = urlsplit(absolute)
        if parts.scheme in ("data", "mailto"):
            continue
        if value.startswith("#"):  # within this page: its target is checked, nothing to fetch
            if value != "#":
                crawl.fragments.append((page, urldefrag(page)[0], value[1:]))
            continue
        if parts.scheme not in ("http", "https"):
            crawl.problems.append(f"{page}: <{tag}> {value!r} has scheme {parts.scheme!r}")
            continue
        if parts.netloc != site.host:
            if tag != "a":  # only links to originals may leave; assets and feeds must not
                crawl.problems.append(f"{page}: <{tag}> {value!r} loads from another host")
            continue
        if not parts.path.startswith(PREFIX):
            crawl.problems.append(f"{page}: <{tag}> {value!r} leaves {PREFIX} ({parts.path})")
            continue
        url, fragment = urldefrag(absolute)
        if fragment:
            crawl.fragments.append((page, url, fragment))
        todo.append(url)
    return todo


def crawl_site(site: Published, seeds: list[str]) -> Crawl:
    crawl = Crawl()
    queue = list(dict.fromkeys(seeds))
    referrer = {url: "(start)" for url in queue}
    while queue:
        url = queue.pop(0)
        if url in crawl.pages:
            continue
        assert len(crawl.pages) < MAX_PAGES, "the crawl does not end: URLs keep growing"
        response = fetch(url)
        crawl.pages[url] = response
        if response.status != 200:
            crawl.problems.append(f"{url} (linked from {referrer[url]}): HTTP {response.status}")
            continue
        refs = refs_of(url, response)
        for found in check_refs(site, url, refs, crawl):
            if found not in crawl.pages and found not in referrer:
                referrer[found] = url
                queue.append(found)
    return crawl


def refs_of(url: str, response: Response) -> list[tuple[str, str]]:
    """References in an HTML page, a feed (including the HTML inside entries) or a sitemap."""
    path = urlsplit(url).path
    if response.kind.startswith("text/html"):
        return parse_html(response.body).refs
    if path.endswith("feed.xml"):
        feed = feedparser.parse(response.body)
        refs = [("a", link.href) for entry in feed.entries for link in entry.links]
        for entry in feed.entries:
            for content in entry.get("content", []):
                refs += parse_html(content.value.encode("utf-8")).refs
        return refs
    if path.endswith("feed.json"):
        feed = json.loads(response.body)
        refs = [("a", item["url"]) for item in feed["items"] if item.get("url")]
        for item in feed["items"]:
            refs += parse_html(item.get("content_html", "").encode("utf-8")).refs
        return refs
    if path.endswith("sitemap.xml"):
        tree = ET.fromstring(response.body)
        return [("a", loc.text or "") for loc in tree.iter(f"{SITEMAP_NS}loc")]
    return []


@pytest.fixture(scope="module")
def crawled(published: Published) -> Crawl:
    names = ["", "feed.xml", "feed.json", "sitemap.xml", "robots.txt"]
    if (published.root / "search.json").is_file():  # fetched by the theme's search script
        names.append("search.json")
    seeds = [published.base + name for name in names]
    return crawl_site(published, seeds)


# -- the crawl ------------------------------------------------------------------------------------


def test_every_link_and_asset_answers_200_under_the_sub_path(crawled: Crawl) -> None:
    assert not crawled.problems, "\n".join(crawled.problems)


def test_the_crawl_reaches_every_page_of_the_site(published: Published, crawled: Crawl) -> None:
    """Every HTML page written is reachable (no orphan), and the crawl saw the whole site."""
    written = {
        published.base + p.relative_to(published.root).as_posix().removesuffix("index.html")
        for p in published.root.rglob("*.html")
        if p.name != "404.html"
    }
    assert written - set(crawled.pages) == set(), "pages no link leads to"
    html = [u for u, r in crawled.pages.items() if r.kind.startswith("text/html")]
    assert len(html) >= 5  # front page, archive, two days, undated or article pages


def test_links_to_fragments_find_their_target(crawled: Crawl) -> None:
    missing = []
    for page, url, fragment in crawled.fragments:
        target = crawled.pages.get(url)
        if target is None or not target.kind.startswith("text/html"):
            continue
        if fragment not in parse_html(target.body).ids:
            missing.append(f"{page}: #{fragment} not found in {url}")
    assert not missing, "\n".join(missing)


def test_pages_use_only_assets_of_the_site(crawled: Crawl) -> None:
    assets = [
        u for u, r in crawled.pages.items() if u.endswith((".css", ".js")) and r.status == 200
    ]
    assert any(u.endswith(".css") for u in assets), "no stylesheet was loaded"


def test_day_page_links_to_the_original_on_another_host(published: Published) -> None:
    """Article originals are the one kind of reference allowed to leave the site."""
    crawl = Crawl()
    day = fetch(published.base + "2025/07/01/")
    assert day.status == 200
    refs = parse_html(day.body).refs
    check_refs(published, published.base + "2025/07/01/", refs, crawl)
    assert not crawl.problems
    assert ("a", f"https://example.org/news/{scaffold.EXAMPLE_SLUG}") in refs


# -- 404.html -------------------------------------------------------------------------------------


def test_404_page_works_from_a_deep_path(published: Published) -> None:
    deep = published.base + "no/such/page/"
    response = fetch(deep)
    assert response.status == 404
    assert response.body == (published.root / "404.html").read_bytes()
    crawl = Crawl()
    todo = check_refs(published, deep, parse_html(response.body).refs, crawl)
    assert not crawl.problems, "\n".join(crawl.problems)
    assert any(u.endswith(".css") for u in todo), "the 404 page loads no stylesheet"
    broken = [u for u in dict.fromkeys(todo) if fetch(u).status != 200]
    assert not broken, f"404.html at a deep path has broken references: {broken}"


def test_server_is_plain(published: Published) -> None:
    """The server must not hide mistakes: nothing outside the sub-path, no folder guessing."""
    root_url = f"http://{published.host}/index.html"
    assert fetch(root_url).status == 404
    assert fetch(published.base + "archive").status == 404  # no redirect to archive/


# -- feeds and sitemap ----------------------------------------------------------------------------


def test_atom_feed_parses(published: Published) -> None:
    response = fetch(published.base + "feed.xml")
    assert response.status == 200
    feed = feedparser.parse(response.body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Daily digest"
    assert feed.feed.link == published.base
    assert any(
        link.rel == "self" and link.href == published.base + "feed.xml" for link in feed.feed.links
    )
    assert feed.entries
    for entry in feed.entries:
        assert entry.id and entry.title and entry.updated_parsed
        assert entry.link.startswith(published.base), entry.link


def test_json_feed_follows_version_1_1(published: Published) -> None:
    response = fetch(published.base + "feed.json")
    assert response.status == 200
    feed = json.loads(response.body)
    extra = {k for k in feed if k not in JSON_FEED_TOP and not k.startswith("_")}
    assert not extra, f"unknown top-level fields: {extra}"
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"] == "Daily digest"
    assert feed["home_page_url"] == published.base
    assert feed["feed_url"] == published.base + "feed.json"
    if "authors" in feed:
        assert all(isinstance(a, dict) and a.get("name") for a in feed["authors"])
    assert "author" not in feed  # deprecated in 1.1
    assert isinstance(feed["items"], list) and feed["items"]
    ids = [item["id"] for item in feed["items"]]
    assert len(set(ids)) == len(ids)
    for item in feed["items"]:
        extra = {k for k in item if k not in JSON_FEED_ITEM and not k.startswith("_")}
        assert not extra, f"unknown item fields: {extra}"
        assert isinstance(item["id"], str) and item["id"]
        assert item.get("content_html") or item.get("content_text")
        if "url" in item:
            assert item["url"].startswith(published.base), item["url"]
        for key in ("date_published", "date_modified"):
            if key in item:
                stamp = datetime.fromisoformat(item[key])
                assert stamp.tzinfo is not None, f"{key} {item[key]!r} is not RFC 3339"
        if "tags" in item:
            assert all(isinstance(t, str) for t in item["tags"])


def test_sitemap_lists_absolute_urls_under_the_base(published: Published) -> None:
    response = fetch(published.base + "sitemap.xml")
    assert response.status == 200
    tree = ET.fromstring(response.body)
    assert tree.tag == f"{SITEMAP_NS}urlset"
    locs = [loc.text or "" for loc in tree.iter(f"{SITEMAP_NS}loc")]
    assert published.base in locs
    assert len(locs) == len(set(locs))
    for loc in locs:
        assert loc.startswith(published.base), loc
        assert fetch(loc).status == 200, loc
    for lastmod in tree.iter(f"{SITEMAP_NS}lastmod"):
        datetime.fromisoformat(lastmod.text or "")
