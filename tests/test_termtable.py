"""The term table: rows assembled from it are the rows features make, and builds from it write
what a clean build writes."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from digest import cluster, copycounts, termtable
from digest.build import Builder
from digest.model import Article
from tests.test_build import (
    append_line,
    assert_same_as_clean_build,
    cached_site,
    files_of,
    spy,
)
from tests.test_summarize import article as report

SCOPE = "test-scope"
WIRE = (
    "Rescue teams in {town} pulled {n} people from the rubble of a collapsed apartment block on "
    "Tuesday, the regional governor said, adding that the search would continue through the night "
    "as cranes arrived from the capital and volunteers queued to give blood at the city hospital."
)


def article(n: int, text: str, title: str = "", day: int = 1) -> Article:
    return report(f"a{n}", text, hours=24 * (day - 1), title=title or f"Report {n}")


def corpus() -> list[Article]:
    towns = ["Arden", "Bexley", "Corran", "Dunmore"]
    articles = [article(i, WIRE.format(town=towns[i % 4], n=10 + i % 4)) for i in range(8)]
    articles += [
        article(8 + i, f"The {t} council voted on the budget for 202{i}.")
        for i, t in enumerate(towns)
    ]
    return articles


def table_from(articles: list[Article]) -> tuple[termtable.TermTable, list[str]]:
    features = cluster.compute_features([(a.title, a.text) for a in articles])
    digests = [cluster.feature_key_digest((a.title, a.text)) for a in articles]
    samples = [cluster.shingle_sample(f[3]) for f in features]
    return termtable.table_of(digests, cluster._term_rows(features), samples, {}), digests


def termtable_samples(table: termtable.TermTable) -> list[np.ndarray]:
    ptr = table.sample_ptr
    return [table.samples[ptr[r] : ptr[r + 1]] for r in range(len(table.digests))]


def assert_same_rows(a: cluster.TermRows, b: cluster.TermRows) -> None:
    for name in ("vocab", "indptr", "indices", "base"):
        left, right = getattr(a, name), getattr(b, name)
        assert left.dtype == right.dtype, name
        assert np.array_equal(left, right), name


def test_rows_assembled_from_the_table_are_the_rows_the_features_make() -> None:
    old = corpus()
    table, _ = table_from(old)
    # Gone, edited (words dropped and new ones), new, and the rest in another order.
    new = [a for a in old if a.id not in ("a2", "a9")]
    new[0] = article(0, "Zanzibar quokkas rescued 404 bicycles near the Corran quay.", "Quokkas")
    new.append(article(20, WIRE.format(town="Elgin", n=99)))
    new.reverse()
    features = cluster.compute_features([(a.title, a.text) for a in new])
    digests = [cluster.feature_key_digest((a.title, a.text)) for a in new]
    fresh = {
        d: termtable.fresh_row(f)
        for d, f in zip(digests, features, strict=True)
        if d not in table.row_of
    }
    assert len(fresh) == 2  # the edited article and the new one
    terms, samples = termtable.assemble(table, digests, fresh)
    assert_same_rows(terms, cluster._term_rows(features))
    expected = [cluster.shingle_sample(f[3]) for f in features]
    assert all(np.array_equal(s, e) for s, e in zip(samples, expected, strict=True))
    assert len(terms.vocab) < len(np.unique(np.concatenate([table.terms.vocab, terms.vocab])))


def test_a_table_round_trips_and_a_bad_or_foreign_one_is_ignored(tmp_path: Path) -> None:
    table, digests = table_from(corpus())
    table.verdicts[termtable.pair_key(digests[1], digests[0])] = True
    path = tmp_path / "table.npz"
    termtable.save(path, SCOPE, table)
    loaded = termtable.load(path, SCOPE)
    assert loaded is not None
    assert loaded.digests == digests
    assert loaded.verdicts == table.verdicts
    assert_same_rows(loaded.terms, table.terms)
    assert np.array_equal(loaded.samples, table.samples)
    assert loaded.copies is None  # none kept with this table

    times = np.arange(len(digests), dtype=float)
    counts = copycounts.full(termtable_samples(table), times)
    termtable.save(path, SCOPE, dataclasses.replace(table, copies=counts))
    kept = termtable.load(path, SCOPE)
    assert kept is not None and kept.copies is not None
    assert kept.copies.codes.tolist() == counts.codes.tolist()
    assert kept.copies.counts.tolist() == counts.counts.tolist()
    damaged = copycounts.Counts(counts.rows, counts.codes[::-1].copy(), counts.counts)
    termtable.save(path, SCOPE, dataclasses.replace(table, copies=damaged))
    kept = termtable.load(path, SCOPE)
    assert kept is not None and kept.copies is None  # the rest of the table still serves

    assert termtable.load(path, "other code") is None
    assert termtable.load(tmp_path / "missing.npz", SCOPE) is None
    bad = termtable.TermTable(
        digests,
        cluster.TermRows(
            table.terms.vocab[:3], table.terms.indptr, table.terms.indices, table.terms.base
        ),
        table.sample_ptr,
        table.samples,
    )
    termtable.save(path, SCOPE, bad)  # columns beyond the vocabulary
    assert termtable.load(path, SCOPE) is None
    path.write_bytes(b"PK\x03\x04 not a zip")
    assert termtable.load(path, SCOPE) is None


def test_builds_from_the_term_table_write_what_a_clean_build_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = cached_site(tmp_path, 30)
    table = tmp_path / ".digest-cache" / "terms" / "table.npz"
    assert table.is_file()
    content = tmp_path / "content"
    # A text edit with a word no other article has, a date moved, one article gone, and a wire
    # copy of another under a new name.
    edited = content / "a007.md"
    append_line(edited, "A zeppelin relief fund opened on Tuesday.")
    moved = content / "a012.md"
    moved.write_text(moved.read_text().replace("date: 2025-03-13", "date: 2025-03-02"))
    (content / "a020.md").unlink()
    shutil.copy(content / "a003.md", content / "a099.md")
    computed = spy(monkeypatch, cluster, "compute_features")
    counted = spy(monkeypatch, copycounts, "full")
    updates: list[copycounts.Counts | None] = []
    real_update = copycounts.update
    monkeypatch.setattr(
        copycounts, "update", lambda *args: updates.append(real_update(*args)) or updates[-1]
    )
    Builder(options, workers=1).build()
    texts = [text for (batch,) in computed for _, text in batch]
    assert len(texts) == 1 and "zeppelin" in texts[0]  # the copy's text is in the table
    # The copy index: the last build's counts updated where the articles changed, not redone.
    assert len(updates) == 1 and updates[0] is not None and counted == []
    assert np.any(updates[0].counts >= copycounts.MIN_SHARED_SAMPLES)  # the wire copies
    assert_same_as_clean_build(tmp_path)

    # The same articles again, the grouping forgotten: clustered from the table alone, every
    # copy verdict known.
    shutil.rmtree(tmp_path / ".digest-cache" / "clusters")
    (tmp_path / ".digest-cache" / "manifest.json").unlink()
    checks = spy(monkeypatch, cluster, "is_copy")
    before = len(computed)
    Builder(options, workers=1).build()
    assert len(computed) == before and checks == []
    assert files_of(tmp_path / "site") == files_of(tmp_path / "clean")

    table.write_bytes(b"damaged")  # ignored: clustered from features, and written again
    (tmp_path / ".digest-cache" / "manifest.json").unlink()
    shutil.rmtree(tmp_path / ".digest-cache" / "clusters")
    Builder(options, workers=1).build()
    assert files_of(tmp_path / "site") == files_of(tmp_path / "clean")
    assert termtable.load(table, "") is None and table.stat().st_size > 1000


def test_a_site_whose_articles_are_all_pinned_builds_again_after_an_edit(tmp_path: Path) -> None:
    options = cached_site(tmp_path, 6)
    content = tmp_path / "content"
    for path in sorted(content.glob("*.md")):
        path.write_text(path.read_text().replace("---\n", f"---\nstory: s{path.stem[-1]}\n", 1))
    Builder(options, workers=1).build()
    edited = content / "a002.md"
    append_line(edited, "A relief fund opened on Tuesday.")
    report = Builder(options, workers=1).build()
    assert report.stories == 6
    assert_same_as_clean_build(tmp_path)


def test_the_vocabulary_with_an_edits_terms_is_the_sorted_union() -> None:
    rng = np.random.default_rng(5)
    for size in (0, 1, 50):
        vocab = np.unique(rng.integers(0, 200, size=size).astype(np.uint64))
        for more in ([], [vocab[:3]], [rng.integers(0, 300, size=20).astype(np.uint64)] * 2):
            union = termtable._with_terms(vocab, more)
            assert np.array_equal(union, np.unique(np.concatenate([vocab, *more])))
            assert union.dtype == np.uint64
            if not more or all(np.isin(m, vocab).all() for m in more):
                assert union is vocab  # nothing new: the table's own array, not a copy
