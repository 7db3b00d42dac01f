"""``digest serve``: a real HTTP server on 127.0.0.1, a real watchdog observer, real files."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from digest.build import Builder, BuildOptions
from digest.livereload import EVENTS_PATH, SCRIPT_PATH, STATUS_PATH
from digest.serve import DevServer, content_type, resolve_request
from digest.watch import SETTLE

from .conftest import REPO, SAMPLE_CONTENT

TIMEOUT = 20.0  # seconds any wait in these tests may take before it fails

# Three stories on unrelated subjects, so an edit touches exactly one of them.
STORIES = {
    "volcano": (
        "Volcano erupts near island village",
        "2025-07-03T08:00:00+00:00",
        "A volcano erupted on Thursday near a fishing village on the island. Ash fell on the "
        "harbour and the airport closed. Officials said lava flowed toward the northern coast. "
        "Residents were moved to schools in the capital. Scientists expect more eruptions.",
    ),
    "chess": (
        "Teenager wins national chess title",
        "2025-07-03T12:00:00+00:00",
        "A sixteen-year-old won the national chess championship on Thursday. She beat the "
        "defending champion in the final round with the black pieces. The tournament lasted "
        "nine days. Her coach said she trains six hours a day. She will play abroad next year.",
    ),
    "bakery": (
        "Old bakery reopens after flood repairs",
        "2025-07-03T15:00:00+00:00",
        "The town's oldest bakery reopened on Thursday after months of repairs. Floodwater had "
        "ruined its ovens in the spring. Neighbours queued before dawn for bread. The owner "
        "thanked volunteers who rebuilt the shop. Prices stay the same, she said.",
    ),
}


def article_md(title: str, date: str, body: str, **extra: str) -> str:
    front = {"title": title, "date": date, **extra}
    lines = "\n".join(f"{k}: {json.dumps(v)}" for k, v in front.items())
    return f"---\n{lines}\n---\n{body}\n"


def make_site(root: Path, *, samples: bool = True, config: str = "") -> BuildOptions:
    """A site folder: the sample articles (optional), three small stories, a config."""
    content = root / "content"
    content.mkdir(parents=True)
    if samples:
        for path in SAMPLE_CONTENT.glob("*.txt"):
            shutil.copy(path, content / path.name)
    for name, (title, date, body) in STORIES.items():
        (content / f"{name}.md").write_text(article_md(title, date, body), encoding="utf-8")
    (root / "digest.toml").write_text(config or 'title = "Serve test"\n', encoding="utf-8")
    return BuildOptions(
        config_path=root / "digest.toml",
        content_dir=content,
        output_dir=root / "site",
        site_dir=root,
    )


def wait_for(predicate: Callable[[], Any], timeout: float = TIMEOUT, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def get(server: DevServer, path: str, method: str = "GET") -> Response:
    """One request with the path sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        return Response(resp.status, headers, resp.read())
    finally:
        conn.close()


def status_of(server: DevServer) -> dict[str, Any]:
    return json.loads(get(server, STATUS_PATH).body)


def wait_built(server: DevServer, builds: int, what: str = "") -> None:
    """Wait until ``builds`` builds have run and none is running."""
    wait_for(
        lambda: server.site.builds >= builds and not status_of(server)["building"],
        what=what or f"build #{builds}",
    )


@pytest.fixture
def start_server() -> Iterator[Callable[..., DevServer]]:
    """Start DevServers on free ports; every one is stopped at teardown."""
    started: list[DevServer] = []

    def start(options: BuildOptions, **kwargs: Any) -> DevServer:
        kwargs.setdefault("builder", Builder(options, workers=1))
        server = DevServer(options, port=0, **kwargs)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def site(tmp_path: Path, start_server: Callable[..., DevServer]) -> DevServer:
    server = start_server(make_site(tmp_path / "site-folder"))
    wait_built(server, 1, "the first build")
    assert status_of(server)["error"] is None
    return server


def day_path(server: DevServer) -> str:
    data = json.loads((server.site.root / "digest.json").read_text(encoding="utf-8"))
    return "/" + data["stories"][0]["page"].split("#")[0]


# -- serving files ----------------------------------------------------------------------------


def test_content_types(site: DevServer) -> None:
    expected = {
        "/": "text/html",
        "/feed.xml": "application/atom+xml",
        "/feed.json": "application/feed+json",
        "/sitemap.xml": "application/xml",
        "/digest.json": "application/json",
        "/robots.txt": "text/plain",
    }
    for path, ctype in expected.items():
        if path != "/" and not (site.site.root / path.lstrip("/")).is_file():
            continue  # the theme may not write every one of them
        resp = get(site, path)
        assert resp.status == 200, path
        assert resp.headers["content-type"].startswith(ctype), path
    css = next((site.site.root / "static").rglob("*.css"), None)
    if css is not None:
        rel = css.relative_to(site.site.root).as_posix()
        assert get(site, "/" + rel).headers["content-type"].startswith("text/css")
    assert content_type(Path("x.js")).startswith("text/javascript")
    assert content_type(Path("x.png")) == "image/png"


def test_head_has_length_and_no_body(site: DevServer) -> None:
    resp = get(site, "/", method="HEAD")
    assert resp.status == 200
    assert int(resp.headers["content-length"]) > 0
    assert resp.body == b""


def test_folders_serve_index_and_redirect_without_slash(site: DevServer) -> None:
    day = day_path(site)  # "/2025/07/03/"
    resp = get(site, day)
    assert resp.status == 200
    assert "<html" in resp.text.lower()
    bare = get(site, day.rstrip("/") + "?q=1")
    assert bare.status == 301
    assert bare.headers["location"] == day + "?q=1"


def test_missing_page_gets_the_sites_404_with_status_404(site: DevServer) -> None:
    resp = get(site, "/no/such/page/")
    assert resp.status == 404
    own_404 = (site.site.root / "404.html").read_text(encoding="utf-8")
    title_line = next(line for line in own_404.splitlines() if "<title>" in line)
    assert title_line.strip() in resp.text
    assert SCRIPT_PATH in resp.text


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/2025/..%2f..%2f..%2fsecret.txt",
        "/%2e%2e%5csecret.txt",
    ],
)
def test_traversal_refused(site: DevServer, path: str) -> None:
    secret = site.site.root.parent / "secret.txt"
    secret.write_text("TOP-SECRET-42", encoding="utf-8")
    resp = get(site, path)
    assert resp.status in (400, 403, 404)
    assert b"TOP-SECRET-42" not in resp.body


def test_symlink_out_of_the_site_refused(site: DevServer, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET-42", encoding="utf-8")
    (site.site.root / "leak.txt").symlink_to(outside / "secret.txt")
    (site.site.root / "leakdir").symlink_to(outside, target_is_directory=True)
    for path in ("/leak.txt", "/leakdir/secret.txt"):
        resp = get(site, path)
        assert resp.status == 404, path
        assert b"TOP-SECRET-42" not in resp.body


def test_resolve_request_unit(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text("x", encoding="utf-8")
    assert resolve_request("/a/", tmp_path, "/").file == (tmp_path / "a" / "index.html").resolve()
    assert resolve_request("/a", tmp_path, "/").location == "/a/"
    assert resolve_request("/", tmp_path, "/repo/").location == "/repo/"
    assert resolve_request("/repo", tmp_path, "/repo/").location == "/repo/"
    assert resolve_request("/a/", tmp_path, "/repo/").status == 404
    assert resolve_request("/repo/a/", tmp_path, "/repo/").status == 200
    assert resolve_request("/repo/%2e%2e/x", tmp_path, "/repo/").status == 403
    assert resolve_request("//a", tmp_path, "/").location == "/a/"  # never to another host
    assert resolve_request("/%61?x=1", tmp_path, "/").location == "/%61/?x=1"


def test_script_injected_in_served_html_only(site: DevServer) -> None:
    served = get(site, "/")
    assert SCRIPT_PATH in served.text
    assert served.text.rstrip().endswith("</html>")  # before </body>, not after the document
    on_disk = (site.site.root / "index.html").read_text(encoding="utf-8")
    assert "__digest__" not in on_disk
    feed = site.site.root / "feed.xml"
    if feed.is_file():
        assert SCRIPT_PATH not in get(site, "/feed.xml").text
    script = get(site, SCRIPT_PATH)
    assert script.status == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert b"EventSource" in script.body


def test_base_url_subpath(tmp_path: Path, start_server: Callable[..., DevServer]) -> None:
    options = make_site(
        tmp_path / "s", config='title = "Sub"\nbase_url = "https://example.org/repo/"\n'
    )
    server = start_server(options)
    wait_built(server, 1)
    root = get(server, "/")
    assert root.status == 302
    assert root.headers["location"] == "/repo/"
    assert get(server, "/repo").headers["location"] == "/repo/"
    page = get(server, "/repo/")
    assert page.status == 200
    assert "Sub" in page.text
    assert get(server, "/repo/feed.xml").status == 200
    assert get(server, "/feed.xml").status == 404
    assert get(server, "/repo/nothing-here").status == 404


# -- live reload ------------------------------------------------------------------------------


class EventStream:
    """A plain HTTP client on the server-sent events endpoint, collecting events in a thread."""

    def __init__(self, server: DevServer) -> None:
        self.events: list[tuple[str, str]] = []  # (event name, data)
        self._conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
        self._conn.request("GET", EVENTS_PATH)
        self._resp = self._conn.getresponse()
        assert self._resp.status == 200
        assert self._resp.getheader("content-type") == "text/event-stream"
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        name, data = "message", []
        try:
            for raw in self._resp:
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if data:
                        self.events.append((name, "\n".join(data)))
                    name, data = "message", []
                elif line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
        except (OSError, ValueError):
            pass

    def epochs(self) -> list[int]:
        return [int(d) for n, d in self.events if n == "message"]

    def errors(self) -> list[str]:
        return [json.loads(d) for n, d in self.events if n == "build-error"]

    def close(self) -> None:
        self._conn.close()


def test_events_stream_announces_new_builds(site: DevServer) -> None:
    stream = EventStream(site)
    try:
        first = wait_for(stream.epochs, what="the first epoch")[0]
        assert first == status_of(site)["epoch"] > 0
        builds = site.site.builds
        path = site.site.options.content_dir / "volcano.md"
        title, date, body = STORIES["volcano"]
        path.write_text(article_md(title + " again", date, body), encoding="utf-8")
        wait_for(lambda: len(set(stream.epochs())) > 1, what="a new epoch")
        assert site.site.builds == builds + 1
        assert stream.epochs()[-1] > first
        page = get(site, day_path(site))
        assert "Volcano erupts near island village again" in page.text
        assert f'data-epoch="{stream.epochs()[-1]}"' in page.text
    finally:
        stream.close()


def test_burst_of_200_files_is_one_rebuild(site: DevServer) -> None:
    builds = site.site.builds
    drop = site.site.options.content_dir / "drop"
    staging = site.site.options.site_dir / "incoming"
    staging.mkdir()
    for i in range(200):
        title, date, body = STORIES[("volcano", "chess", "bakery")[i % 3]]
        text = article_md(f"{title} number {i}", date, body.replace("Thursday", f"day {i}"))
        (staging / f"a{i:03}.md").write_text(text, encoding="utf-8")
    drop.mkdir()
    for path in sorted(staging.iterdir()):  # 200 files land in content/ at once
        shutil.copy(path, drop / path.name)
    wait_built(site, builds + 1, "the rebuild after the burst")
    time.sleep(1.0)  # any late extra build would have started by now
    wait_built(site, builds + 1)
    assert 1 <= site.site.builds - builds <= 2
    assert site.site.last_report is not None
    assert site.site.last_report.articles >= 200


def test_poll_mode_sees_edits(tmp_path: Path, start_server: Callable[..., DevServer]) -> None:
    server = start_server(make_site(tmp_path / "s", samples=False), poll=True)
    wait_built(server, 1)
    title, date, body = STORIES["volcano"]
    path = server.site.options.content_dir / "volcano.md"
    path.write_text(article_md("Polled volcano headline", date, body), encoding="utf-8")
    wait_for(lambda: "Polled volcano headline" in get(server, day_path(server)).text)


def test_editor_litter_and_output_are_ignored(site: DevServer) -> None:
    builds = site.site.builds
    content = site.site.options.content_dir
    for name in (".volcano.md.swp", "volcano.md~", ".#volcano.md", "4913", "#volcano.md#"):
        (content / name).write_text("junk", encoding="utf-8")
    (site.site.options.site_dir / ".digest-cache" / "junk.json").write_text("{}", encoding="utf-8")
    (site.site.root / "junk.html").write_text("x", encoding="utf-8")
    time.sleep(1.0)
    assert site.site.builds == builds


def test_one_article_edit_is_a_partial_rebuild(site: DevServer) -> None:
    builds = site.site.builds
    title, date, body = STORIES["chess"]
    path = site.site.options.content_dir / "chess.md"
    path.write_text(article_md(title, date, body + " The final lasted five hours."), "utf-8")
    wait_built(site, builds + 1)
    report = site.site.last_report
    assert report is not None
    assert report.files_read == 1
    assert report.stories_summarized == 1
    assert report.stories >= 3


def test_a_large_site_places_an_edit_quickly_then_settles_to_the_exact_build(
    tmp_path: Path, start_server: Callable[..., DevServer]
) -> None:
    # Quick placement is for large sites; a lowered bar lets this small one take that path.
    options = make_site(tmp_path / "site-folder")
    builder = Builder(options, workers=1)
    builder.quick_min_articles = 1
    batches: list[set[str]] = []
    server = start_server(options, builder=builder, on_build=lambda b, r: batches.append(b.kinds))
    wait_built(server, 1, "the first build")
    title, date, body = STORIES["volcano"]
    content = options.content_dir
    (content / "volcano-2.md").write_text(
        article_md("Island volcano: ash closes airport", date, body + " Flights resume soon."),
        "utf-8",
    )
    wait_built(server, 2, "the quick rebuild")
    quick = server.site.last_report
    assert quick is not None and quick.provisional and quick.files_read == 1
    wait_built(server, 3, "the exact clustering once idle")
    assert batches[2] == {SETTLE}
    settled = server.site.last_report
    assert settled is not None and not settled.provisional
    assert "Island volcano: ash closes airport" in get(server, day_path(server)).text
    assert settled.written == 0  # the quick placement (a second volcano report) was right
    # What the preview shows now is byte for byte what a clean `digest build` writes.
    clean = replace(options, output_dir=tmp_path / "clean", use_cache=False)
    Builder(clean, workers=1).build()
    assert tree(clean.output_dir) == tree(options.output_dir)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_template_change_only_re_renders(site: DevServer) -> None:
    builds = site.site.builds
    templates = site.site.options.templates_dir
    templates.mkdir()  # templates/ appears after the start: it is watched from then on
    base = (REPO / "templates" / "base.html").read_text(encoding="utf-8")
    marked = base.replace("</body>", "<p>TEMPLATE-MARK-7</p></body>", 1)
    assert marked != base
    (templates / "base.html").write_text(marked, encoding="utf-8")
    wait_for(lambda: "TEMPLATE-MARK-7" in get(site, "/").text, what="the new template")
    wait_built(site, builds + 1)
    report = site.site.last_report
    assert report is not None
    assert report.files_read == 0
    assert report.stories_summarized == 0


def test_broken_config_keeps_last_good_site_and_recovers(site: DevServer) -> None:
    good = get(site, "/").text
    epoch = status_of(site)["epoch"]
    stream = EventStream(site)
    try:
        wait_for(stream.epochs)
        config = site.site.options.config_file
        config.write_text('title = "Broken\n[summary\n', encoding="utf-8")
        error = wait_for(lambda: status_of(site)["error"], what="the config error")
        assert "digest.toml" in error
        assert wait_for(stream.errors, what="the error event")[-1] == error
        still = get(site, "/")
        assert still.status == 200
        assert still.text == good  # the last good site, same epoch
        assert status_of(site)["epoch"] == epoch

        config.write_text('title = "Mended title"\n', encoding="utf-8")
        wait_for(lambda: status_of(site)["error"] is None, what="recovery")
        assert status_of(site)["epoch"] > epoch
        assert "Mended title" in get(site, "/").text
        assert ("ok", "") in stream.events[-3:] or stream.events[-1][0] == "message"
    finally:
        stream.close()


def test_first_build_failing_serves_an_error_page(
    tmp_path: Path, start_server: Callable[..., DevServer]
) -> None:
    options = make_site(tmp_path / "s", config='title = "<b>Broken\n')
    server = start_server(options)
    wait_built(server, 1)
    status = status_of(server)
    assert status["epoch"] == 0
    assert "digest.toml" in status["error"]
    page = get(server, "/")
    assert page.status == 500
    assert "digest.toml" in page.text
    assert SCRIPT_PATH in page.text
    assert "<b>Broken" not in page.text  # the message is escaped
    options.config_file.write_text('title = "Fine now"\n', encoding="utf-8")
    wait_for(lambda: status_of(server)["epoch"] > 0, what="the first good build")
    assert "Fine now" in get(server, "/").text


def test_strict_shows_warnings_on_the_page(
    tmp_path: Path, start_server: Callable[..., DevServer]
) -> None:
    options = make_site(tmp_path / "s", samples=False)
    (options.content_dir / "undated.md").write_text("---\ntitle: No date\n---\nText.\n", "utf-8")
    server = start_server(options, strict=True)
    wait_built(server, 1)
    status = status_of(server)
    assert status["epoch"] > 0  # the site is built and served...
    assert "undated.md" in status["error"]  # ...and the warning is shown over it
    assert get(server, "/").status == 200


def test_broken_template_names_file_and_line(site: DevServer) -> None:
    templates = site.site.options.templates_dir
    templates.mkdir()
    (templates / "base.html").write_text("<html>\n{% if %}\n</html>\n", encoding="utf-8")
    error = wait_for(lambda: status_of(site)["error"], what="the template error")
    assert "base.html" in error
    assert "line 2" in error
    assert get(site, "/").status == 200
    (templates / "base.html").unlink()
    wait_for(lambda: status_of(site)["error"] is None, what="recovery")


def test_requests_never_see_a_missing_site_during_rebuilds(site: DevServer) -> None:
    """Hammer the server while builds swap the folder: every answer is a complete 200."""
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            resp = get(site, "/")
            if resp.status != 200 or not resp.text.rstrip().endswith("</html>"):
                failures.append(f"{resp.status}: {resp.text[:80]}")

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        path = site.site.options.content_dir / "bakery.md"
        title, date, body = STORIES["bakery"]
        for i in range(4):
            builds = site.site.builds
            path.write_text(article_md(f"{title} {i}", date, body), encoding="utf-8")
            wait_built(site, builds + 1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(TIMEOUT)
    assert failures == []


# -- the command line -------------------------------------------------------------------------


def _cli(site_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "serve", *args],
        cwd=site_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    make_site(tmp_path, samples=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _cli(tmp_path, "--port", str(port))
        try:
            _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert str(port) in lines[0]
    assert "--port" in lines[0]


def test_ctrl_c_exits_cleanly(tmp_path: Path) -> None:
    make_site(tmp_path, samples=False)
    port = _free_port()
    proc = _cli(tmp_path, "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", STATUS_PATH)
                if json.loads(conn.getresponse().read())["epoch"]:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("the server did not come up")
        stream = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        stream.request("GET", EVENTS_PATH)  # an open event stream must not hold up the exit
        stream.getresponse()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode in (0, 130)
    assert "Traceback" not in err
    assert "built" in err


def test_a_crash_is_reported_where_digest_code_failed() -> None:
    from digest import text
    from digest.serve import _describe_crash

    try:
        text.words(None)  # type: ignore[arg-type]
    except TypeError as exc:
        message, reason = _describe_crash(exc), str(exc)
    assert "digest/text.py, line" in message and message.endswith(reason)
