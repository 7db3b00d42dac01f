"""Candidate pairs of copies by shared shingle samples, counted so that an edit updates them.

The copy index (``cluster.copy_candidates``) lays each sampled shingle's articles out in time
order and pairs each with its next ``NEIGHBOURS``; a pair sharing ``MIN_SHARED_SAMPLES`` of
those is a candidate. A pair's count is a sum over shingles, and a shingle's part depends only
on the articles that hold it and their order. So after an edit the counts of the last build
change only through the shingles of the articles that changed (their old samples and their new
ones): this module takes those shingles' old parts away and adds their new parts, instead of
sorting every sample of every article again (~50 ms of a one-article edit at 6,000 articles,
~10 ms this way). The result is the count a full pass gives, pair for pair (tests compare).

Counts are kept as ``Counts``: pair codes ``a * n + b`` (rows a < b of n; a == b only for a
sample holding a hash twice, never a candidate) in increasing order, with how many shingles
pair them (at least one), and the dates they were counted with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from digest.arrayops import pair_code_type, sorted_unique

MIN_SHARED_SAMPLES = 2  # shared sampled shingles that make a pair a candidate
NEIGHBOURS = 4  # pairs per posting list: each entry with its next few, so a copy shared by
# hundreds of outlets costs a chain of pairs, not all pairs (union makes the chain one group)


@dataclass(frozen=True)
class Counts:
    rows: int  # n: the codes are a * n + b
    codes: np.ndarray  # int64, strictly increasing
    counts: np.ndarray  # int32, >= 1
    # float64 per row: the dates (day numbers, NaN for none) the counts were made with, which
    # order the posting lists; kept with them, so an update never starts from other dates.
    times: np.ndarray | None = None

    def fits(self) -> bool:
        """Whether the arrays hold together (a loaded copy may be damaged)."""
        codes, counts, n, times = self.codes, self.counts, self.rows, self.times
        return (
            (times is None or (times.dtype == np.float64 and times.shape == (n,)))
            and codes.dtype == np.int64
            and counts.dtype == np.int32
            and codes.ndim == counts.ndim == 1
            and len(codes) == len(counts)
            and (len(codes) == 0 or (codes[0] >= 0 and codes[-1] < n * n))
            and bool(np.all(codes[1:] > codes[:-1]))
            and bool(np.all(counts >= 1))
            and bool(np.all(codes // max(n, 1) <= codes % max(n, 1)))
        )


def full(samples: Sequence[np.ndarray], times: np.ndarray) -> Counts:
    """Every pair's count, from every article's sample (a sorted array of unique hashes)."""
    n = len(samples)
    # Posting lists in (time, doc) order: the entries laid out doc by doc in that order, then
    # sorted by shingle with a stable sort (one int32 per sampled shingle beside its hash: at
    # 100,000 articles there are ~6 million, and this ran while every feature was held).
    by_time = np.lexsort((np.arange(n), np.nan_to_num(times, nan=-np.inf)))
    owners = [doc for doc in by_time.tolist() if len(samples[doc])]
    if not owners:
        return replace(_counted(np.zeros(0, dtype=np.int64), n), times=times)
    lengths = np.fromiter((len(samples[d]) for d in owners), dtype=np.int64, count=len(owners))
    key = np.concatenate([samples[d] for d in owners])
    order = np.argsort(key, kind="stable")
    key = key[order]
    doc = np.repeat(np.array(owners, dtype=np.int32), lengths)[order]
    del order
    return replace(_counted(_adjacent_codes(key, doc, n), n), times=times)


def candidates(counts: Counts, times: np.ndarray, window: float) -> list[tuple[int, int]]:
    """Pairs (i < j) sharing enough samples, within ``window`` days of each other (an undated
    article is near every other), in increasing order of (i, j)."""
    n = counts.rows
    pairs = counts.codes[counts.counts >= MIN_SHARED_SAMPLES]
    i, j = pairs // n, pairs % n
    ti, tj = times[i], times[j]
    near = np.isnan(ti) | np.isnan(tj) | (np.abs(ti - tj) <= window)
    keep = near & (i != j)  # an entry beside itself: a sample with a hash twice
    return list(zip(i[keep].tolist(), j[keep].tolist(), strict=True))


def update(
    last: Counts,
    old_samples: tuple[np.ndarray, np.ndarray],
    samples: Sequence[np.ndarray],
    times: np.ndarray,
    old_of: np.ndarray,
) -> Counts | None:
    """The counts of the articles now, from ``last``, the counts of the last build's (with the
    dates they were made with).

    ``old_samples`` is the last build's samples as (pointers, hashes end to end) per old row;
    ``old_of`` per row now its old row (the same text) or -1, kept rows in their old order. A
    row whose text or date changed counts as new. None when the pieces do not fit together
    (then count in ``full``).
    """
    n, n_old, old_times = len(samples), last.rows, last.times
    ptr, joined = old_samples
    if old_times is None or len(old_of) != n or len(ptr) != n_old + 1 or len(old_times) != n_old:
        return None
    kept = old_of[old_of >= 0]
    if len(kept) and (kept.max() >= n_old or bool(np.any(kept[1:] <= kept[:-1]))):
        return None
    then = old_times[np.maximum(old_of, 0)]
    same_time = (then == times) | (np.isnan(then) & np.isnan(times))
    steady = (old_of >= 0) & same_time  # rows whose part in every posting list is as it was
    new_of = np.full(n_old, -1, dtype=np.int64)
    new_of[old_of[steady]] = np.flatnonzero(steady)
    moved_new = np.flatnonzero(~steady)
    moved_old = np.flatnonzero(new_of < 0)
    touched = [samples[r] for r in moved_new.tolist()]
    touched += [joined[ptr[r] : ptr[r + 1]] for r in moved_old.tolist()]
    shingles = sorted_unique(np.concatenate(touched)) if touched else np.zeros(0, dtype=np.uint64)
    # The touched shingles' entries, then and now: of the rows that moved, all of theirs; of the
    # steady rows, those in the touched shingles (the same then as now).
    hit = np.flatnonzero(_member(joined, shingles))
    then_key = joined[hit]
    then_doc = np.searchsorted(ptr, hit, side="right").astype(np.int64) - 1  # each entry's row
    steady_hit = new_of[then_doc] >= 0
    now_key = [then_key[steady_hit]]
    now_doc = [new_of[then_doc[steady_hit]]]
    for r in moved_new.tolist():
        now_key.append(samples[r])
        now_doc.append(np.full(len(samples[r]), r, dtype=np.int64))
    gone = _counted(_neighbour_codes(then_key, then_doc, old_times, n_old), n_old)
    come = _counted(_neighbour_codes(np.concatenate(now_key), np.concatenate(now_doc), times, n), n)
    remaining = _subtract(last, gone)
    if remaining is None:
        return None
    return replace(_add(_renumbered(remaining, new_of, n), come), times=times)


def _member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Which of ``values`` are in ``sorted_set`` (sorted unique): a binary search each."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    where = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[where] == values


def _neighbour_codes(key: np.ndarray, doc: np.ndarray, times: np.ndarray, n: int) -> np.ndarray:
    """The pair code of each entry with each of its next NEIGHBOURS in its shingle's posting
    list: the entries of one shingle in order of their article's date (undated first), then
    row."""
    if len(key) == 0:
        return np.zeros(0, dtype=np.int64)
    when = np.nan_to_num(times[doc], nan=-np.inf)
    order = np.lexsort((doc, when, key))
    return _adjacent_codes(key[order], doc[order], n)


def _adjacent_codes(key: np.ndarray, doc: np.ndarray, n: int) -> np.ndarray:
    """For entries sorted by shingle (and in posting-list order within one): the pair code of
    each with each of its next NEIGHBOURS of the same shingle."""
    wide = pair_code_type(n)  # a pair (a < b) as one number, a * n + b
    codes = []
    for d in range(1, NEIGHBOURS + 1):
        same = key[:-d] == key[d:]
        a, b = doc[:-d][same].astype(wide), doc[d:][same].astype(wide)
        codes.append(np.minimum(a, b) * wide(n) + np.maximum(a, b))
    return np.concatenate(codes)


def _counted(codes: np.ndarray, n: int) -> Counts:
    unique, counts = np.unique(codes, return_counts=True)
    return Counts(n, unique.astype(np.int64, copy=False), counts.astype(np.int32))


def _subtract(last: Counts, gone: Counts) -> Counts | None:
    """``last`` less ``gone`` (each of whose pairs it must hold at least as often)."""
    if len(gone.codes) == 0:
        return last
    at = np.minimum(np.searchsorted(last.codes, gone.codes), max(len(last.codes) - 1, 0))
    if len(last.codes) == 0 or not bool(np.all(last.codes[at] == gone.codes)):
        return None
    counts = last.counts.copy()
    counts[at] -= gone.counts
    if bool(np.any(counts[at] < 0)):
        return None
    left = counts > 0
    return Counts(last.rows, last.codes[left], counts[left])


def _renumbered(counts: Counts, new_of: np.ndarray, n: int) -> Counts:
    """``counts`` in the row numbers of now (every pair left is of two steady rows, whose order
    is kept: the codes stay in increasing order)."""
    n_old = counts.rows
    if n == n_old and bool(np.all((new_of < 0) | (new_of == np.arange(n_old)))):
        return Counts(n, counts.codes, counts.counts)
    a, b = new_of[counts.codes // n_old], new_of[counts.codes % n_old]
    return Counts(n, a * n + b, counts.counts)


def _add(base: Counts, more: Counts) -> Counts:
    if len(more.codes) == 0:
        return base
    at = np.searchsorted(base.codes, more.codes)
    found = at < len(base.codes)
    found[found] = base.codes[at[found]] == more.codes[found]
    counts = base.counts.copy()
    counts[at[found]] += more.counts[found]
    new = ~found
    return Counts(
        base.rows,
        np.insert(base.codes, at[new], more.codes[new]),
        np.insert(counts, at[new], more.counts[new]),
    )
