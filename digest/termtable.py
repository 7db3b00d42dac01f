"""The clustering's term table: what a one-shot build's clustering starts from the next time.

Clustering is exact over the whole corpus: corpus idf weighs every vector, so one edited
article changes numbers everywhere, and a rebuild after an edit clusters everything again. What
it need not do again is the per-article work and reading it back: every article's features
from the cache (thousands of entries), its term weights, its shingle sample, and the copy
verdicts, each a set intersection of two texts. The table keeps exactly those, in one file
(``.digest-cache/terms/table.npz``, read without pickle), in the arrays clustering consumes:

- per article, named by the digest of its title and text: its term columns and their weights
  before idf (``cluster.TermRows``), and its sampled shingle hashes;
- the verdict of every candidate pair of copies, by the pair of digests.

A rebuild assembles the corpus's rows from the table, computes features only for the articles it
lacks, and then runs the same steps on the same arrays as a build without the table (the tests
compare both): same groups, same bytes. A table from other code, or one that does not hold
together, is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from digest import cluster, copycounts, eventstate
from digest.cache import load_arrays, save_arrays

log = logging.getLogger("digest")

FORMAT = 1
Verdicts = dict[tuple[str, str], bool]  # (digest, digest), the smaller first -> copies or not


@dataclass(frozen=True)
class TermTable:
    digests: list[str]  # per row: ``cluster.feature_key_digest`` of the article's (title, text)
    terms: cluster.TermRows  # rows in the order of ``digests``
    sample_ptr: np.ndarray  # int64, per row: where its shingle sample starts in ``samples``
    samples: np.ndarray  # uint64, the rows' shingle samples end to end
    verdicts: Verdicts = field(default_factory=dict)
    copies: copycounts.Counts | None = None  # the copy index's counts for these rows, if kept

    @cached_property
    def row_of(self) -> dict[str, int]:
        return {digest: row for row, digest in enumerate(self.digests)}


def pair_key(a: str, b: str) -> tuple[str, str]:
    """A verdict's key: the pair of digests in order (``is_copy`` is symmetric)."""
    return (a, b) if a <= b else (b, a)


def table_of(
    digests: list[str],
    terms: cluster.TermRows,
    samples: Sequence[np.ndarray],
    verdicts: Verdicts,
    copies: copycounts.Counts | None = None,
) -> TermTable:
    lengths = np.fromiter((len(s) for s in samples), dtype=np.int64, count=len(samples))
    sample_ptr = np.zeros(len(samples) + 1, dtype=np.int64)
    np.cumsum(lengths, out=sample_ptr[1:])
    joined = np.concatenate(samples) if samples else np.zeros(0, dtype=np.uint64)
    joined = joined.astype(np.uint64, copy=False)
    return TermTable(digests, terms, sample_ptr, joined, verdicts, copies)


def save(path: Path, scope: str, table: TermTable) -> None:
    """Write ``table`` (failing to is only logged: the table is an optimisation)."""
    pairs = list(table.verdicts)
    arrays = {
        "scope": np.array(f"{FORMAT}|{scope}"),
        "digests": np.array(table.digests, dtype="U40"),
        "vocab": table.terms.vocab,
        "indptr": table.terms.indptr,
        "indices": table.terms.indices,
        "base": table.terms.base,
        "sample_ptr": table.sample_ptr,
        "samples": table.samples,
        "verdict_a": np.array([a for a, _ in pairs], dtype="U40"),
        "verdict_b": np.array([b for _, b in pairs], dtype="U40"),
        "verdict": np.array(list(table.verdicts.values()), dtype=bool),
    }
    copies = table.copies
    if copies is not None and copies.rows == len(table.digests) and copies.times is not None:
        arrays["copy_codes"], arrays["copy_counts"] = copies.codes, copies.counts
        arrays["copy_times"] = copies.times.astype(np.float64, copy=False)
    save_arrays(path, arrays)


def load(path: Path, scope: str) -> TermTable | None:
    """The table at ``path`` if it was written for ``scope`` and holds together, else None."""
    arrays = load_arrays(path, f"{FORMAT}|{scope}")
    if arrays is None:
        return None
    table = _table_or_none(arrays)
    if table is None:
        log.info("ignoring cache %s: its arrays do not fit together", path)
    return table


def _table_or_none(a: dict[str, np.ndarray]) -> TermTable | None:
    try:
        digests = a["digests"].tolist()
        vocab, indptr, indices, base = a["vocab"], a["indptr"], a["indices"], a["base"]
        sample_ptr, samples = a["sample_ptr"], a["samples"]
        pairs = zip(a["verdict_a"].tolist(), a["verdict_b"].tolist(), strict=True)
        verdicts = dict(zip(pairs, a["verdict"].tolist(), strict=True))
    except (KeyError, ValueError):
        return None
    rows = len(digests)
    fits = (
        vocab.dtype == np.uint64
        and base.dtype == np.float64
        and samples.dtype == np.uint64
        and indices.dtype.kind == "i"
        and _pointers_fit(indptr, rows, len(indices))
        and _pointers_fit(sample_ptr, rows, len(samples))
        and len(base) == len(indices)
        and (len(indices) == 0 or (indices.min() >= 0 and indices.max() < len(vocab)))
        and bool(np.all(vocab[1:] > vocab[:-1]))
    )
    if not fits:
        return None
    terms = cluster.TermRows(vocab, indptr, indices, base)
    copies = None
    if {"copy_codes", "copy_counts", "copy_times"} <= a.keys():  # else: counted anew
        kept = copycounts.Counts(rows, a["copy_codes"], a["copy_counts"], a["copy_times"])
        copies = kept if kept.fits() else None  # damaged: counted anew too
    return TermTable(digests, terms, sample_ptr, samples, verdicts, copies)


def _pointers_fit(pointers: np.ndarray, rows: int, total: int) -> bool:
    return (
        pointers.dtype == np.int64
        and len(pointers) == rows + 1
        and pointers[0] == 0
        and pointers[-1] == total
        and bool(np.all(pointers[1:] >= pointers[:-1]))
    )


# A new article's row: its term ids (ascending), their weights before idf, its shingle sample.
FreshRow = tuple[np.ndarray, np.ndarray, np.ndarray]


def fresh_row(features: cluster.Features) -> FreshRow:
    ids, base = cluster.row_terms(features)
    return ids, base, cluster.shingle_sample(features[3])


def assemble(
    table: TermTable | None, digests: Sequence[str], fresh: dict[str, FreshRow]
) -> tuple[cluster.TermRows, list[np.ndarray]]:
    """The term rows and shingle samples of the articles named by ``digests``, from the table's
    rows and from ``fresh`` (which holds every digest the table lacks).

    Exactly the rows ``cluster`` makes from the articles' features: columns are the terms found
    in these rows, in the order of their ids, each row's in ascending order.
    """
    known = (
        table.terms
        if table is not None
        else cluster.TermRows(
            np.zeros(0, dtype=np.uint64),
            np.zeros(1, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
        )
    )
    vocab = _with_terms(known.vocab, [ids for ids, _, _ in fresh.values()])
    # One source of rows: the table's, then the fresh ones after them; each article's row is
    # gathered from there in one pass.
    news = list(fresh.values())
    same = vocab is known.vocab  # an edit's words are most often all in the table already
    columns = [known.indices if same else np.searchsorted(vocab, known.vocab)[known.indices]]
    columns += [np.searchsorted(vocab, ids) for ids, _, _ in news]
    weights = [known.base, *(base for _, base, _ in news)]
    lengths = np.concatenate([np.diff(known.indptr), [len(ids) for ids, _, _ in news]])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    row_of = table.row_of if table is not None else {}
    fresh_row_of = {digest: len(known.indptr) - 1 + k for k, digest in enumerate(fresh)}
    source = np.array(
        [row_of[d] if d in row_of else fresh_row_of[d] for d in digests], dtype=np.int64
    )
    entries = cluster.ranges(starts[source], lengths[source].astype(np.int64))
    indices = np.concatenate(columns)[entries]
    base = np.concatenate(weights).astype(float, copy=False)[entries]
    indptr = np.zeros(len(digests) + 1, dtype=np.int64)
    np.cumsum(lengths[source], out=indptr[1:])
    samples = [
        table.samples[table.sample_ptr[row_of[d]] : table.sample_ptr[row_of[d] + 1]]
        if d in row_of and table is not None
        else fresh[d][2]
        for d in digests
    ]
    # Only the terms these rows hold are columns (an edit may have removed a term's last use).
    used = np.bincount(indices, minlength=len(vocab)) > 0
    if not used.all():
        position = np.cumsum(used) - 1
        indices, vocab = position[indices], vocab[used]
    indices = indices.astype(cluster.index_type(len(vocab), len(indices)))
    return cluster.TermRows(vocab, indptr, indices, base), samples


def _with_terms(vocab: np.ndarray, more: list[np.ndarray]) -> np.ndarray:
    """The sorted union of ``vocab`` (sorted, unique) and the ids in ``more``: ``vocab`` itself
    when they hold no new id (no sort of the whole vocabulary then)."""
    if not more:
        return vocab
    ids = np.concatenate(more)
    if len(vocab):
        at = np.minimum(np.searchsorted(vocab, ids), len(vocab) - 1)
        ids = ids[vocab[at] != ids]
    if not len(ids):
        return vocab
    new = cluster.sorted_unique(ids)
    return np.insert(vocab, np.searchsorted(vocab, new), new)


class CopyJudge:
    """Verifies candidate pairs of copies (rows), reusing the table's verdicts by digest.

    ``shingles_of(row)`` gives a row's full shingle set when a pair must be checked anew; every
    verdict asked for is kept in ``used``, the next table's verdicts.
    """

    def __init__(
        self, digests: Sequence[str], known: Verdicts, shingles_of: Callable[[int], np.ndarray]
    ) -> None:
        self.digests = digests
        self.known = known
        self.shingles_of = shingles_of
        self.used: Verdicts = {}
        self.checked = 0  # pairs verified anew

    def __call__(self, i: int, j: int) -> bool:
        a, b = self.digests[i], self.digests[j]
        key = (a, b) if a <= b else (b, a)  # pair_key, inline: called for every candidate
        verdict = self.known.get(key)
        if verdict is None:
            verdict = cluster.is_copy(self.shingles_of(i), self.shingles_of(j))
            self.checked += 1
        self.used[key] = verdict
        return verdict


class TableKeeper:
    """``cluster.Keeper`` for a clustering from features: writes the table (and the same-event
    candidates, ``eventstate``) as it goes by.

    The term rows are written the moment they are handed over: a one-shot build weighs them in
    place right after.
    """

    def __init__(
        self,
        path: Path,
        scope: str,
        digests: list[str],
        events_path: Path | None = None,
        events_scope: str = "",
    ) -> None:
        self.path = path
        self.scope = scope
        self.names = digests
        self.events_path = events_path
        self.events_scope = events_scope
        self._samples: list[np.ndarray] = []
        self._verdicts: Verdicts = {}
        self._counts: copycounts.Counts | None = None

    def copies(
        self,
        samples: list[np.ndarray],
        verdicts: dict[tuple[object, object], bool],
        counts: copycounts.Counts | None = None,
    ) -> None:
        self._samples = samples
        self._verdicts = {pair_key(str(a), str(b)): v for (a, b), v in verdicts.items()}
        self._counts = counts

    def terms(self, terms: cluster.TermRows) -> None:
        if len(self._samples) != len(self.names):  # no copy step ran: nothing to start from
            return
        table = table_of(self.names, terms, self._samples, self._verdicts, self._counts)
        save(self.path, self.scope, table)
        self._samples, self._verdicts, self._counts = [], {}, None

    def events(self, times: np.ndarray, vocab: np.ndarray, events: cluster.EventCandidates) -> None:
        if self.events_path is not None:
            last = eventstate.LastEvents(self.names, times, vocab, events)
            eventstate.save(self.events_path, self.events_scope, last)

    def merged(self, memo: cluster.MergeMemo) -> None:
        if self.events_path is not None:
            path = merge_path(self.events_path)
            eventstate.save_merge(path, self.events_scope, self.names, memo)


def merge_path(events_path: Path) -> Path:
    """Where the merge memo of the same-event candidates at ``events_path`` is kept."""
    return events_path.with_name("merge.npz")
