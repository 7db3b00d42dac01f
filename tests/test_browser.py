"""End to end in headless Chromium: a save reloads the open page; a broken template, an overlay."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from digest.build import Builder, BuildOptions
from digest.livereload import OVERLAY_ID
from digest.serve import DevServer

from .conftest import SAMPLE_CONTENT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT = 10.0  # seconds the page gets to react to a save

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
    pytest.skip(
        f"needs {CHROMIUM} and {CHROMEDRIVER} (Debian: apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def site_options(tmp_path: Path) -> BuildOptions:
    site = tmp_path / "site-folder"
    if (site / "digest.toml").is_file():
        return _options(site)
    (site / "content").mkdir(parents=True)
    for path in SAMPLE_CONTENT.glob("*.txt"):
        shutil.copy(path, site / "content" / path.name)
    (site / "digest.toml").write_text('title = "Browser test digest"\n', encoding="utf-8")
    return _options(site)


def _options(site: Path) -> BuildOptions:
    return BuildOptions(
        config_path=site / "digest.toml",
        content_dir=site / "content",
        output_dir=site / "site",
        site_dir=site,
    )


def start_server(options: BuildOptions, port: int = 0) -> DevServer:
    dev = DevServer(options, port=port, builder=Builder(options, workers=1))
    dev.start()
    deadline = time.monotonic() + 60
    while dev.site.state.status().epoch == 0:
        if dev.site.state.status().error is not None or time.monotonic() > deadline:
            dev.stop()
            raise AssertionError(f"the first build failed: {dev.site.state.status().error}")
        time.sleep(0.05)
    return dev


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DevServer]:
    dev = start_server(site_options(tmp_path))
    try:
        yield dev
    finally:
        dev.stop()


def poll(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # the page may be mid-reload: look again
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last})")


def overlay_text(driver: Any) -> str | None:
    return driver.execute_script(
        "var o = document.getElementById(arguments[0]); return o ? o.textContent : null;",
        OVERLAY_ID,
    )


def marker(driver: Any) -> Any:
    return driver.execute_script("return window.__marker === undefined ? null : window.__marker;")


def test_save_reloads_page_and_template_error_shows_overlay(
    server: DevServer, browser: Any
) -> None:
    digest = json.loads((server.site.root / "digest.json").read_text(encoding="utf-8"))
    story = digest["stories"][0]
    browser.get(f"{server.url}/{story['page'].split('#')[0]}")
    assert "Browser test digest" in browser.page_source
    poll(lambda: browser.execute_script("return document.readyState") == "complete", "load")

    # 1. A new article saved: the page reloads by itself and shows it.
    browser.execute_script("window.__marker = 1;")
    title = f"Unique reload headline {time.time_ns()}"
    article = (
        f'---\ntitle: "{title}"\ndate: {story["date"]}T12:00:00+00:00\nsource: Test Wire\n---\n'
        "Harbour workers held a meeting on Thursday. They agreed to new shifts. "
        "The port will stay open at night.\n"
    )
    (server.site.options.content_dir / "new-article.md").write_text(article, encoding="utf-8")
    poll(lambda: title in browser.page_source, "the new article on the page")
    assert marker(browser) is None, "the page was not reloaded"

    # 2. A broken template: the page keeps the last good site and shows the error over it.
    browser.execute_script("window.__marker = 2;")
    templates = server.site.options.templates_dir
    templates.mkdir()
    (templates / "day.html").write_text(
        '{% extends "base.html" %}\n{% block content %}\n{% for %}\n{% endblock %}\n',
        encoding="utf-8",
    )
    shown = poll(lambda: overlay_text(browser), "the error overlay")
    assert "day.html" in shown
    assert marker(browser) == 2, "a failed build must not reload the page"
    assert title in browser.page_source  # the last good page is still underneath

    # 3. Mended: the overlay goes, the page reloads and shows the content again.
    (templates / "day.html").unlink()
    poll(lambda: marker(browser) is None and overlay_text(browser) is None, "the reload")
    poll(lambda: title in browser.page_source, "the content after the fix")


def test_page_reconnects_and_reloads_after_a_server_restart(tmp_path: Path, browser: Any) -> None:
    options = site_options(tmp_path)
    first = start_server(options)
    try:
        port = first.port
        browser.get(first.url + "/")
        poll(lambda: browser.execute_script("return document.readyState") == "complete", "load")
        browser.execute_script("window.__marker = 3;")
    finally:
        first.stop()
    time.sleep(1.5)  # the page's event stream is down and retrying
    assert marker(browser) == 3
    second = start_server(options, port=port)  # a new process would have a new epoch too
    try:
        poll(lambda: marker(browser) is None, "the reload after the restart", timeout=15)
        assert "Browser test digest" in browser.page_source
    finally:
        second.stop()
