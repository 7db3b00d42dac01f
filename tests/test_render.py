"""render_site: the file set, pages, links, escaping, overrides and determinism."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from digest.config import Config
from digest.model import Article, Day, Site, Story, SummarySentence
from digest.render import article_link, default_theme_dir, render_site

AEST = timezone(timedelta(hours=10))
EVIL = "<script>alert(1)</script>"


def make_article(
    n: int,
    *,
    title: str = "",
    source: str | None = "Reuters",
    url: str | None = "auto",
    published: datetime | None = None,
    fmt: str = "text",
    body: str = "",
) -> Article:
    return Article(
        id=f"art-{n}",
        path=f"2025/{n}.md",
        format=fmt,  # type: ignore[arg-type]
        title=title or f"Article number {n}",
        title_given=True,
        body=body or f"Body of article {n}.\nA second paragraph.",
        text=body or f"Body of article {n}.",
        source=source,
        url=f"https://news.example/{n}" if url == "auto" else url,
        published=published,
    )


def make_site(*, evil: bool = False) -> Site:
    """Three days (one with two stories), a url-less article and an undated story.

    With ``evil`` every untrusted field carries markup or a javascript: URL.
    """
    t = "Evil " + EVIL if evil else ""
    a1 = make_article(1, published=datetime(2025, 7, 3, 15, 27, tzinfo=AEST), title=t)
    a2 = make_article(
        2,
        source=EVIL if evil else "AP",
        url="javascript:alert(1)" if evil else "https://other.example/2",
        published=datetime(2025, 7, 3, 16, 0, tzinfo=AEST),
    )
    a3 = make_article(
        3,
        source=None,
        url=None,
        published=datetime(2025, 7, 3, 17, 0, tzinfo=AEST),
        fmt="markdown",
        title=t or "Local only",
        body="Some **bold** words and [a link](https://ok.example/x).\n\n"
        + ("[click](javascript:alert(1)) ![img](javascript:alert(2)) " + EVIL if evil else ""),
    )
    a4 = make_article(4, published=datetime(2025, 7, 3, 9, 0, tzinfo=AEST), source="ANI")
    a5 = make_article(5, published=datetime(2025, 7, 2, 8, 0, tzinfo=AEST))
    a6 = make_article(6, published=datetime(2025, 6, 30, 8, 0, tzinfo=AEST))
    a7 = make_article(7, url=None, source="Blog", title=t or "Undated note", fmt="text")
    s1 = Story(
        id="budget",
        articles=(a1, a2, a3),
        title=t or "Parliament passes the budget",
        summary=(
            SummarySentence("Lawmakers approved the budget overnight.", a1.id),
            SummarySentence(EVIL if evil else "The vote was 78 to 61.", a2.id),
            SummarySentence("Critics promised to fight on.", a3.id),
        ),
        day=date(2025, 7, 3),
    )
    s2 = Story(id="storm", articles=(a4,), title="Storm hits the coast", day=date(2025, 7, 3))
    s3 = Story(id="rates", articles=(a5,), title="Rates held", day=date(2025, 7, 2))
    s4 = Story(id="june", articles=(a6,), title="End of June", day=date(2025, 6, 30))
    s5 = Story(id="undated-note", articles=(a7,), title=t or "Undated note")
    days = (
        Day(date(2025, 7, 3), (s1, s2), previous=date(2025, 7, 2)),
        Day(date(2025, 7, 2), (s3,), previous=date(2025, 6, 30), next=date(2025, 7, 3)),
        Day(date(2025, 6, 30), (s4,), next=date(2025, 7, 2)),
    )
    return Site(days=days, undated=(s5,), generated=a3.published)


def render(site: Site | None = None, **config: object) -> dict[str, bytes]:
    config.setdefault("timezone", "Australia/Sydney")
    return render_site(site or make_site(), Config(**config), [default_theme_dir()])  # type: ignore[arg-type]


def text(files: dict[str, bytes], path: str) -> str:
    return files[path].decode("utf-8")


def hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', html)


def html_pages(files: dict[str, bytes]) -> dict[str, str]:
    return {p: b.decode("utf-8") for p, b in files.items() if p.endswith(".html")}


# --- the file set ----------------------------------------------------------------------------


def test_output_file_set() -> None:
    files = render(cname="news.example.org")
    expected = {
        "index.html",
        "2025/07/03/index.html",
        "2025/07/02/index.html",
        "2025/06/30/index.html",
        "archive/index.html",
        "undated/index.html",
        "articles/art-3/index.html",
        "articles/art-7/index.html",
        "404.html",
        "feed.xml",
        "feed.json",
        "sitemap.xml",
        "robots.txt",
        "digest.json",
        "search.json",
        ".nojekyll",
        "CNAME",
        "static/style.css",
        "static/search.js",
    }
    assert set(files) == expected
    assert files[".nojekyll"] == b""
    assert files["CNAME"] == b"news.example.org\n"


def test_no_cname_no_undated_page() -> None:
    site = make_site()
    files = render(Site(days=site.days))
    assert "CNAME" not in files
    assert "undated/index.html" not in files


def test_empty_site_has_friendly_index() -> None:
    files = render(Site(days=()))
    index = text(files, "index.html")
    assert "No stories yet" in index
    assert json.loads(files["digest.json"])["stories"] == []
    assert {"feed.xml", "feed.json", "sitemap.xml", "archive/index.html"} <= set(files)


def test_index_falls_back_to_undated_stories() -> None:
    site = make_site()
    index = text(render(Site(days=(), undated=site.undated)), "index.html")
    assert "Undated stories" in index
    assert "Undated note" in index


# --- digest.json -----------------------------------------------------------------------------


def test_digest_json_shape_and_every_article_once() -> None:
    site = make_site()
    data = json.loads(render(site)["digest.json"])
    stories = {s["id"]: s for s in data["stories"]}
    assert list(stories) == ["budget", "storm", "rates", "june", "undated-note"]
    budget = stories["budget"]
    assert budget["date"] == "2025-07-03"
    assert budget["page"] == "2025/07/03/#budget"
    lead = {"text": "Lawmakers approved the budget overnight.", "article": "art-1"}
    assert budget["summary"][0] == lead
    first, _, local = budget["articles"]
    assert set(first) >= {"id", "path", "title", "source", "published", "url", "link"}
    assert first["published"] == "2025-07-03T15:27:00+10:00"
    assert first["url"] == first["link"] == "https://news.example/1"
    assert local["url"] is None and local["link"] == "articles/art-3/"
    undated = stories["undated-note"]
    assert undated["date"] is None and undated["page"] == "undated/#undated-note"
    assert undated["articles"][0]["published"] is None
    ids = [a["id"] for s in data["stories"] for a in s["articles"]]
    expected = sorted(a.id for d in site.days for s in d.stories for a in s.articles)
    assert sorted(ids) == sorted(expected + ["art-7"])
    assert len(ids) == len(set(ids))


# --- pages -----------------------------------------------------------------------------------


def test_day_page_has_stories_summaries_and_sources() -> None:
    page = text(render(), "2025/07/03/index.html")
    assert '<html lang="en">' in page
    assert "<title>Thursday, 3 July 2025 · Daily digest</title>" in page
    assert '<h2 id="budget">Parliament passes the budget</h2>' in page
    assert '<h2 id="storm">' in page
    assert "Lawmakers approved the budget overnight." in page
    assert "3 sources" in page and "1 source" in page
    assert 'href="https://news.example/1"' in page
    assert 'href="https://other.example/2"' in page
    assert "Unknown source" in page  # art-3 has no outlet
    assert "3 Jul 2025, 15:27 AEST" in page  # local time in the site's zone
    assert 'rel="external noopener noreferrer"' in page
    assert "Daily digest" in page  # the site title on every page


def test_every_page_shows_site_title_and_feed_discovery() -> None:
    for path, page in html_pages(render(title="Morning Brief")).items():
        assert "Morning Brief" in page, path
        assert 'type="application/atom+xml"' in page, path
        assert 'type="application/feed+json"' in page, path
        assert '<meta name="description"' in page, path
        assert '<meta property="og:title"' in page, path


def test_local_article_page_and_link() -> None:
    site = make_site()
    local = site.days[0].stories[0].articles[2]
    assert article_link(local) == "articles/art-3/"
    assert article_link(site.days[0].stories[0].articles[0]) == "https://news.example/1"
    files = render(site)
    page = text(files, "articles/art-3/index.html")
    assert "<h1>Local only</h1>" in page
    assert "<strong>bold</strong>" in page  # Markdown rendered
    assert "Unknown source" in page
    assert "3 Jul 2025, 17:00 AEST" in page
    assert 'href="../../2025/07/03/index.html#budget"' in page  # back to its story
    day = text(files, "2025/07/03/index.html")
    assert 'href="../../../articles/art-3/index.html"' in day
    plain = text(files, "articles/art-7/index.html")
    assert "<p>Body of article 7.</p>\n<p>A second paragraph.</p>" in plain


def test_article_with_unsafe_url_gets_local_page() -> None:
    files = render(make_site(evil=True))
    assert "articles/art-2/index.html" in files
    record = json.loads(files["digest.json"])["stories"][0]["articles"][1]
    assert record["url"] is None and record["link"] == "articles/art-2/"


def test_previous_and_next_links() -> None:
    files = render()
    middle = text(files, "2025/07/02/index.html")
    assert 'rel="prev" href="../../../2025/06/30/index.html"' in middle
    assert 'rel="next" href="../../../2025/07/03/index.html"' in middle
    newest = text(files, "2025/07/03/index.html")
    assert 'rel="next"' not in newest
    oldest = text(files, "2025/06/30/index.html")
    assert 'rel="prev"' not in oldest


def test_index_is_latest_day() -> None:
    index = text(render(), "index.html")
    assert "<h1>Thursday, 3 July 2025</h1>" in index
    assert '<h2 id="budget">' in index
    assert "Rates held" not in index
    assert 'href="2025/07/03/index.html"' in index  # permanent page of the day
    assert 'href="undated/index.html"' in index


def test_archive_by_month_with_counts() -> None:
    archive = text(render(), "archive/index.html")
    july, june = archive.index("July 2025"), archive.index("June 2025")
    assert july < june  # newest month first
    day = r'href="../2025/07/03/index.html">Thursday, 3 July 2025</a>\s*'
    assert re.search(day + r'<span class="count">2 stories<', archive)
    other = r'href="../2025/07/02/index.html">[^<]+</a>\s*<span class="count">1 story<'
    assert re.search(other, archive)
    assert 'href="../undated/index.html"' in archive


def test_headings_in_order() -> None:
    for path, page in html_pages(render()).items():
        levels = [int(n) for n in re.findall(r"<h([1-6])[ >]", page)]
        assert levels and levels[0] == 1, path
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), path
        for landmark in ("<header", "<nav", "<main", "<footer", 'class="skip-link"'):
            assert landmark in page, (path, landmark)


# --- untrusted text --------------------------------------------------------------------------


def test_script_and_javascript_never_become_markup_or_links() -> None:
    files = render(make_site(evil=True), base_url="https://user.github.io/repo/")
    for path, raw in files.items():
        if path.startswith("static/"):
            continue
        body = raw.decode("utf-8")
        assert "<script>alert" not in body, path
        for link in hrefs(body):
            if link == "data:,":  # the theme's empty favicon: saves a request, loads nothing
                continue
            assert not link.strip().lower().startswith(("javascript:", "data:", "vbscript:")), path
        if path.endswith(".json"):
            for key in ("url", "link", "page", "home_page_url", "feed_url"):
                for value in re.findall(rf'"{key}": "([^"]*)"', body):
                    assert "javascript:" not in value.lower(), (path, key)
    page = text(files, "2025/07/03/index.html")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text
    assert "<script" not in page.replace('<script src="../../../static/search.js" defer>', "")


def test_markdown_body_raw_html_off_and_bad_links_inert() -> None:
    page = text(render(make_site(evil=True)), "articles/art-3/index.html")
    body = page[page.index('<div class="body">') :]
    assert "&lt;script&gt;" in body
    assert 'href="https://ok.example/x"' in body
    assert "<img" not in body  # images would load from other hosts
    assert "javascript:" not in "".join(hrefs(body))


# --- links and base_url ----------------------------------------------------------------------


def test_relative_links_without_base_url() -> None:
    files = render()
    for path, page in html_pages(files).items():
        for link in hrefs(page):
            if link.startswith(("https://", "http://", "#", "data:")):
                continue
            if path == "404.html":
                assert link.startswith("/"), (path, link)
            else:
                assert not link.startswith("/"), (path, link)
                target = link.split("#")[0]
                resolved = (Path("/site") / path).parent.joinpath(target).resolve()
                relative = resolved.relative_to("/site").as_posix()
                assert relative in files, (path, link)  # works from file://
    assert "canonical" not in text(files, "index.html")


ORIGINALS = ("https://news.example/", "https://other.example/", "https://ok.example/")


def test_base_url_sub_path() -> None:
    files = render(base_url="https://user.github.io/repo/")
    for path, page in html_pages(files).items():
        for link in hrefs(page):
            if link.startswith(ORIGINALS) or link == "data:,":
                continue
            ok = link.startswith(("/repo/", "https://user.github.io/repo/")) or not link.startswith(
                ("/", "http")
            )
            assert ok, (path, link)
    day = text(files, "2025/07/03/index.html")
    assert '<link rel="canonical" href="https://user.github.io/repo/2025/07/03/">' in day
    assert '<meta property="og:url" content="https://user.github.io/repo/2025/07/03/">' in day
    assert 'href="../../../archive/"' in day  # pretty links when served
    notfound = text(files, "404.html")
    assert 'href="/repo/static/style.css"' in notfound
    assert 'href="/repo/archive/"' in notfound
    assert "Sitemap: https://user.github.io/repo/sitemap.xml" in text(files, "robots.txt")


def test_no_assets_from_other_hosts() -> None:
    files = render(make_site(evil=True), base_url="https://user.github.io/repo/")
    for path, page in html_pages(files).items():
        assets = re.findall(r"<(?:script|img|iframe|link|source|video|audio)\b[^>]*>", page)
        for tag in assets:
            if 'rel="alternate"' in tag or 'rel="canonical"' in tag:
                continue
            assert not re.search(r'(?:src|href)="(?:https?:)?//', tag), (path, tag)
        assert "@import" not in page and "url(http" not in page, path
    for name in ("static/style.css", "static/search.js"):
        assert not re.search(r"https?://|url\(//", files[name].decode()), name


# --- themes ----------------------------------------------------------------------------------


def test_user_template_overrides_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "archive.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>My archive</h1>{% endblock %}',
        encoding="utf-8",
    )
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "style.css").write_text("body{color:red}", encoding="utf-8")
    (tmp_path / "static" / "extra.txt").write_text("hello", encoding="utf-8")
    files = render_site(make_site(), Config(), [tmp_path, default_theme_dir()])
    assert "<h1>My archive</h1>" in text(files, "archive/index.html")
    assert "Daily digest" in text(files, "archive/index.html")  # base.html still the theme's
    assert files["static/style.css"] == b"body{color:red}"
    assert files["static/extra.txt"] == b"hello"
    assert "static/search.js" in files
    assert "<h1>Thursday, 3 July 2025</h1>" in text(files, "2025/07/03/index.html")


def test_template_typo_fails_loudly(tmp_path: Path) -> None:
    import jinja2

    (tmp_path / "archive.html").write_text("{{ no_such_variable }}", encoding="utf-8")
    with pytest.raises(jinja2.UndefinedError):
        render_site(make_site(), Config(), [tmp_path, default_theme_dir()])


def test_default_theme_dir_has_templates() -> None:
    theme = default_theme_dir()
    for name in ("base.html", "day.html", "index.html", "archive.html", "feed.xml", "404.html"):
        assert (theme / name).is_file(), name
    assert (theme / "static" / "style.css").is_file()


# --- determinism -----------------------------------------------------------------------------


def test_same_input_same_bytes() -> None:
    first = render(make_site(evil=True), base_url="https://user.github.io/repo/")
    second = render(make_site(evil=True), base_url="https://user.github.io/repo/")
    assert first == second
    assert list(first) == sorted(first)


def test_search_index() -> None:
    data = json.loads(render()["search.json"])
    entry = data["stories"][0]
    assert entry["title"] == "Parliament passes the budget"
    assert entry["page"] == "2025/07/03/#budget"
    assert "Lawmakers approved" in entry["summary"]
    assert data["stories"][-1]["page"] == "undated/#undated-note"


# --- reuse between builds of one process ------------------------------------------------------


def test_page_memo_reuses_unchanged_pages_and_redoes_changed_ones() -> None:
    from digest.render import PageMemo

    memo = PageMemo()
    config = Config(timezone="Australia/Sydney")
    site = make_site()
    first = render_site(site, config, [default_theme_dir()], memo)
    assert memo.last_hits == 0
    # A new build: the storm story gets a new headline; every other story is the same object.
    old_day = site.days[0]
    storm = old_day.stories[1].replace(title="Storm reaches the capital")
    days = (Day(old_day.day, (old_day.stories[0], storm), previous=old_day.previous),) + site.days[
        1:
    ]
    second = render_site(
        site.__class__(days, site.undated, site.generated), config, [default_theme_dir()], memo
    )
    assert memo.last_hits > 0, "unchanged pages came from the memo"
    assert "Storm reaches the capital" in text(second, "2025/07/03/index.html")
    assert "Storm reaches the capital" in text(second, "digest.json")
    assert second["2025/07/02/index.html"] == first["2025/07/02/index.html"]
    fresh = render_site(
        site.__class__(days, site.undated, site.generated), config, [default_theme_dir()]
    )
    assert second == fresh, "a memoized build writes the same bytes as a fresh one"


def test_urls_taken_at_a_glance_are_judged_as_the_long_way_judges_them() -> None:
    """safe_url's shortcut for plain http(s) URLs accepts exactly what taking them apart does."""
    import random
    import string

    from digest import views

    urls = [
        "https://example.org/a",
        "HTTPS://A.B:8080/p?q=1#f",
        "http://a:",
        "http://a/[x]?y={2}|~%20",
        "http://[::1]/",
        "http://user@host/",
        "http://host/\\x",
        "http://a b/",
        "https:///path",
        "http://a.b/ü",
        "http:/a",
        "javascript:alert(1)",
    ]
    rng = random.Random(3)
    alphabet = string.printable + "üé[]@:"
    for _ in range(5000):
        scheme = rng.choice(["http://", "https://", "HtTp://", "http:/", ""])
        urls.append(scheme + "".join(rng.choices(alphabet, k=rng.randint(0, 15))))
    taken_at_a_glance = 0
    for url in urls:
        assert views.safe_url(url) == views._checked_url(url.strip()), url
        taken_at_a_glance += views._PLAIN_URL.fullmatch(url.strip()) is not None
    assert taken_at_a_glance > 100  # the shortcut is really taken


def test_compiling_the_templates_ahead_skips_one_that_fails_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    import jinja2

    from digest.render import compile_templates, make_environment

    (tmp_path / "unused.html").write_text("{% if %}broken")
    (tmp_path / "latin1.html").write_bytes("caf\xe9".encode("latin-1"))  # not UTF-8
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.html").write_text("{{ not a template }")  # a static file
    env = make_environment([tmp_path, default_theme_dir()])
    compile_templates(env)
    cached = {name for _, name in env.cache}  # (loader, name) -> compiled template
    assert {"day.html", "base.html", "feed.xml", "robots.txt"} <= cached
    assert not {"unused.html", "latin1.html", "static/app.html"} & cached
    with pytest.raises(jinja2.TemplateSyntaxError):
        env.get_template("unused.html")  # still reported to whoever uses it


def test_markdown_it_is_imported_only_when_a_markdown_body_is_rendered() -> None:
    # ~30 ms of a one-article edit, whose pages rendered again are often all plain text.
    run = (
        "import dataclasses, sys\n"
        "from tests.test_render import make_site, render\n"
        "site = make_site()\n"
        "render(dataclasses.replace(site, days=site.days[1:]))  # no Markdown article\n"
        "assert 'markdown_it' not in sys.modules\n"
        "page = render(site)['articles/art-3/index.html']\n"
        "assert 'markdown_it' in sys.modules and b'<strong>bold</strong>' in page\n"
    )
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", run], check=True, cwd=root)
