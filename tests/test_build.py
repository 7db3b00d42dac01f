"""The pipeline as a whole: parallel and one-process builds agree; rebuilds do what changed."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from digest import cluster
from digest.build import PARALLEL_MIN_ITEMS, Builder, BuildOptions

TOWNS = ["Arden", "Bexley", "Corran", "Dunmore", "Elgin", "Fenwick", "Garrow", "Hollis"]
EVENTS = ["flood", "bridge collapse", "council vote", "factory fire", "rail strike", "festival"]


def write_stream(content: Path, count: int) -> None:
    """``count`` small articles: several reports per event, over a few weeks."""
    rng = random.Random(7)
    content.mkdir(parents=True)
    for n in range(count):
        town, event = TOWNS[n % len(TOWNS)], EVENTS[(n // len(TOWNS)) % len(EVENTS)]
        day = 1 + (n % 20)
        figures = rng.randint(2, 90)
        (content / f"a{n:03d}.md").write_text(
            f"---\ntitle: {event.title()} in {town}\ndate: 2025-03-{day:02d}\n"
            f"source: Outlet {n % 5}\n---\n"
            f"The {event} in {town} affected {figures} families on Monday, officials said.\n\n"
            f"Residents of {town} described the {event} as the worst in a decade.\n\n"
            f"The mayor of {town} said repairs would begin next week.\n",
            encoding="utf-8",
        )


def build(site: Path, output: str, workers: int) -> Builder:
    options = BuildOptions(
        content_dir=site / "content",
        output_dir=site / output,
        site_dir=site,
        use_cache=False,
    )
    builder = Builder(options, workers=workers)
    builder.build()
    return builder


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def append_line(path: Path, line: str) -> None:
    """An edit: ``line`` added at the end of the article at ``path``."""
    path.write_text(path.read_text() + f"\n{line}\n")


def assert_same_as_clean_build(site: Path) -> None:
    """``site``'s output is byte for byte what a clean build (no cache) of its content writes."""
    build(site, "clean", workers=1)
    assert files_of(site / "site") == files_of(site / "clean")


def cached_site(site: Path, count: int) -> BuildOptions:
    """``count`` articles built once with the cache on (as one `digest build` does); the options."""
    write_stream(site / "content", count)
    options = BuildOptions(content_dir=site / "content", output_dir=site / "site", site_dir=site)
    Builder(options, workers=1).build()
    return options


def spy(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, *, keywords: bool = False
) -> list[Any]:
    """The positional arguments (``keywords``: the keyword arguments) of every call to
    ``owner.name`` from now on (it still runs)."""
    calls: list[Any] = []
    real = getattr(owner, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs if keywords else args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)
    return calls


def test_a_parallel_build_writes_what_one_process_writes(tmp_path: Path) -> None:
    write_stream(tmp_path / "content", PARALLEL_MIN_ITEMS + 16)  # enough to use the pool
    build(tmp_path, "one", workers=1)
    build(tmp_path, "two", workers=2)
    assert files_of(tmp_path / "one") == files_of(tmp_path / "two")


def test_an_edit_rereads_one_file_and_resummarizes_one_story(tmp_path: Path) -> None:
    write_stream(tmp_path / "content", 30)
    builder = build(tmp_path, "site", workers=1)
    edited = tmp_path / "content" / "a007.md"
    append_line(edited, "A relief fund opened on Tuesday.")
    report = builder.build()
    assert (report.files_read, report.stories_summarized) == (1, 1)
    assert report.written >= 1
    again = builder.build()
    assert (again.files_read, again.stories_summarized, again.written) == (0, 0, 0)


def test_a_warm_rebuild_writes_what_a_cold_build_writes(tmp_path: Path) -> None:
    write_stream(tmp_path / "content", 40)
    builder = build(tmp_path, "warm", workers=1)
    for name in ("a003.md", "a021.md"):  # re-read, while the others come from memory
        edited = tmp_path / "content" / name
        append_line(edited, "A relief fund opened on Tuesday.")
    builder.build()
    build(tmp_path, "cold", workers=1)
    assert files_of(tmp_path / "warm") == files_of(tmp_path / "cold")


def test_a_new_process_takes_clustering_features_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = cached_site(tmp_path, 30)
    assert list((tmp_path / ".digest-cache" / "features").glob("*.npz"))
    calls = spy(monkeypatch, cluster, "compute_features")
    edited = tmp_path / "content" / "a007.md"
    append_line(edited, "A relief fund opened on Tuesday.")
    cluster.forget()  # what a new process starts from
    Builder(options, workers=1).build()
    computed = [key for (batch,) in calls for key in batch]
    assert [text.endswith("Tuesday.") for _, text in computed] == [True]
    build(tmp_path, "cold", workers=1)  # no cache at all
    assert files_of(tmp_path / "site") == files_of(tmp_path / "cold")


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def _spy_on_staging(monkeypatch: Any) -> list[int]:
    """Counts the writer's switches to a new folder (so a test knows which path it took)."""
    from digest.output import SiteWriter

    calls: list[int] = []
    start = SiteWriter._start_staging

    def spy(self: SiteWriter) -> None:
        calls.append(len(self.hashes))
        start(self)

    monkeypatch.setattr(SiteWriter, "_start_staging", spy)
    return calls


def test_a_template_error_midway_leaves_the_previous_site(tmp_path: Path, monkeypatch: Any) -> None:
    import pytest

    from digest.build import BuildError
    from digest.theme import default_theme_dir

    write_stream(tmp_path / "content", 30)
    builder = build(tmp_path, "site", workers=1)
    before = _snapshot(tmp_path / "site")
    # Every page changes (the title is on each), so the writer starts a new folder early and
    # has written most of it when the last page, 404.html, fails.
    (tmp_path / "digest.toml").write_text('title = "Renamed"\n', encoding="utf-8")
    templates = tmp_path / "templates"
    templates.mkdir()
    broken = (default_theme_dir() / "404.html").read_text(encoding="utf-8") + "{% if %}"
    (templates / "404.html").write_text(broken, encoding="utf-8")
    staged = _spy_on_staging(monkeypatch)
    with pytest.raises(BuildError, match="404.html"):
        builder.build()
    assert staged and staged[0] < 20, "the new folder was under way when rendering failed"
    assert _snapshot(tmp_path / "site") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "content",
        "digest.toml",
        "site",
        "templates",
    ]


def test_a_file_removed_from_the_output_behind_a_builders_back_comes_back(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from digest.theme import default_theme_dir

    write_stream(tmp_path / "content", 30)
    builder = build(tmp_path, "site", workers=1)
    (tmp_path / "site" / "index.html").unlink()  # the builder still believes it is there
    # Change every article page but not the home page, which is rendered first: the writer
    # passes index.html as unchanged, then must link it into its new folder and cannot.
    templates = tmp_path / "templates"
    templates.mkdir()
    article = (default_theme_dir() / "article.html").read_text(encoding="utf-8")
    article = article.replace("</article>", "<!-- v2 --></article>")
    (templates / "article.html").write_text(article, encoding="utf-8")
    staged = _spy_on_staging(monkeypatch)
    builder.build()
    assert len(staged) == 2, "the first try found index.html gone and wrote again"
    fresh = build(tmp_path, "fresh", workers=1)
    assert fresh is not builder
    assert files_of(tmp_path / "site") == files_of(tmp_path / "fresh")
    assert (tmp_path / "site" / "index.html").is_file()


def test_an_edit_clustering_does_not_read_keeps_the_last_grouping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = cached_site(tmp_path, 30)
    calls = spy(monkeypatch, Builder, "_cluster_from_table")
    clustered = lambda: [len(args[1]) for args in calls]  # noqa: E731  (builder, articles, ...)
    edited = tmp_path / "content" / "a007.md"
    edited.write_text(edited.read_text().replace("source: Outlet 2", "source: Outlet Two"))
    Builder(options, workers=1).build()
    assert clustered() == [], "a source's name is not read by clustering"
    build(tmp_path, "cold", workers=1)
    assert clustered() == [30]  # the clean build clusters (and its output is the reference)
    assert files_of(tmp_path / "site") == files_of(tmp_path / "cold")
    assert b"Outlet Two" in (tmp_path / "site" / "digest.json").read_bytes()

    append_line(edited, "A relief fund opened on Tuesday.")
    Builder(options, workers=1).build()
    assert clustered() == [30, 30], "a text edit clusters again"
    clusters = tmp_path / ".digest-cache" / "clusters"
    for shard in clusters.iterdir():  # damaged: a miss, clustered again
        shard.write_text("{")
    (tmp_path / ".digest-cache" / "manifest.json").unlink()
    Builder(options, workers=1).build()
    assert clustered() == [30, 30, 30]


def test_a_cached_grouping_must_be_a_partition_of_the_articles() -> None:
    from digest.build import _groups_or_none

    assert _groups_or_none([[0, 2], [1]], 3) == [[0, 2], [1]]
    for bad in (
        None,
        {},
        [[0, 1]],
        [[0, 1], [1, 2]],
        [[0], [], [1, 2]],
        [["0"], [1, 2]],
        [[0, 1, 2, 3]],
    ):
        assert _groups_or_none(bad, 3) is None, bad


def test_the_clustering_key_names_everything_clustering_reads() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from digest.build import _clustering_key
    from digest.config import Config
    from digest.model import Article

    def article(n: int, **fields: Any) -> Article:
        when = datetime(2025, 3, 1 + n, 12, tzinfo=UTC)
        made = Article(f"a{n}", f"a{n}.txt", "text", f"T{n}", False, "x", "x", published=when)
        return made.replace(**fields)

    config = Config()
    articles = [article(n) for n in range(3)]
    digests = ["d0", "d1", "d2"]
    key = _clustering_key(articles, digests, config)
    assert _clustering_key([article(n) for n in range(3)], list(digests), Config()) == key
    # What clustering does not read (the source, tags, a link) leaves the key as it was.
    others = [articles[0].replace(source="Other", tags=("x",), url="https://e.x/"), *articles[1:]]
    assert _clustering_key(others, digests, config) == key
    changed = [
        ([article(0, id="z"), *articles[1:]], digests, config),
        (articles, ["d0", "d1", "dX"], config),
        (articles, ["d0d1", "", "d2"], config),  # the same characters, cut elsewhere
        ([article(0, published=None), *articles[1:]], digests, config),
        (
            [article(0, published=articles[0].published.replace(second=1)), *articles[1:]],
            digests,
            config,
        ),
        ([article(0, story="pinned"), *articles[1:]], digests, config),
        (articles[::-1], digests[::-1], config),
        (articles, digests, replace(config, cluster=replace(config.cluster, window_days=9))),
    ]
    keys = {_clustering_key(a, d, c) for a, d, c in changed}
    assert key not in keys and len(keys) == len(changed)


def test_the_inputs_digest_changes_with_any_file_name_or_stat(tmp_path: Path) -> None:
    from digest.build import _inputs_digest
    from digest.config import Config

    config, theme = Config(), (("base.html", 1, 2),)
    listing = [("a.md", "/c/a.md", (10, 20, 30, 40)), ("b/c.txt", "/c/b/c.txt", (1, 2, 3, 4))]
    key = _inputs_digest(config, tmp_path / "none.toml", theme, listing)
    assert _inputs_digest(config, tmp_path / "none.toml", theme, list(listing)) == key
    changed = [
        [("a.md", "/c/a.md", (10, 20, 30, 41)), listing[1]],  # another inode
        [("a.md", "/c/a.md", (11, 20, 30, 40)), listing[1]],  # another mtime
        [("a.mdb/c.txt", "/c/x", (10, 20, 30, 40)), ("", "/c/y", (1, 2, 3, 4))],  # cut elsewhere
        listing[::-1],
        listing[:1],
        [*listing, ("d.md", "/c/d.md", (0, 0, 0, 0))],
    ]
    keys = {_inputs_digest(config, tmp_path / "none.toml", theme, rows) for rows in changed}
    assert key not in keys and len(keys) == len(changed)
    huge = [("a.md", "/c/a.md", (10, 20, 30, 2**64 - 5)), listing[1]]  # overlayfs inodes
    other_huge = [("a.md", "/c/a.md", (10, 20, 30, 2**64 - 6)), listing[1]]
    assert _inputs_digest(config, tmp_path / "none.toml", theme, huge) not in keys | {
        key,
        _inputs_digest(config, tmp_path / "none.toml", theme, other_huge),
    }
    (tmp_path / "digest.toml").write_text("title = 'x'\n")
    assert _inputs_digest(config, tmp_path / "digest.toml", theme, listing) != key
    assert _inputs_digest(config, tmp_path / "none.toml", (), listing) != key
