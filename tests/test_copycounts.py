"""Copy candidates' counts updated after an edit equal a full count (copycounts)."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from digest import copycounts
from digest.cluster import copy_candidates
from digest.eventstate import old_rows


def _sample(rng: random.Random) -> np.ndarray:
    size = rng.choice([0, 0, 3, 8, 15, 30])
    return np.array(sorted(rng.sample(range(1, 60), size)), dtype=np.uint64) * np.uint64(8)


def _time(rng: random.Random) -> float:
    return float("nan") if rng.random() < 0.15 else float(rng.randint(0, 12))


def _joined(samples: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(samples) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in samples], out=ptr[1:])
    joined = np.concatenate(samples) if samples else np.zeros(0, dtype=np.uint64)
    return ptr, joined.astype(np.uint64)


def _edit(
    rng: random.Random, texts: list[int], times: list[float], library: dict[int, np.ndarray]
) -> tuple[list[int], list[float]]:
    """Texts (by number: same number, same sample) and dates after a few random changes."""
    texts, times = list(texts), list(times)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(["text", "time", "insert", "delete", "copy"])
        row = rng.randrange(len(texts)) if texts else 0
        if kind == "text" and texts:
            texts[row] = len(library)
            library[len(library)] = _sample(rng)
        elif kind == "time" and texts:
            times[row] = _time(rng)
        elif kind == "insert" or not texts:
            texts.insert(row, len(library))
            library[len(library)] = _sample(rng)
            times.insert(row, _time(rng))
        elif kind == "delete":
            del texts[row], times[row]
        else:  # another article with the same text: the same digest twice
            texts.insert(row, texts[rng.randrange(len(texts))])
            times.insert(row, _time(rng))
    return texts, times


def _assert_same(a: copycounts.Counts, b: copycounts.Counts) -> None:
    assert a.rows == b.rows
    assert a.codes.tolist() == b.codes.tolist()
    assert a.counts.tolist() == b.counts.tolist()
    assert a.times is not None and b.times is not None
    assert np.array_equal(a.times, b.times, equal_nan=True)


@pytest.mark.parametrize("seed", range(60))
def test_an_update_counts_what_a_full_pass_counts(seed: int) -> None:
    _edits_checked(seed)


def test_most_edits_are_updates_not_full_passes() -> None:
    assert sum(_edits_checked(seed) for seed in range(60)) > 100  # of 180 edits


def _edits_checked(seed: int) -> int:
    """Three edits in a row, each checked against a full pass; how many were updates."""
    rng = random.Random(seed)
    library = {k: _sample(rng) for k in range(40)}
    texts = [rng.randrange(40) for _ in range(rng.randint(1, 40))]
    times = [_time(rng) for _ in texts]
    last = copycounts.full([library[t] for t in texts], np.array(times))
    updates: list[int] = []
    for _ in range(3):  # edits one after another, each from the counts the last one made
        new_texts, new_times = _edit(rng, texts, times, library)
        samples = [library[t] for t in new_texts]
        when = np.array(new_times)
        old_of = old_rows([str(t) for t in texts], [str(t) for t in new_texts])
        expected = copycounts.full(samples, when)
        if old_of is None:  # kept texts out of their old order: the caller counts in full
            last, texts, times = expected, new_texts, new_times
            continue
        updated = copycounts.update(
            last, _joined([library[t] for t in texts]), samples, when, old_of
        )
        assert updated is not None
        updates.append(len(updated.codes))
        _assert_same(updated, expected)
        assert updated.fits()
        assert copycounts.candidates(updated, when, 3.0) == copy_candidates(samples, when, 3.0)
        last, texts, times = updated, new_texts, new_times
    return len(updates)


def test_nothing_changed_gives_the_same_counts() -> None:
    rng = random.Random(1)
    samples = [_sample(rng) for _ in range(30)]
    times = np.array([_time(rng) for _ in samples])
    last = copycounts.full(samples, times)
    assert len(copycounts.candidates(last, times, 3.0)) > 0  # the sets share samples
    same = copycounts.update(last, _joined(samples), samples, times, np.arange(30))
    assert same is not None
    _assert_same(same, last)


def test_counts_that_do_not_fit_the_last_samples_are_refused() -> None:
    rng = random.Random(2)
    samples = [_sample(rng) for _ in range(20)]
    times = np.array([_time(rng) for _ in samples])
    last = copycounts.full(samples, times)
    edited = list(samples)
    edited[3] = _sample(rng)
    old_of = np.arange(20)
    old_of[3] = -1
    other = [_sample(rng) for _ in range(20)]  # not the samples the counts were made from
    assert copycounts.update(last, _joined(other), edited, times, old_of) is None
    short = (np.zeros(5, dtype=np.int64), np.zeros(0, dtype=np.uint64))
    assert copycounts.update(last, short, edited, times, old_of) is None
    backwards = old_of[::-1].copy()
    assert copycounts.update(last, _joined(samples), edited, times, backwards) is None
    undated = dataclasses.replace(last, times=None)  # counts without their dates: not updated
    assert copycounts.update(undated, _joined(samples), edited, times, old_of) is None


def test_damaged_counts_do_not_fit() -> None:
    good = copycounts.Counts(5, np.array([1, 7, 13], dtype=np.int64), np.ones(3, dtype=np.int32))
    assert good.fits()
    codes, counts = good.codes, good.counts
    for bad in (
        copycounts.Counts(5, codes[::-1].copy(), counts),  # not increasing
        copycounts.Counts(5, codes, np.zeros(3, dtype=np.int32)),  # a count of none
        copycounts.Counts(5, np.array([1, 7, 25], dtype=np.int64), counts),  # past n * n
        copycounts.Counts(5, np.array([1, 7, 20], dtype=np.int64), counts),  # a > b
        copycounts.Counts(5, codes.astype(np.int32), counts),  # another type
        copycounts.Counts(5, codes, counts[:2]),  # lengths differ
        copycounts.Counts(5, codes, counts, np.zeros(4)),  # dates for other rows
    ):
        assert not bad.fits()
