"""The last clustering's same-event work, kept so that the next one-shot build redoes only what
an edit touched.

Once the vectors are weighed, finding same-event candidates takes three passes over the corpus:
every article's top terms, every article's best partners (sparse products over its time window)
and the cosine of every candidate pair. An article's top terms depend on its vector; its
partners on its indexed top terms and date, and on those of the articles it is compared with; a
pair's cosine on the two vectors. Term counts in the idf are rounded
(``cluster.inverse_frequency``), so an edit leaves almost every vector as it was, bit for bit.

Kept per article (named by the digest of its title and text, as in the term table): its date,
its top columns and its partners, with the idf of every term and the cosine of every pair, in
``.digest-cache/terms/events.npz`` (read without pickle). The next clustering recomputes:

- the top terms of the rows whose vector changed (a new text, or one of its terms' idf moved);
- the partners of the rows whose indexed top terms or date changed, and of every row that
  shares MIN_SHARED_TOP indexed top terms with one of them (or with a row now gone), before or
  after the change: no other row's comparisons changed;
- the cosines of new pairs and of pairs with a changed vector.

Everything else is copied, and the result is exactly ``cluster.event_candidates``'s (the tests
compare the two after edits of every kind). When the articles were reordered, the window
changed, or most rows changed, it is simply computed again.

The last merge's memo (``cluster.MergeMemo``, in ``merge.npz`` beside) lets the merge keep the
groups of every component of the graph an edit did not reach: ``Finder.reuse`` says which rows
are *steady* (vector, date and partners as they were), which ``cluster._merge_units`` needs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digest import cluster
from digest.cache import load_arrays, save_arrays

log = logging.getLogger("digest")

FORMAT = 1
MOST = 0.5  # above this share of rows to compare again, a pass from scratch costs no more


@dataclass(frozen=True)
class LastEvents:
    """One clustering's same-event candidates, with what names its rows and columns."""

    digests: list[str]  # per row: the digest of the article's title and text
    times: np.ndarray  # per row: days since epoch, NaN when undated
    vocab: np.ndarray  # the columns' term ids
    events: cluster.EventCandidates


_ARRAYS = ("idf", "top_ptr", "top_cols", "cand_ptr", "cand_rows", "pairs", "sims")


def save(path: Path, scope: str, last: LastEvents) -> None:
    """Write ``last`` (failing to is only logged: it is an optimisation)."""
    arrays = {name: getattr(last.events, name) for name in _ARRAYS}
    arrays.update(
        scope=np.array(f"{FORMAT}|{scope}"),
        digests=np.array(last.digests, dtype="U40"),
        times=last.times,
        vocab=last.vocab,
    )
    save_arrays(path, arrays)


def load(path: Path, scope: str) -> LastEvents | None:
    """What ``save`` wrote at ``path`` for ``scope``, if it holds together; else None."""
    data = load_arrays(path, f"{FORMAT}|{scope}")
    if data is None:
        return None
    try:
        last = LastEvents(
            digests=data["digests"].tolist(),
            times=data["times"],
            vocab=data["vocab"],
            events=cluster.EventCandidates(**{name: data[name] for name in _ARRAYS}),
        )
    except KeyError:
        last = None
    if last is None or not _fits(last):
        log.info("ignoring cache %s: its arrays do not fit together", path)
        return None
    return last


def save_merge(path: Path, scope: str, digests: Sequence[str], memo: cluster.MergeMemo) -> None:
    """Write the memo of a merge of the rows named by ``digests`` (only logged if it fails)."""
    save_arrays(
        path,
        {
            "scope": np.array(f"{FORMAT}|{scope}|{_rows_name(digests)}"),
            "unit_of": memo.unit_of,
            "component_of": memo.component_of,
            "group_of": memo.group_of,
        },
    )


def load_merge(path: Path, scope: str, digests: Sequence[str]) -> cluster.MergeMemo | None:
    """What ``save_merge`` wrote for ``scope`` and these rows, if it holds together."""
    data = load_arrays(path, f"{FORMAT}|{scope}|{_rows_name(digests)}")
    if data is None:
        return None
    try:
        memo = cluster.MergeMemo(data["unit_of"], data["component_of"], data["group_of"])
    except KeyError:
        return None
    if not all(
        a.dtype == np.int64 and a.shape == (len(digests),) and _indices_below(a, len(digests))
        for a in (memo.unit_of, memo.component_of, memo.group_of)
    ):
        log.info("ignoring cache %s: its arrays do not fit together", path)
        return None
    return memo


def _rows_name(digests: Sequence[str]) -> str:
    """One short name for a list of rows: the memo is valid for exactly these."""
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()[:32]


def _fits(last: LastEvents) -> bool:
    n, columns, e = len(last.digests), len(last.vocab), last.events
    pointers_fit = all(
        p.dtype == np.int64
        and len(p) == n + 1
        and p[0] == 0
        and p[-1] == len(values)
        and bool(np.all(np.diff(p) >= 0))
        for p, values in ((e.top_ptr, e.top_cols), (e.cand_ptr, e.cand_rows))
    )
    return (
        pointers_fit
        and len(last.times) == n
        and len(e.idf) == columns
        and e.pairs.ndim == 2
        and e.pairs.shape[1] == 2
        and len(e.sims) == len(e.pairs)
        and _indices_below(e.top_cols, columns)
        and _indices_below(e.cand_rows, n)
        and _indices_below(e.pairs.ravel(), n)
        and bool(np.all(last.vocab[1:] > last.vocab[:-1]))
    )


def _indices_below(values: np.ndarray, bound: int) -> bool:
    return values.dtype.kind == "i" and (
        len(values) == 0 or (values.min() >= 0 and values.max() < bound)
    )


@dataclass
class Finder:
    """``cluster_terms``' ``find_events``: reuses ``last`` where it can (see the module doc)."""

    last: LastEvents | None
    digests: Sequence[str]
    times: np.ndarray
    vocab: np.ndarray
    window: float
    memo: cluster.MergeMemo | None = None  # the last merge's (by the rows of ``last``)
    compared: int = -1  # rows whose partners were found anew (-1: all, from scratch)
    old_of: np.ndarray | None = None  # set by a reuse: per row, its row in ``last`` or -1
    steady: np.ndarray | None = None  # set by a reuse: per row, whether nothing of it moved

    def __call__(self, vectors: cluster.Rows, idf: np.ndarray) -> cluster.EventCandidates:
        found = None
        if self.last is not None:
            found = _update(self, vectors, idf)
        if found is None:
            self.compared, self.old_of, self.steady = -1, None, None
            found = cluster.event_candidates(vectors, idf, self.times, self.window)
        return found

    def reuse(self) -> cluster.MergeReuse | None:
        """For ``cluster_terms``: what of the last merge this clustering may keep (after the
        call: only a reuse of the last same-event work knows which rows are steady)."""
        if self.memo is None or self.old_of is None or self.steady is None:
            return None
        return cluster.MergeReuse(self.memo, self.old_of, self.steady)


def _update(
    finder: Finder, vectors: cluster.Rows, idf: np.ndarray
) -> cluster.EventCandidates | None:
    last = finder.last
    assert last is not None
    old, times, vocab = last.events, finder.times, finder.vocab
    if len(last.vocab) == 0 or len(vocab) == 0:
        return None
    n, n_old = len(finder.digests), len(last.digests)
    old_of = old_rows(last.digests, finder.digests)
    if old_of is None:
        return None
    mapped = old_of >= 0
    new_of = np.full(n_old, -1, dtype=np.int64)
    new_of[old_of[mapped]] = np.flatnonzero(mapped)

    # Columns: where each term was, and whether its idf moved.
    where = np.minimum(np.searchsorted(last.vocab, vocab), max(len(last.vocab) - 1, 0))
    present = last.vocab[where] == vocab
    moved = ~present | (old.idf[where] != idf)
    entry_row = np.repeat(np.arange(n), np.diff(vectors.indptr))
    dirty = ~mapped
    dirty[entry_row[moved[vectors.indices]]] = True  # a new text, or a term's weight moved
    if np.count_nonzero(dirty) > MOST * n:
        return None

    # Top terms: copied for the rows whose vector is as it was.
    column_of = np.searchsorted(vocab, last.vocab)  # valid for every term of an unchanged row
    dirty_rows = np.flatnonzero(dirty)
    fresh_ptr, fresh_cols = cluster.raw_tops(vectors, dirty_rows)
    top_ptr, top_cols = _rows_from(
        n, dirty_rows, fresh_ptr, fresh_cols, old_of, old.top_ptr, column_of[old.top_cols]
    )
    keep_now = np.bincount(top_cols, minlength=len(vocab)) <= cluster.posting_cap(n)
    keep_then = np.bincount(old.top_cols, minlength=len(last.vocab)) <= cluster.posting_cap(n_old)
    flipped = ~present | (keep_then[where] != keep_now)
    top_row = np.repeat(np.arange(n), np.diff(top_ptr))
    changed = dirty.copy()
    changed[top_row[flipped[top_cols]]] = True  # a top term went into or out of the index
    then = last.times[np.maximum(old_of, 0)]
    same_time = (then == times) | (np.isnan(then) & np.isnan(times))
    changed |= mapped & ~same_time

    # Partners: found anew for the changed rows and for every row that shared enough with one
    # of them (before or after), copied for the rest.
    top_now = cluster.indexed_tops(top_ptr, top_cols, vectors.shape)
    top_then = cluster.indexed_tops(old.top_ptr, old.top_cols, (n_old, len(last.vocab)))
    gone = np.flatnonzero(new_of < 0)
    compare = changed.copy()
    window = finder.window
    compare[_sharing(top_now, np.flatnonzero(changed), times, window)] = True
    then_rows = _sharing(
        top_then, np.concatenate([old_of[changed & mapped], gone]), last.times, window
    )
    compare[new_of[then_rows][new_of[then_rows] >= 0]] = True
    rows = np.flatnonzero(compare)
    if len(rows) > MOST * n:
        return None
    i_new, j_new = cluster.partners_of_rows(top_now, rows, times, window)
    owner = np.repeat(np.arange(n_old), np.diff(old.cand_ptr))
    copied = new_of[owner] >= 0
    copied[copied] = ~compare[new_of[owner[copied]]]
    i_old, j_old = new_of[owner[copied]], new_of[old.cand_rows[copied]]
    if np.any(j_old < 0):  # a kept list names a row that is gone: cannot be (it would compare)
        return None
    cand_ptr, cand_rows = cluster.lists_of(
        np.concatenate([i_new, i_old]), np.concatenate([j_new, j_old]), n
    )
    pairs = cluster.pairs_of(cand_ptr, cand_rows)

    # Cosines: copied for pairs that existed between two unchanged vectors.
    sims = np.empty(len(pairs))
    a, b = pairs[:, 0], pairs[:, 1]
    known = ~dirty[a] & ~dirty[b]
    old_codes = old.pairs[:, 0] * n_old + old.pairs[:, 1]
    codes = old_of[a[known]] * n_old + old_of[b[known]]
    slot = np.minimum(np.searchsorted(old_codes, codes), max(len(old_codes) - 1, 0))
    found = old_codes[slot] == codes if len(old_codes) else np.zeros(len(codes), dtype=bool)
    known[np.flatnonzero(known)[~found]] = False
    sims[known] = old.sims[slot[found]]
    sims[~known] = cluster.pair_cosines(vectors, pairs[~known])
    finder.compared = len(rows)
    finder.old_of, finder.steady = old_of, ~compare  # partners, vector and date as they were
    return cluster.EventCandidates(idf, top_ptr, top_cols, cand_ptr, cand_rows, pairs, sims)


def old_rows(old: Sequence[str], new: Sequence[str]) -> np.ndarray | None:
    """Per new row, the old row of the same text (the k-th copy of a text to the k-th), or -1;
    None when the kept rows are not in their old order (ties by index would differ)."""
    if len(old) == len(new):
        # An edit: the same rows, a few texts changed in place. When no changed text is found
        # anywhere on the other side, every other row is its own old row.
        changed = [row for row, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        gone, came = {old[row] for row in changed}, {new[row] for row in changed}
        if gone.isdisjoint(new) and came.isdisjoint(old):
            result = np.arange(len(new), dtype=np.int64)
            result[changed] = -1
            return result
    rows_of: dict[str, list[int]] = {}
    for row, digest in enumerate(old):
        rows_of.setdefault(digest, []).append(row)
    taken: dict[str, int] = {}
    result = np.full(len(new), -1, dtype=np.int64)
    for row, digest in enumerate(new):
        rows = rows_of.get(digest)
        k = taken.get(digest, 0)
        if rows is not None and k < len(rows):
            result[row] = rows[k]
            taken[digest] = k + 1
    kept = result[result >= 0]
    return result if bool(np.all(kept[1:] > kept[:-1])) else None


def _sharing(top: cluster.Rows, rows: np.ndarray, times: np.ndarray, window: float) -> np.ndarray:
    """The rows that could have one of ``rows`` among their partners: they share at least
    MIN_SHARED_TOP indexed top terms with it, and the two are within the window."""
    i, j, shared = cluster.shared_counts(top, rows)
    strong = shared >= cluster.MIN_SHARED_TOP
    mine, theirs = times[i[strong]], times[j[strong]]
    near = np.isnan(mine) | np.isnan(theirs) | (np.abs(mine - theirs) <= window)
    return cluster.sorted_unique(j[strong][near])


def _rows_from(
    n: int,
    fresh_rows: np.ndarray,
    fresh_ptr: np.ndarray,
    fresh_values: np.ndarray,
    old_of: np.ndarray,
    old_ptr: np.ndarray,
    old_values: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row lists: the fresh rows' from ``fresh_*``, every other row's from its old row."""
    fresh = np.zeros(n, dtype=bool)
    fresh[fresh_rows] = True
    # One source for both: the old values, then the fresh ones; each row's slice of it.
    starts = old_ptr[np.maximum(old_of, 0)].astype(np.int64)
    lengths = (old_ptr[np.maximum(old_of, 0) + 1] - old_ptr[np.maximum(old_of, 0)]).astype(np.int64)
    starts[fresh_rows] = len(old_values) + fresh_ptr[:-1]
    lengths[fresh_rows] = np.diff(fresh_ptr)
    lengths[~fresh & (old_of < 0)] = 0  # a new row is always fresh: this only guards
    pointers = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=pointers[1:])
    source = np.concatenate([old_values, fresh_values]).astype(np.int64)
    return pointers, source[cluster.ranges(starts, lengths)]
