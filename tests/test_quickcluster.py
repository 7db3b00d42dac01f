"""Quick provisional stories: changed articles placed into the last exact clustering's stories."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from digest.cluster import cluster_articles, cluster_with_snapshot
from digest.config import ClusterConfig
from digest.quickcluster import update
from tests.test_cluster import (
    DAY,
    TAIWAN_REPORTS,
    WIRE,
    art,
    as_sets,
    mixed_corpus,
    together,
)

CONFIG = ClusterConfig()


def snapshot_of(articles):  # type: ignore[no-untyped-def]
    groups, snapshot = cluster_with_snapshot(articles, CONFIG)
    assert groups == cluster_articles(articles, CONFIG)
    return snapshot


def test_nothing_changed_gives_the_exact_stories_and_is_not_provisional() -> None:
    corpus = mixed_corpus()
    result = update(snapshot_of(corpus), corpus, CONFIG, 10)
    assert result is not None and not result.provisional
    assert result.groups == cluster_articles(corpus, CONFIG)


def test_an_edited_article_stays_in_its_story() -> None:
    corpus = mixed_corpus()
    snapshot = snapshot_of(corpus)
    edited = list(corpus)
    k = next(i for i, a in enumerate(corpus) if a.id == "taiwan1")
    edited[k] = replace(corpus[k], text=corpus[k].text + "\nAn editor's note on the rescue.")
    result = update(snapshot, edited, CONFIG, 10)
    assert result is not None and result.provisional
    assert (result.placed, result.removed) == (1, 1)
    assert result.groups == cluster_articles(edited, CONFIG)


def test_a_new_wire_copy_joins_the_copies_story() -> None:
    corpus = mixed_corpus()
    snapshot = snapshot_of(corpus)
    grown = [*corpus, art("wire-herald", "Herald staff\n" + WIRE, source="Herald")]
    result = update(snapshot, grown, CONFIG, 10)
    assert result is not None
    assert together(result.groups, grown, "wire-plain", "wire-courier", "wire-herald")
    assert as_sets(result.groups, grown) == as_sets(cluster_articles(grown, CONFIG), grown)


def test_a_new_report_joins_its_event_and_not_the_other_earthquake() -> None:
    corpus = [a for a in mixed_corpus() if a.id != "taiwan2"]
    snapshot = snapshot_of(corpus)
    title, text = TAIWAN_REPORTS[2]
    grown = [*corpus, art("taiwan-late", text, title=title, when=DAY + timedelta(hours=5))]
    result = update(snapshot, grown, CONFIG, 10)
    assert result is not None
    assert together(result.groups, grown, "taiwan0", "taiwan1", "taiwan-late")
    assert not together(result.groups, grown, "taiwan-late", "chile0")


def test_an_unrelated_article_starts_its_own_story() -> None:
    corpus = mixed_corpus()
    snapshot = snapshot_of(corpus)
    lone = art("bees", "Beekeepers in Devon reported a record honey harvest this summer.")
    result = update(snapshot, [*corpus, lone], CONFIG, 10)
    assert result is not None
    assert [len(g) for g in result.groups if len(corpus) in g] == [1]


def test_a_report_outside_the_window_does_not_join() -> None:
    corpus = mixed_corpus()
    snapshot = snapshot_of(corpus)
    title, text = TAIWAN_REPORTS[0]
    late = art("taiwan-year-later", text, title=title, when=DAY + timedelta(days=40))
    result = update(snapshot, [*corpus, late], CONFIG, 10)
    assert result is not None
    assert [len(g) for g in result.groups if len(corpus) in g] == [1]


def test_removed_articles_leave_and_every_article_is_placed_once() -> None:
    corpus = mixed_corpus()
    snapshot = snapshot_of(corpus)
    fewer = [a for a in corpus if a.id not in {"taiwan0", "wire-plain"}]
    result = update(snapshot, fewer, CONFIG, 10)
    assert result is not None and result.removed == 2
    assert sorted(i for g in result.groups for i in g) == list(range(len(fewer)))
    assert result.groups == sorted((sorted(g) for g in result.groups), key=lambda g: g[0])


def test_pins_are_honoured_for_changed_articles() -> None:
    corpus = mixed_corpus()
    snapshot = snapshot_of(corpus)
    pinned = [replace(a, story="pinned") if a.id in {"taiwan0", "chile0"} else a for a in corpus]
    result = update(snapshot, pinned, CONFIG, 10)
    assert result is not None
    assert together(result.groups, pinned, "taiwan0", "chile0")
    assert result.groups == cluster_articles(pinned, CONFIG)


def test_too_many_changes_or_other_settings_ask_for_an_exact_clustering() -> None:
    corpus = mixed_corpus()
    snapshot = snapshot_of(corpus)
    edited = [replace(a, text=a.text + "\nUpdated.") for a in corpus]
    assert update(snapshot, edited, CONFIG, 3) is None
    assert update(snapshot, corpus, ClusterConfig(window_days=1.0), 3) is None
    assert update(None, corpus, CONFIG, 3) is None
