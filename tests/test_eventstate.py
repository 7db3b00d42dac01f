"""The last clustering's same-event work: reused after edits of every kind, the result is always
what a pass from scratch finds."""

from __future__ import annotations

import random
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from digest import cluster, eventstate
from digest.config import ClusterConfig
from digest.text import text_digest

WINDOW = 3.0


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3))


# Words reports share at random (each in a few): an edit that adds some moves their idf.
COMMON = sorted({"re" + _word(random.Random(k)) for k in range(2000)})


def stream(seed: int = 3, events: int = 150) -> list[tuple[str, str, float]]:
    """(title, text, day) for several reports of each of ``events`` events over two months."""
    rng = random.Random(seed)
    rows = []
    for _ in range(events):
        names = [_word(rng).title() for _ in range(4)] + [str(rng.randint(10, 999))]
        day = rng.uniform(0, 60)
        for _ in range(rng.randint(1, 7)):
            sentences = [
                " ".join(rng.sample(names, 3) + rng.sample(COMMON, 6)) + "."
                for _ in range(rng.randint(3, 6))
            ]
            when = math_nan() if rng.random() < 0.05 else day + rng.uniform(-1, 1)
            rows.append((f"{names[0]} {rng.choice(COMMON)}", "\n".join(sentences), when))
    return rows


def math_nan() -> float:
    return float("nan")


def vectors_of(
    rows: list[tuple[str, str, float]],
) -> tuple[object, np.ndarray, list[str], np.ndarray]:
    features = cluster.compute_features([(title, text) for title, text, _ in rows])
    terms = cluster._term_rows(features)
    vectors, idf = cluster.weigh(terms)
    times = np.array([t for _, _, t in rows], dtype=float)
    digests = [text_digest(title, text) for title, text, _ in rows]
    return (vectors, idf), times, digests, terms.vocab


def last_of(rows: list[tuple[str, str, float]]) -> eventstate.LastEvents:
    (vectors, idf), times, digests, vocab = vectors_of(rows)
    events = cluster.event_candidates(vectors, idf, times, WINDOW)
    return eventstate.LastEvents(digests, times, vocab, events)


def found_after(last: eventstate.LastEvents, rows: list[tuple[str, str, float]]):
    (vectors, idf), times, digests, vocab = vectors_of(rows)
    finder = eventstate.Finder(last, digests, times, vocab, WINDOW)
    return finder, finder(vectors, idf), cluster.event_candidates(vectors, idf, times, WINDOW)


def assert_same(a: cluster.EventCandidates, b: cluster.EventCandidates) -> None:
    for f in fields(cluster.EventCandidates):
        left, right = getattr(a, f.name), getattr(b, f.name)
        assert left.shape == right.shape, f.name
        assert np.array_equal(left, right), f.name


def edited(rows: list[tuple[str, str, float]], kind: str, rng: random.Random):
    rows = list(rows)
    k = rng.randrange(len(rows))
    title, text, day = rows[k]
    if kind == "append":  # words other articles use: their idf may move
        rows[k] = (title, text + "\n" + " ".join(rng.sample(COMMON, 8)) + ".", day)
    elif kind == "new word":
        rows[k] = (title, text + f"\nA {_word(rng)} {_word(rng)} appeared.", day)
    elif kind == "title":
        rows[k] = (title + " Update", text, day)
    elif kind == "date":
        rows[k] = (title, text, day + 2.5 if day == day else 10.0)
    elif kind == "remove":
        del rows[k]
    elif kind == "add":
        other = rows[rng.randrange(len(rows))]
        rows.insert(k, (other[0] + " wire", other[1] + "\nMore later.", other[2]))
    elif kind == "duplicate":
        rows.insert(k, rows[k])
    elif kind == "add unique":  # words of its own: only its own row is new
        rows.insert(k, (_word(rng), " ".join(_word(rng) for _ in range(30)) + ".", day))
    elif kind == "remove unique":
        rows = [r for r in rows if not r[0].startswith("Unique")]
    return rows


KINDS = ["append", "new word", "title", "date", "remove", "add", "duplicate", "add unique"]
# Whose result must come from reuse (the others may move enough weights to be found anew).
REUSED = {"append", "new word", "title", "date", "add unique", "remove unique"}


@pytest.mark.parametrize("kind", [*KINDS, "remove unique"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reused_work_is_what_a_pass_from_scratch_finds(kind: str, seed: int) -> None:
    rows = stream(seed)
    rows.insert(len(rows) // 3, ("Unique " + _word(random.Random(seed)), "Nothing shared.", 5.0))
    last = last_of(rows)
    finder, reused, scratch = found_after(last, edited(rows, kind, random.Random(seed)))
    assert_same(reused, scratch)
    if kind in REUSED:
        assert finder.compared >= 0, "the edit was handled by reuse, not from scratch"
        assert finder.compared < len(rows) // 2


def test_several_edits_at_once_and_in_a_row() -> None:
    rng = random.Random(9)
    rows = stream(5)
    last = last_of(rows)
    for _ in range(4):
        for kind in rng.sample(KINDS, 3):
            rows = edited(rows, kind, rng)
        finder, reused, scratch = found_after(last, rows)
        assert_same(reused, scratch)
        (_, _), times, digests, vocab = vectors_of(rows)
        last = eventstate.LastEvents(digests, times, vocab, reused)


def test_reordered_rows_are_found_from_scratch() -> None:
    rows = stream(4)
    last = last_of(rows)
    rows[0], rows[5] = rows[5], rows[0]
    finder, reused, scratch = found_after(last, rows)
    assert finder.compared == -1
    assert_same(reused, scratch)


def test_saved_and_loaded_and_a_bad_file_is_ignored(tmp_path: Path) -> None:
    last = last_of(stream(6))
    path = tmp_path / "events.npz"
    eventstate.save(path, "scope", last)
    loaded = eventstate.load(path, "scope")
    assert loaded is not None and loaded.digests == last.digests
    assert_same(loaded.events, last.events)
    assert eventstate.load(path, "other scope") is None
    broken = eventstate.LastEvents(last.digests[:-1], last.times, last.vocab, last.events)
    eventstate.save(path, "scope", broken)  # one row short: pointers do not fit
    assert eventstate.load(path, "scope") is None
    path.write_bytes(b"\x93NUMPY garbage")
    assert eventstate.load(path, "scope") is None


def clustered(
    rows: list[tuple[str, str, float]],
    last: eventstate.LastEvents | None = None,
    memo: cluster.MergeMemo | None = None,
) -> tuple[list[list[int]], eventstate.LastEvents, cluster.MergeMemo, eventstate.Finder]:
    """The groups of ``rows`` as a one-shot build finds them, reusing ``last`` and ``memo``."""
    features = cluster.compute_features([(title, text) for title, text, _ in rows])
    terms = cluster._term_rows(features)
    samples = [cluster.shingle_sample(f[3]) for f in features]
    times = np.array([t for _, _, t in rows], dtype=float)
    digests = [text_digest(title, text) for title, text, _ in rows]
    finder = eventstate.Finder(last, digests, times, terms.vocab, WINDOW, memo)

    def judge(i: int, j: int) -> bool:
        return cluster.is_copy(features[i][3], features[j][3])

    vocab = terms.vocab
    groups, events, memo = cluster.cluster_terms(
        terms, samples, times, judge, ClusterConfig(window_days=WINDOW), finder, finder.reuse
    )
    last = eventstate.LastEvents(digests, times, vocab, events)
    return cluster.in_order(groups), last, memo, finder


def with_copies(seed: int) -> list[tuple[str, str, float]]:
    """A stream with wire copies (a report republished with a line of its own) and a loner."""
    rows = stream(seed)
    rng = random.Random(seed)
    for k in rng.sample(range(len(rows)), 12):
        title, text, day = rows[k]
        rows.append((title, f"{text}\nReported by outlet {k}.", day))
    rows.insert(len(rows) // 3, ("Unique " + _word(rng), "Nothing shared.", 5.0))
    return rows


@pytest.mark.parametrize("kind", [*KINDS, "remove unique"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_merge_that_keeps_what_an_edit_did_not_reach_groups_as_from_scratch(
    kind: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = with_copies(seed)
    _, last, memo, _ = clustered(rows)
    rows = edited(rows, kind, random.Random(seed))
    merges: list[int] = []
    real = cluster._Merger.try_merge

    def counted(self: cluster._Merger, i: int, j: int, threshold: float) -> bool:
        merges.append(i)
        return real(self, i, j, threshold)

    monkeypatch.setattr(cluster._Merger, "try_merge", counted)
    kept, _, _, finder = clustered(rows, last, memo)
    reused = len(merges)
    scratch, *_ = clustered(rows)
    assert kept == scratch
    assert any(len(group) > 1 for group in scratch)
    if kind in REUSED and finder.compared >= 0:  # else no row is known steady: all merged
        assert finder.reuse() is not None
        assert reused < len(merges) - reused, "some components were kept, not merged again"


def test_merges_keep_groups_as_from_scratch_edit_after_edit() -> None:
    rng = random.Random(11)
    rows = with_copies(7)
    _, last, memo, _ = clustered(rows)
    reuses = 0
    for _ in range(5):
        for kind in rng.sample(KINDS, 2):
            rows = edited(rows, kind, rng)
        kept, last, memo, finder = clustered(rows, last, memo)
        reuses += finder.reuse() is not None
        assert kept == clustered(rows)[0]
    assert reuses >= 2


def test_a_merge_memo_is_saved_for_its_rows_only(tmp_path: Path) -> None:
    rows = with_copies(4)
    _, last, memo, _ = clustered(rows)
    path = tmp_path / "merge.npz"
    eventstate.save_merge(path, "scope", last.digests, memo)
    loaded = eventstate.load_merge(path, "scope", last.digests)
    assert loaded is not None and np.array_equal(loaded.group_of, memo.group_of)
    assert eventstate.load_merge(path, "scope", last.digests[1:]) is None  # other rows
    assert eventstate.load_merge(path, "other scope", last.digests) is None
    path.write_bytes(b"garbage")
    assert eventstate.load_merge(path, "scope", last.digests) is None


def _old_rows_by_definition(old: list[str], new: list[str]) -> list[int] | None:
    """The k-th copy of a text in ``new`` to the k-th in ``old``; None when out of order."""
    rows_of: dict[str, list[int]] = {}
    for row, digest in enumerate(old):
        rows_of.setdefault(digest, []).append(row)
    result = []
    for digest in new:
        rows = rows_of.get(digest, [])
        result.append(rows.pop(0) if rows else -1)
    kept = [r for r in result if r >= 0]
    return result if kept == sorted(set(kept)) else None


def test_old_rows_follow_their_definition_for_edits_inserts_and_copies() -> None:
    import random

    from digest.eventstate import old_rows

    rng = random.Random(3)
    fast = 0
    for _ in range(5000):
        old = [str(rng.randint(0, 6)) for _ in range(rng.randint(0, 8))]
        new = list(old)
        for _ in range(rng.randint(0, 3)):
            if new and rng.random() < 0.7:
                new[rng.randrange(len(new))] = str(rng.randint(0, 9))  # an edit in place
            elif rng.random() < 0.5:
                new.insert(rng.randint(0, len(new)), str(rng.randint(0, 9)))
            elif new:
                del new[rng.randrange(len(new))]
        found = old_rows(old, new)
        assert (None if found is None else found.tolist()) == _old_rows_by_definition(old, new)
        fast += len(old) == len(new)
    assert fast > 2000  # the in-place shortcut is tried often
