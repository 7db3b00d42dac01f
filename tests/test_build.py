"""The pipeline as a whole: parallel and one-process builds agree; rebuilds do what changed."""

from __future__ import annotations

import random
from pathlib import Path

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


def test_a_parallel_build_writes_what_one_process_writes(tmp_path: Path) -> None:
    write_stream(tmp_path / "content", PARALLEL_MIN_ITEMS + 16)  # enough to use the pool
    build(tmp_path, "one", workers=1)
    build(tmp_path, "two", workers=2)
    assert files_of(tmp_path / "one") == files_of(tmp_path / "two")


def test_an_edit_rereads_one_file_and_resummarizes_one_story(tmp_path: Path) -> None:
    write_stream(tmp_path / "content", 30)
    builder = build(tmp_path, "site", workers=1)
    edited = tmp_path / "content" / "a007.md"
    edited.write_text(edited.read_text() + "\nA relief fund opened on Tuesday.\n")
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
        edited.write_text(edited.read_text() + "\nA relief fund opened on Tuesday.\n")
    builder.build()
    build(tmp_path, "cold", workers=1)
    assert files_of(tmp_path / "warm") == files_of(tmp_path / "cold")


def test_a_new_process_takes_clustering_features_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_stream(tmp_path / "content", 30)
    options = BuildOptions(
        content_dir=tmp_path / "content", output_dir=tmp_path / "site", site_dir=tmp_path
    )
    Builder(options, workers=1).build()
    assert list((tmp_path / ".digest-cache" / "features").glob("*.npz"))
    computed: list[tuple[str, str]] = []
    real = cluster.compute_features

    def counting(batch):  # type: ignore[no-untyped-def]
        computed.extend(batch)
        return real(batch)

    monkeypatch.setattr(cluster, "compute_features", counting)
    edited = tmp_path / "content" / "a007.md"
    edited.write_text(edited.read_text() + "\nA relief fund opened on Tuesday.\n")
    cluster.forget()  # what a new process starts from
    Builder(options, workers=1).build()
    assert [text.endswith("Tuesday.") for _, text in computed] == [True]
    build(tmp_path, "cold", workers=1)  # no cache at all
    assert files_of(tmp_path / "site") == files_of(tmp_path / "cold")
