"""Wire copies and same-event reports -> groups of articles (stories).

Interface (build.py relies on it):
- ``cluster_articles(articles: Sequence[Article], config: ClusterConfig) -> list[list[int]]``:
  groups of indices into ``articles``; every index in exactly one group; deterministic order
  (groups ordered by their smallest index, indices ascending). ``Article.story`` pins override.

Method, in three steps over the articles that carry no ``story`` pin:

1. Wire copies. Word 5-shingles are hashed; a fixed 1-in-8 sample of the hashes (those whose
   mixed hash is 0 mod 8) is indexed. Unlike MinHash, which estimates Jaccard, a fixed sample
   keeps containment visible: a short copy inside a long page full of furniture still shares
   most of its sampled shingles. Candidate pairs share at least two sampled shingles and are
   verified on the full shingle sets: copies when most of the shorter text is found in the other.
2. Same-event reports. TF-IDF vectors (sublinear tf, smoothed corpus idf from counts rounded to
   an eighth of a doubling, see ``inverse_frequency``), with names (tokens
   capitalised inside a sentence), numbers and title words weighted up: they are what tells two
   earthquakes apart. Candidate pairs share at least two of each other's top terms (a sparse
   product of top-term indicator matrices, i.e. an inverted index), compared only inside a
   sliding time window, with over-common terms left out of the index and at most CANDIDATES
   partners per article, so the cost grows linearly with the number of articles.
3. Merging: candidate edges in decreasing cosine order join two clusters only when their
   *average* pairwise cosine (exact, from the clusters' vector sums) reaches the threshold, and
   when every pair of dated articles in the result stays within ``config.window_days``.
   Average link resists chaining: one bridging article cannot glue two stories together. Two
   multi-report clusters must also be close relative to their own cohesion (RELATIVE_LINK):
   that is what keeps two similar events of one topic apart. Copy groups count as one report.

Undated articles are compared with every article on text alone and may join any story.
Everything is computed in one process from sorted data: the result does not depend on the
number of workers, and only on input order through exact ties.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Protocol

import numpy as np

from digest import copycounts
from digest.arrayops import pair_code_type, sorted_unique, stable_order
from digest.config import ClusterConfig
from digest.grouping import day_number, in_order, split_pins
from digest.model import Article
from digest.text import normalize, text_digest, words

if TYPE_CHECKING:
    from scipy import sparse

# Average cosine two clusters need to merge. Same-event news reports (different outlets, one
# event) sit around 0.2-0.5 with these vectors; same-topic but different events (two earthquakes
# a year apart) around 0.05-0.15, because names, places and numbers differ and are weighted up.
DEFAULT_THRESHOLD = 0.15
# Two clusters (of two or more reports each) merge only if their cross similarity is at least this
# share of their own cohesion: halves of one event are about as close across as within, while two
# events of one topic (two earthquakes, two rehab stays of one star) are clearly closer within.
RELATIVE_LINK = 0.65

TITLE_TF = 2.0  # a title word counts as this many body occurrences: headlines name the event
NAME_BOOST = 2.0  # weight for tokens capitalised inside sentences (people, places, bodies)
NUMBER_BOOST = 2.0  # weight for tokens with digits (dates, tolls, magnitudes, scores)

TOP_TERMS = 20  # terms per article in the candidate index
MIN_SHARED_TOP = 2  # one shared top term is too weak a hint to spend a comparison on
POSTING_CAP_FRACTION = 0.05  # a term in the top terms of more than 5% of articles is a topic,
POSTING_CAP_MIN = 200  # not an event; it is left out of the index (but not out of the vectors)
CANDIDATES = 40  # partners per article: a story's reports share several top terms with each
# other, so its best-overlapping 40 include them even in a busy news day
BLOCK = 1024  # rows per sparse product block (bounds memory)
TFIDF_CHUNK = 4096  # articles per step when weighting terms (bounds memory)

SHINGLE = 5  # words per shingle: long enough that shared runs mean copied text
SAMPLE_MOD = 8  # keep 1 shingle hash in 8
MIN_SHINGLES = 12  # too short to call a copy by shingles; left to the TF-IDF step
CONTAINMENT = 0.5  # half the shorter text found verbatim (5-word runs) in the other: a copy

# Function words carry no event; split from one string to keep the list compact.
_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own said same say says she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours
    yourself yourselves s t don mr mrs ms one two new told according since still however get
    got like may might must us per via around among within without across amid
    """.split()  # noqa: SIM905
)

_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class Rows:
    """A sparse matrix as its CSR arrays (columns ascending in each row): what clustering needs
    of one. Plain numpy: a rebuild after an edit then never imports scipy (0.2 s)."""

    indptr: np.ndarray  # int64, one more than there are rows
    indices: np.ndarray  # per entry: its column
    data: np.ndarray  # per entry: its value
    shape: tuple[int, int]

    def as_csr(self) -> sparse.csr_matrix:
        from scipy import sparse

        return sparse.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)

    @functools.cached_property
    def postings(self) -> tuple[np.ndarray, np.ndarray]:
        """Per column, the rows holding it, ascending: (pointers, rows), the transpose's CSR
        arrays. Made once per matrix: the same-event step after an edit asks several times."""
        n, v = self.shape
        owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.indptr))
        order = stable_order(self.indices, v)
        return np.searchsorted(self.indices[order], np.arange(v + 1)), owner[order]


@dataclass(frozen=True)
class _Prepared:
    times: np.ndarray  # days since epoch (float), NaN when undated
    vectors: Rows  # L2-normalised TF-IDF rows
    shingles: list[np.ndarray]  # sorted unique shingle hashes per article
    keys: list[tuple[str, str]]  # (title, text) per article: what its features depend on
    vocab: np.ndarray  # the columns' stable term ids, sorted
    idf: np.ndarray  # per column


def cluster_articles(articles: Sequence[Article], config: ClusterConfig) -> list[list[int]]:
    """Group ``articles`` into stories: lists of indices, see the module docstring."""
    return cluster_with_snapshot(articles, config)[0]


@dataclass(frozen=True)
class Snapshot:
    """What an exact clustering leaves behind, for quick provisional updates (``digest serve``).

    Rows are the articles without a ``story`` pin, in the order they were clustered.
    """

    config: ClusterConfig
    rows: dict[tuple[object, ...], int]  # article identity (see ``identity``) -> row
    vectors: Rows  # L2-normalised TF-IDF rows
    vocab: np.ndarray  # the columns' stable term ids, sorted
    idf: np.ndarray  # per column
    times: np.ndarray  # per row: days since epoch, NaN when undated
    shingles: list[np.ndarray]  # per row
    groups: list[list[int]]  # the stories of the unpinned articles, as rows


def identity(article: Article) -> tuple[object, ...]:
    """Everything about an article that clustering reads."""
    return (article.id, article.title, article.text, article.published, article.story)


def cluster_with_snapshot(
    articles: Sequence[Article],
    config: ClusterConfig,
    *,
    keep: bool = True,
    keeper: Keeper | None = None,
) -> tuple[list[list[int]], Snapshot | None]:
    """``cluster_articles``, plus the snapshot its quick updates start from (None: no free rows).

    ``keep=False`` (a one-shot build) lets go of the articles' features as soon as each part has
    been used, shingles after the copy check, terms once weighted, instead of keeping them for a
    next clustering (at 100,000 articles they are most of its memory); then there is no snapshot.
    ``keeper`` (naming the articles without a pin, in order) is handed the shingle samples, the
    copy verdicts, the term rows and the same-event candidates.
    """
    groups, free = split_pins(articles)
    snapshot = None
    if free:
        sub = [articles[i] for i in free]
        window, threshold = config.window_days, threshold_of(config)
        prep, copy_pairs = _prepare(sub, window, keep=keep, keeper=keeper)
        events = event_candidates(prep.vectors, prep.idf, prep.times, window)
        if keeper is not None:
            keeper.events(prep.times, prep.vocab, events)
        edges = strongest_first(events.pairs, events.sims, threshold)
        del events
        units = _units(prep.vectors, prep.times, copy_pairs, edges, window)
        unit_vectors = _unit_vectors(prep.vectors, units.members)
        if not keep:
            del prep  # the articles' vectors (~170 MB at 100,000): merging needs the units' only
        free_groups, memo = _merge_units(units, lambda _: unit_vectors, window, threshold)
        del unit_vectors
        if keeper is not None:
            keeper.merged(memo)
        if keep:
            snapshot = Snapshot(
                config=config,
                rows={identity(a): row for row, a in enumerate(sub)},
                vectors=prep.vectors,
                vocab=prep.vocab,
                idf=prep.idf,
                times=prep.times,
                shingles=prep.shingles,
                groups=free_groups,
            )
        for group in free_groups:
            groups.append([free[i] for i in group])
    return in_order(groups), snapshot


def cluster_terms(
    terms: TermRows,
    samples: Sequence[np.ndarray],
    times: np.ndarray,
    is_copy_pair: Callable[[int, int], bool],
    config: ClusterConfig,
    find_events: Callable[[Rows, np.ndarray], EventCandidates] | None = None,
    reuse: Callable[[], MergeReuse | None] | None = None,
    count_copies: Callable[[Sequence[np.ndarray], np.ndarray], copycounts.Counts] | None = None,
) -> tuple[list[list[int]], EventCandidates, MergeMemo]:
    """Groups of rows, from articles given as their term rows and shingle samples (without pins),
    and the same-event candidates found on the way.

    The same steps and arithmetic as ``cluster_with_snapshot``, which makes the rows from the
    articles' features: given the same rows, the same groups. ``is_copy_pair(i, j)`` verifies a
    candidate pair of copies; ``find_events(vectors, idf)``, if given, stands in for
    ``event_candidates`` (``eventstate`` reuses the last clustering's, with the same result);
    ``reuse()``, if given, is asked after it what of the last merge may be kept (``_merge_units``);
    ``count_copies(samples, times)``, if given, stands in for ``copycounts.full`` (an update of
    the last build's counts, with the same result).
    """
    window, threshold = config.window_days, threshold_of(config)
    counts = count_copies(samples, times) if count_copies else copycounts.full(samples, times)
    candidates = copycounts.candidates(counts, times, window)
    copy_pairs = [p for p in candidates if is_copy_pair(*p)]
    vectors, idf = weigh(terms)
    if find_events is not None:
        events = find_events(vectors, idf)
    else:
        events = event_candidates(vectors, idf, times, window)
    edges = strongest_first(events.pairs, events.sims, threshold)
    units = _units(vectors, times, copy_pairs, edges, window)
    groups, memo = _merge_units(
        units,
        lambda which: _unit_vectors(vectors, units.members, which),
        window,
        threshold,
        reuse() if reuse is not None else None,
    )
    return groups, events, memo


def threshold_of(config: ClusterConfig) -> float:
    return config.threshold if config.threshold > 0 else DEFAULT_THRESHOLD


@dataclass(frozen=True)
class _Units:
    """What merging starts from: copy groups as single reports, and the edges to try (the
    units' vectors are made apart, ``_unit_vectors``: a merge may need only some)."""

    members: list[list[int]]  # per unit: its articles (rows)
    unit_of: np.ndarray  # per article: its unit
    first: list[float]  # per unit: its earliest date (inf: undated)
    last: list[float]  # per unit: its latest date (-inf: undated)
    edges: np.ndarray  # article pairs (rows) with cosine >= threshold, strongest first


def _units(
    vectors: Rows,
    times: np.ndarray,
    copy_pairs: list[tuple[int, int]],
    edges: np.ndarray,
    window: float,
) -> _Units:
    n = vectors.shape[0]
    copies = _Merger(vectors, times, window, track_vectors=False)
    for i, j in copy_pairs:
        copies.union(i, j)
    # Each copy group becomes one unit (its mean vector): ten copies of one agency story are one
    # report, and must weigh as one in the averages below, not inflate a cluster's cohesion.
    members = copies.groups()
    unit_of = np.empty(n, dtype=np.int64)
    for unit, group in enumerate(members):
        unit_of[group] = unit
    return _Units(
        members=members,
        unit_of=unit_of,
        first=[copies.first[group[0]] for group in members],
        last=[copies.last[group[0]] for group in members],
        edges=edges,
    )


def _unit_vectors(vectors: Rows, members: list[list[int]], which: np.ndarray | None = None) -> Rows:
    """Per unit: the normalised mean of its articles' vectors (the direction of their sum);
    with ``which``, only for the units it marks (the others' rows are left empty)."""
    if which is not None:
        members = [
            group if wanted else [] for group, wanted in zip(members, which.tolist(), strict=True)
        ]
    return _normalise_rows(_row_sums(vectors, members))


SUM_GROUPS = 4096  # copy groups summed at a time (bounds the sort's temporaries)


def _row_sums(vectors: Rows, groups: list[list[int]]) -> Rows:
    """One row per group: the sum of its rows (a group of one: a copy of its row). Each term's
    values are summed in row order, so the sums are the same whatever the groups' order.

    Only the groups of several rows are sorted and summed, SUM_GROUPS at a time (at 100,000
    articles, sorting every entry at once was ~0.5 GB of temporaries); the rest are copied.
    """
    indptr, indices, data = vectors.indptr, vectors.indices, vectors.data
    lengths = np.diff(indptr)
    sizes = np.array([len(group) for group in groups], dtype=np.int64)
    several = np.flatnonzero(sizes > 1)
    summed_columns: list[np.ndarray] = []
    summed_values: list[np.ndarray] = []
    summed_lengths = np.zeros(len(groups), dtype=np.int64)
    for start in range(0, len(several), SUM_GROUPS):
        chunk = several[start : start + SUM_GROUPS]
        columns, values, counts = _summed(vectors, [sorted(groups[g]) for g in chunk.tolist()])
        summed_columns.append(columns)
        summed_values.append(values)
        summed_lengths[chunk] = counts
    # Per group, where its entries come from: a single row's own, or its place among the sums.
    single = sizes == 1
    singles = np.flatnonzero(single)
    single_rows = np.array([groups[g][0] for g in singles.tolist()], dtype=np.int64)
    out_lengths = summed_lengths
    out_lengths[singles] = lengths[single_rows]
    out_ptr = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum(out_lengths, out=out_ptr[1:])
    out_columns = np.empty(int(out_ptr[-1]), dtype=indices.dtype)
    out_values = np.empty(int(out_ptr[-1]))
    source = ranges(indptr[single_rows], lengths[single_rows])
    target = ranges(out_ptr[singles], out_lengths[singles])
    out_columns[target], out_values[target] = indices[source], data[source]
    del source, target
    target = ranges(out_ptr[several], out_lengths[several])
    if len(target):
        out_columns[target] = np.concatenate(summed_columns)
        out_values[target] = np.concatenate(summed_values)
    return Rows(out_ptr, out_columns, out_values, (len(groups), vectors.shape[1]))


def _summed(vectors: Rows, groups: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sums of ``groups`` (rows ascending in each) end to end: columns, values, and how many
    terms each sum has. A stable sort keeps each term's values in row order."""
    indptr, indices, data = vectors.indptr, vectors.indices, vectors.data
    lengths = np.diff(indptr)
    rows = np.array([row for group in groups for row in group], dtype=np.int64)
    sizes = np.array([len(group) for group in groups], dtype=np.int64)
    group = np.repeat(np.repeat(np.arange(len(groups), dtype=np.int64), sizes), lengths[rows])
    entries = ranges(indptr[rows], lengths[rows])
    columns, values = indices[entries].astype(np.int64), data[entries]
    order = np.argsort(group * max(vectors.shape[1], 1) + columns, kind="stable")
    group, columns, values = group[order], columns[order], values[order]
    first = np.ones(len(group), dtype=bool)
    first[1:] = (group[1:] != group[:-1]) | (columns[1:] != columns[:-1])
    starts = np.flatnonzero(first)
    summed = np.add.reduceat(values, starts) if len(starts) else values[:0]
    counts = np.bincount(group[starts], minlength=len(groups))
    return columns[starts].astype(indices.dtype), summed, counts


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions ``starts[k] .. starts[k] + lengths[k]`` of every k, end to end."""
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)


EDGE_CHUNK = 65536  # edges turned into Python ints at a time (all at once: ~150 B per edge)


@dataclass(frozen=True)
class MergeMemo:
    """What a merge leaves per row for the next one (``eventstate`` keeps it): each row's unit,
    its component of the graph of units the edges join, and its group. The numbers only say
    which rows are together."""

    unit_of: np.ndarray
    component_of: np.ndarray
    group_of: np.ndarray


@dataclass(frozen=True)
class MergeReuse:
    """The last merge's memo (by its rows), and how this clustering's rows relate to those."""

    memo: MergeMemo
    old_of: np.ndarray  # per row: the same text's row in the last clustering, or -1
    # per row: its vector, date and candidate partners are as in the last clustering (then so
    # are its edges to every other steady row, and their cosines)
    steady: np.ndarray


def _merge_units(
    units: _Units,
    vectors_for: Callable[[np.ndarray], Rows],
    window: float,
    threshold: float,
    reuse: MergeReuse | None = None,
) -> tuple[list[list[int]], MergeMemo]:
    """Merge the units along the edges, strongest first; the groups (rows) and the memo.

    Merging only ever joins units an edge joins, so each component of that graph is merged on
    its own, from its own units and edges in their order. A component whose units, edges and
    cosines are all as in the last merge ends as it did then: with ``reuse``, only the others
    are merged again (``_components_to_merge``), and the rest keep their last groups.
    ``vectors_for(which)`` gives the unit vectors of (at least) the units ``which`` marks.
    """
    unit_edges = units.unit_of[units.edges] if len(units.edges) else np.zeros((0, 2), np.int64)
    component = _components(len(units.members), unit_edges)
    redo = (
        _components_to_merge(units, component, reuse)
        if reuse is not None
        else np.ones(len(units.members), dtype=bool)
    )
    events = _Merger(vectors_for(redo), np.zeros(len(units.members)), window)
    events.first, events.last = list(units.first), list(units.last)
    parent = events.parent
    if not redo.all():
        unit_edges = unit_edges[redo[unit_edges[:, 0]]]  # both ends share the component
    for start in range(0, len(unit_edges), EDGE_CHUNK):
        for i, j in unit_edges[start : start + EDGE_CHUNK].tolist():
            # Roots found here, inline: most edges join two reports already in one cluster,
            # and a call per lookup was most of the merge's time.
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            while parent[j] != j:
                parent[j] = parent[parent[j]]
                j = parent[j]
            if i != j:
                events.try_merge(i, j, threshold)
    by_root: dict[int, list[int]] = {}
    for unit in np.flatnonzero(redo).tolist():
        by_root.setdefault(events.find(unit), []).extend(units.members[unit])
    groups = list(by_root.values())
    if reuse is not None:
        kept_rows = np.flatnonzero(~redo[units.unit_of])
        last_group = reuse.memo.group_of[reuse.old_of[kept_rows]]
        by_group: dict[int, list[int]] = {}
        for row, group in zip(kept_rows.tolist(), last_group.tolist(), strict=True):
            by_group.setdefault(group, []).append(row)
        groups.extend(by_group.values())
    group_of = np.empty(len(units.unit_of), dtype=np.int64)
    for number, group in enumerate(groups):
        group_of[group] = number
    return groups, MergeMemo(units.unit_of, component[units.unit_of], group_of)


def _components(n: int, edges: np.ndarray) -> np.ndarray:
    """Per node of a graph of ``n`` nodes, the smallest node of its connected component.

    Each round hooks every edge's two labels to their smaller one, then jumps pointers until
    each label is its own: a few rounds of whole-array steps, no per-edge Python loop.
    """
    label = np.arange(n, dtype=np.int64)
    if len(edges) == 0:
        return label
    a, b = edges[:, 0], edges[:, 1]
    while True:
        low = np.minimum(label[a], label[b])
        hooked = label.copy()
        np.minimum.at(hooked, label[a], low)
        np.minimum.at(hooked, label[b], low)
        while True:
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, label):
            return label
        label = hooked


def _components_to_merge(units: _Units, component: np.ndarray, reuse: MergeReuse) -> np.ndarray:
    """Per unit: whether its component must be merged again.

    A unit is *changed* when one of its rows is not steady or its rows are not exactly one
    unit of the last merge. A component is kept when none of its units changed and none of its
    rows was in a last component that held a changed unit's row or a row now gone: then it is
    that last component, with the same units, edges and cosines, merged in the same order.
    """
    memo, old_of, unit_of = reuse.memo, reuse.old_of, units.unit_of
    n_units = len(units.members)
    mapped = old_of >= 0
    last_unit = np.where(mapped, memo.unit_of[np.maximum(old_of, 0)], -1)
    lowest = np.full(n_units, np.iinfo(np.int64).max)
    highest = np.full(n_units, -1, dtype=np.int64)
    np.minimum.at(lowest, unit_of, last_unit)
    np.maximum.at(highest, unit_of, last_unit)
    last_sizes = np.bincount(memo.unit_of, minlength=1)
    sizes = np.bincount(unit_of, minlength=n_units)
    same_rows = (lowest == highest) & (highest >= 0)
    same_rows[same_rows] = last_sizes[highest[same_rows]] == sizes[same_rows]
    changed = ~same_rows
    changed[unit_of[~reuse.steady]] = True
    changed_row = changed[unit_of]
    touched = np.zeros(int(memo.component_of.max(initial=-1)) + 1, dtype=bool)
    touched[memo.component_of[old_of[changed_row & mapped]]] = True
    gone = np.ones(len(memo.unit_of), dtype=bool)
    gone[old_of[mapped]] = False
    touched[memo.component_of[gone]] = True
    redo_row = changed_row | (mapped & touched[memo.component_of[np.maximum(old_of, 0)]])
    redo = np.zeros(n_units, dtype=bool)
    redo[component[unit_of[redo_row]]] = True
    return redo[component]


# -- features --------------------------------------------------------------------------------


def _prepare(
    articles: Sequence[Article], window: float, *, keep: bool, keeper: Keeper | None = None
) -> tuple[_Prepared, list[tuple[int, int]]]:
    """The articles' vectors and the pairs of them that are copies (see ``cluster_with_snapshot``
    for ``keep`` and ``keeper``)."""
    times = np.array([day_number(a) for a in articles], dtype=float)
    features = features_of(articles)
    if not keep:
        _FEATURE_MEMO.clear()  # ``features`` holds this corpus's; each part goes once used
    keys = [(a.title, a.text) for a in articles]
    shingles = [f[3] for f in features]
    doc_keys = keeper.names if keeper is not None else keys
    copy_pairs = _copy_pairs(shingles, times, window, doc_keys, keeper)
    if not keep:
        shingles = []
        features = [f[:3] for f in features]  # type: ignore[misc]  (what _tfidf reads)
    vectors, vocab, idf = _tfidf(features, consume=not keep, keeper=keeper)
    del features
    prepared = _Prepared(times, vectors, shingles, keys, vocab, idf)
    return prepared, copy_pairs


class Keeper(Protocol):
    """Receives what a clustering computed that a later one can start from (``termtable``)."""

    names: Sequence[object]  # per article: a name of its (title, text) for the copy verdicts

    def copies(
        self,
        samples: list[np.ndarray],
        verdicts: dict[tuple[object, object], bool],
        counts: copycounts.Counts | None = None,
    ) -> None: ...

    def terms(self, terms: TermRows) -> None: ...

    def events(self, times: np.ndarray, vocab: np.ndarray, events: EventCandidates) -> None: ...

    def merged(self, memo: MergeMemo) -> None: ...


# One article's indexable terms (as stable 64-bit ids), which of them hold digits, their counts
# (rows: body, inner capitals, title) and its shingle hashes. They depend on its title and text
# alone, so a long-lived process (``digest serve``) computes them once per version of an
# article; a rebuild after one edit then only recomputes that article's.
Features = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # ids, numbers, counts, shingles
_FEATURE_MEMO: dict[tuple[str, str], Features] = {}
COUNT_MAX = 65535  # a term's count per article, capped (uint16): 1 + log(65535) is weight enough
_TERM_IDS: dict[str, int] = {}  # term -> stable 64-bit id (blake2b), cached per process
_NUMBERS: dict[str, bool] = {}  # term -> whether it holds a digit, cached per process


def _term_id(term: str) -> int:
    tid = _TERM_IDS.get(term)
    if tid is None:
        digest = hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest()
        tid = _TERM_IDS[term] = int.from_bytes(digest, "little")
    return tid


def _is_number(term: str) -> bool:
    number = _NUMBERS.get(term)
    if number is None:
        number = _NUMBERS[term] = any(ch.isdigit() for ch in term)
    return number


def forget() -> None:
    """Drop the memos that only speed up a next build in this process."""
    _FEATURE_MEMO.clear()
    _COPY_MEMO.clear()
    _TERM_IDS.clear()
    _NUMBERS.clear()


def missing_features(articles: Sequence[Article]) -> list[tuple[str, str]]:
    """The (title, text) keys whose features are not computed yet: work for a process pool."""
    return list(dict.fromkeys(k for a in articles if (k := (a.title, a.text)) not in _FEATURE_MEMO))


def compute_features(batch: Sequence[tuple[str, str]]) -> list[Features]:
    """Features of a batch of (title, text) keys; a pure function, so it may run in a worker."""
    if len(_TERM_IDS) > 5_000_000:
        _TERM_IDS.clear()
        _NUMBERS.clear()
    computed = [_features(title, text) for title, text in batch]
    shingles = _shingles([tokens for _, tokens in computed])
    result: list[Features] = []
    for ((body, capitals, title), _tokens), hashes in zip(computed, shingles, strict=True):
        terms = [t for t in body.keys() | title.keys() if _keep(t)]
        ids = np.fromiter(map(_term_id, terms), dtype=np.uint64, count=len(terms))
        numbers = np.fromiter(map(_is_number, terms), dtype=bool, count=len(terms))
        counts = np.array(
            [
                [min(body.get(t, 0), COUNT_MAX) for t in terms],
                [min(capitals.get(t, 0), COUNT_MAX) for t in terms],
                [min(title.get(t, 0), COUNT_MAX) for t in terms],
            ],
            dtype=np.uint16,  # small whole numbers: at 100,000 articles every byte is ~25 MB
        ).reshape(3, len(terms))
        result.append((ids, numbers, counts, hashes))
    return result


def compute_shingles(key: tuple[str, str]) -> np.ndarray:
    """Just the shingle hashes of ``compute_features`` for one (title, text) key."""
    _, tokens = _features(*key)
    return _shingles([tokens])[0]


def features_of_key(key: tuple[str, str]) -> Features:
    """The memoized features of a (title, text) key (computed or remembered before)."""
    return _FEATURE_MEMO[key]


def feature_key_digest(key: tuple[str, str]) -> str:
    """A short name for a (title, text) key: what the persistent cache files features under."""
    return text_digest(*key)


def pack_features(features: Features) -> tuple[np.ndarray, ...]:
    """Features as one-dimensional arrays, for the persistent cache."""
    ids, numbers, counts, shingles = features
    return ids, numbers, counts.ravel(), shingles


def unpack_features(arrays: Sequence[np.ndarray]) -> Features | None:
    """``pack_features`` undone; None when the arrays do not fit together (a damaged entry)."""
    if len(arrays) != 4:
        return None
    ids, numbers, counts, shingles = arrays
    if len(numbers) != len(ids) or len(counts) != 3 * len(ids):
        return None
    return (
        ids.astype(np.uint64, copy=False),
        numbers.astype(bool, copy=False),
        counts.astype(np.uint16, copy=False).reshape(3, len(ids)),
        shingles.astype(np.uint64, copy=False),
    )


def remember_features(keys: Sequence[tuple[str, str]], features: Sequence[Features]) -> None:
    """Store features computed elsewhere (a worker) as if computed here."""
    _FEATURE_MEMO.update(zip(keys, features, strict=True))


def features_of(articles: Sequence[Article], *, corpus: bool = True) -> list[Features]:
    """Each article's features, from the memo or computed; ``corpus``: these are all articles.

    A corpus call also lets go of the memo's entries for articles no longer in it.
    """
    keys = [(a.title, a.text) for a in articles]
    missing = missing_features(articles)
    if missing:
        remember_features(missing, compute_features(missing))
    result = [_FEATURE_MEMO[k] for k in keys]
    if corpus and len(_FEATURE_MEMO) > 2 * len(keys) + 1000:  # keep it to about one corpus
        current = set(keys)
        for key in [k for k in _FEATURE_MEMO if k not in current]:
            del _FEATURE_MEMO[key]
    return result


# A paragraph break ends a sentence; a non-word, non-space mark keeps it through ``normalize``.
_BREAK = " \u00b6 "
# A capitalised word preceded by a space and a character that does not end a sentence (or open
# a quote): a name, a place, an organisation, rather than a sentence's first word.
_INNER_CAPITAL = re.compile(r"(?<=[^\s.!?:;\u00b6\"'(\[]\s)[A-Z]\w*(?:'(?!s\b)\w+)*")

Counts = tuple[Counter[str], Counter[str], Counter[str]]  # body tf, inner capitals, title tf


def _features(title_text: str, body_text: str) -> tuple[Counts, list[str]]:
    """Term counts for TF-IDF and the word sequence for shingles, from one normalisation."""
    text = normalize(_BREAK.join(body_text.splitlines()))
    tokens = words(text.lower())
    body = _fold_possessives(Counter(tokens))
    capitals = Counter(m.lower() for m in _INNER_CAPITAL.findall(text))
    title = _fold_possessives(Counter(words(normalize(title_text).lower())))
    return (body, capitals, title), tokens


def _fold_possessives(counts: Counter[str]) -> Counter[str]:
    """ "Putin's" counts as "putin": one name, whatever its case ending."""
    for token in [t for t in counts if t.endswith("'s")]:
        counts[token[:-2]] += counts.pop(token)
    return counts


def _keep(term: str) -> bool:
    return len(term) > 1 and term not in _STOPWORDS


@dataclass(frozen=True)
class TermRows:
    """Every article's terms before idf: what its TF-IDF vector is made from.

    The rows' terms are columns (ascending within a row) of ``vocab``; ``base`` is each term's
    sublinear tf times its name/number boost, so a vector is ``base * idf[column]``, normalised.
    A one-shot build keeps them between processes (``termtable``) and assembles a corpus's
    rows from there instead of from every article's features.
    """

    vocab: np.ndarray  # the columns' stable term ids (uint64), sorted
    indptr: np.ndarray  # int64, one more than there are rows
    indices: np.ndarray  # per entry: its column
    base: np.ndarray  # per entry: sublinear tf times boost


def _tfidf(
    features: list[Features], *, consume: bool = False, keeper: Keeper | None = None
) -> tuple[Rows, np.ndarray, np.ndarray]:
    """Normalised TF-IDF rows, the columns' term ids (sorted) and their idf (see ``_term_rows``
    for ``consume``); ``keeper`` is handed the term rows before they are weighed."""
    terms = _term_rows(features, consume=consume)
    if keeper is not None:
        keeper.terms(terms)
    vectors, idf = weigh(terms, in_place=consume)
    return vectors, terms.vocab, idf


def _term_rows(features: list[Features], *, consume: bool = False) -> TermRows:
    """The articles' term rows, built straight into CSR arrays, TFIDF_CHUNK articles at a time.

    At 100,000 articles the whole-corpus temporaries (term rows, counts as floats, weights) were
    the build's peak. ``consume``: empty ``features`` chunk by chunk as they are used, so they
    are gone before the matrix is weighed (a one-shot build has no other use for them).
    """
    n = len(features)
    lengths = np.fromiter((len(f[0]) for f in features), dtype=np.int64, count=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    chunks = [(r, min(r + TFIDF_CHUNK, n)) for r in range(0, n, TFIDF_CHUNK)]

    def chunk_ids(first: int, last: int) -> np.ndarray:
        return np.concatenate([f[0] for f in features[first:last]])

    # Columns in the order of the terms' stable ids: the matrix, and so every float sum, is the
    # same for any input order and any history of the process. (Found chunk by chunk: sorting
    # every term occurrence at once was a peak of its own at 100,000 articles.)
    parts = [np.unique(chunk_ids(first, last)) for first, last in chunks]
    vocab = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
    del parts
    total = int(indptr[-1])
    indices = np.empty(total, dtype=index_type(len(vocab), total))
    base = np.empty(total, dtype=float)
    for first, last in chunks:
        a, b = indptr[first], indptr[last]
        col = np.searchsorted(vocab, chunk_ids(first, last))
        counts = np.concatenate([f[2] for f in features[first:last]], axis=1)
        numbers = np.concatenate([f[1] for f in features[first:last]])
        values = base_weights(counts, numbers)
        # Each row's terms in column order (the order set iteration left them in is arbitrary).
        order = np.lexsort((col, np.repeat(np.arange(last - first), lengths[first:last])))
        indices[a:b], base[a:b] = col[order], values[order]
        if consume:
            features[first:last] = [None] * (last - first)  # type: ignore[list-item]
    return TermRows(vocab, indptr, indices, base)


def index_type(columns: int, entries: int) -> type:
    return np.int32 if columns < 2**31 and entries < 2**31 else np.int64


def row_terms(features: Features) -> tuple[np.ndarray, np.ndarray]:
    """One article's term ids, ascending, and their ``TermRows.base`` weights."""
    ids, numbers, counts, _ = features
    order = np.argsort(ids)
    return ids[order], base_weights(counts, numbers)[order]


def base_weights(counts: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Per term (columns of ``counts``, see ``Features``): sublinear tf times its boost."""
    log_tf, boost = term_weights(counts, numbers)
    return log_tf * boost


WEIGH_CHUNK = 1 << 20  # entries weighed at a time (bounds the gathered idf array)


def weigh(terms: TermRows, *, in_place: bool = False) -> tuple[Rows, np.ndarray]:
    """The normalised TF-IDF rows of ``terms`` (smoothed corpus idf), and the idf per column.

    ``in_place``: the vectors' values overwrite ``terms.base`` (a one-shot build's last use).
    """
    n = len(terms.indptr) - 1
    df = np.bincount(terms.indices, minlength=len(terms.vocab)).astype(float)
    idf = inverse_frequency(df, n)
    data = terms.base if in_place else np.empty_like(terms.base)
    for start in range(0, len(data), WEIGH_CHUNK):
        stop = start + WEIGH_CHUNK
        np.multiply(terms.base[start:stop], idf[terms.indices[start:stop]], out=data[start:stop])
    matrix = Rows(terms.indptr, terms.indices, data, (n, len(terms.vocab)))
    return _normalise_rows(matrix), idf


IDF_STEPS = 8  # steps per doubling of a count, in the idf's rounded counts
# The smallest whole number of each step: x is in step k when 2^(k/8) <= x < 2^((k+1)/8). In
# whole numbers, so every machine finds the same step (a logarithm may differ in its last bit).
_STEP_STARTS = np.ceil(2.0 ** (np.arange(64 * IDF_STEPS) / IDF_STEPS))


def inverse_frequency(df: np.ndarray, n: int) -> np.ndarray:
    """Smoothed idf, ``1 + log((n + 1) / (df + 1))`` of terms found in ``df`` of ``n`` articles,
    with both counts rounded down to an eighth of a doubling (9%).

    Rounded, one article more or less moves a term's weight only when its count crosses a step:
    an edit leaves almost every other vector as it was, bit for bit, and a rebuild reuses what
    was computed from them (``eventstate``). The rounding moves no weight by more than 0.09;
    ECB+ scores the same as with exact counts (docs/benchmarks.md).
    """
    steps = np.searchsorted(_STEP_STARTS, np.asarray(df, dtype=float) + 1, side="right") - 1
    (total,) = np.searchsorted(_STEP_STARTS, [n + 1], side="right") - 1
    return (total - steps) * (math.log(2.0) / IDF_STEPS) + 1.0


def term_weights(counts: np.ndarray, number: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per term: sublinear tf (title words counted up) and the boost of names and numbers.

    ``counts`` are the rows of ``Features`` (body, inner capitals, title); a term's weight in
    its article's vector is ``log_tf * idf * boost``.
    """
    seen, caps, in_title = counts.astype(float)
    tf = seen + TITLE_TF * in_title
    name_share = np.divide(caps, seen, out=np.zeros_like(caps), where=seen > 0)
    boost = 1.0 + (NAME_BOOST - 1.0) * np.minimum(name_share, 1.0)
    boost = np.where(number, np.maximum(boost, NUMBER_BOOST), boost)
    return 1.0 + np.log(tf), boost


NORMALISE_ROWS = 8192  # rows scaled at a time (bounds the per-entry scale array)


def _normalise_rows(matrix: Rows) -> Rows:
    """``matrix`` with every row scaled to unit length, in place (and returned).

    In place, NORMALISE_ROWS rows at a time: at 100,000 articles each copy of the matrix is
    ~170 MB. Each row's squares are summed in column order (``reduceat``), whatever made it.
    """
    indptr, data = matrix.indptr, matrix.data
    for first in range(0, matrix.shape[0], NORMALISE_ROWS):
        last = min(first + NORMALISE_ROWS, matrix.shape[0])
        lengths = np.diff(indptr[first : last + 1])
        a, b = indptr[first], indptr[last]
        norms = np.zeros(last - first)
        filled = lengths > 0
        if filled.any():
            squares = data[a:b] * data[a:b]
            norms[filled] = np.sqrt(np.add.reduceat(squares, (indptr[first:last] - a)[filled]))
        norms[norms == 0] = 1.0
        data[a:b] *= np.repeat(1.0 / norms, lengths)
    return matrix


# -- wire copies -----------------------------------------------------------------------------


_HASH_CACHE: dict[str, int] = {}  # token -> 64-bit hash (crc32 and adler32: stable across runs)


def _shingles(token_lists: list[list[str]]) -> list[np.ndarray]:
    """Per document, the sorted unique hashes of its SHINGLE-word runs (one numpy pass for all)."""
    if len(_HASH_CACHE) > 2_000_000:
        _HASH_CACHE.clear()
    for token in set().union(*token_lists).difference(_HASH_CACHE):
        data = token.encode("utf-8")
        _HASH_CACHE[token] = (zlib.crc32(data) << 32) | zlib.adler32(data)
    lengths = np.array([len(tokens) for tokens in token_lists], dtype=np.int64)
    total = int(lengths.sum())
    hashes = np.fromiter(
        map(_HASH_CACHE.__getitem__, chain.from_iterable(token_lists)), dtype=np.uint64, count=total
    )
    doc = np.repeat(np.arange(len(token_lists)), lengths)
    count = max(total - SHINGLE + 1, 0)
    combined = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(SHINGLE):
            combined = combined * np.uint64(0x100000001B3) + hashes[offset : offset + count]
    combined = _mix(combined)
    owner = doc[:count]
    whole = owner == doc[SHINGLE - 1 : SHINGLE - 1 + count]  # runs inside one document only
    combined, owner = combined[whole], owner[whole]
    order = np.lexsort((combined, owner))
    combined, owner = combined[order], owner[order]
    fresh = np.ones(len(combined), dtype=bool)
    fresh[1:] = (combined[1:] != combined[:-1]) | (owner[1:] != owner[:-1])
    combined, owner = combined[fresh], owner[fresh]
    bounds = np.searchsorted(owner, np.arange(len(token_lists) + 1))
    return [combined[bounds[k] : bounds[k + 1]] for k in range(len(token_lists))]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the low bits used for sampling."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


# (features key, features key) -> copies or not: verifying a pair costs a set intersection, and
# a rebuild after one edit asks again about the same thousands of pairs.
_COPY_MEMO: dict[tuple[tuple[str, str], tuple[str, str]], bool] = {}


def _copy_pairs(
    shingles: list[np.ndarray],
    times: np.ndarray,
    window: float,
    doc_keys: Sequence[object],
    keeper: Keeper | None = None,
) -> list[tuple[int, int]]:
    """Pairs (i, j) whose texts are copies of one another (containment on 5-word shingles).

    ``doc_keys`` name each text for the memo of verdicts; ``keeper`` is handed the shingle
    samples and every verdict.
    """
    samples: list[np.ndarray] | None = [shingle_sample(s) for s in shingles]
    assert samples is not None
    counts = copycounts.full(samples, times)
    candidates = copycounts.candidates(counts, times, window)
    if keeper is None:
        samples = None  # ~50 MB at 100,000 articles, while every article's features are held
    if len(_COPY_MEMO) > 1_000_000:
        _COPY_MEMO.clear()
    verdicts: dict[tuple[object, object], bool] = {}
    result = []
    for i, j in candidates:
        pair = (doc_keys[i], doc_keys[j])
        copy = _COPY_MEMO.get(pair)
        if copy is None:
            copy = _COPY_MEMO[pair] = is_copy(shingles[i], shingles[j])
        verdicts[pair] = copy
        if copy:
            result.append((i, j))
    if keeper is not None and samples is not None:
        keeper.copies(samples, verdicts, counts)
    return result


_NO_SAMPLE = np.zeros(0, dtype=np.uint64)


def shingle_sample(shingles: np.ndarray) -> np.ndarray:
    """The fixed 1-in-SAMPLE_MOD sample of a text's shingle hashes the copy index holds (none
    for a text too short to call a copy)."""
    if len(shingles) < MIN_SHINGLES:
        return _NO_SAMPLE
    return shingles[shingles % np.uint64(SAMPLE_MOD) == 0]


def copy_candidates(
    samples: Sequence[np.ndarray], times: np.ndarray, window: float
) -> list[tuple[int, int]]:
    """Pairs (i < j) within the window that share MIN_SHARED_SAMPLES sampled shingles: what
    ``is_copy`` then verifies (``copycounts``: the counts an edit updates)."""
    return copycounts.candidates(copycounts.full(samples, times), times, window)


def is_copy(a: np.ndarray, b: np.ndarray) -> bool:
    if len(a) > len(b):
        a, b = b, a
    shared = np.count_nonzero(_matches(a, b)[0])
    return shared >= CONTAINMENT * len(a)


def _sparse_sum(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The sum of two sparse vectors given as (sorted unique term ids, values).

    A term is in one or both, so each sum is of at most two values (exact in either order);
    a stable sort of both and one pass is ~40% faster than ``np.unique`` with a bincount.
    """
    terms = np.concatenate([a[0], b[0]])
    values = np.concatenate([a[1], b[1]])
    order = np.argsort(terms, kind="stable")
    terms, values = terms[order], values[order]
    twice = np.flatnonzero(terms[1:] == terms[:-1])
    if len(twice):
        values[twice] += values[twice + 1]
        keep = np.ones(len(terms), dtype=bool)
        keep[twice + 1] = False
        terms, values = terms[keep], values[keep]
    return terms, values


def _matches(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted unique ``a`` and ``b``: which of ``a`` are in ``b``, and where in ``b`` they'd be.

    A binary search of the shorter in the longer: several times faster than ``intersect1d``,
    which sorts both again (this runs for every candidate pair and merge).
    """
    where = np.searchsorted(b, a)
    where[where == len(b)] = 0
    return (b[where] == a) if len(b) else np.zeros(len(a), dtype=bool), where


# -- same-event candidates -------------------------------------------------------------------


@dataclass(frozen=True)
class EventCandidates:
    """The same-event step's work per article: what a next clustering reuses for the articles
    whose vectors, top terms and dates did not change (``eventstate``)."""

    idf: np.ndarray  # per column of the vectors
    top_ptr: np.ndarray  # int64, per row: where its top columns start in ``top_cols``
    top_cols: np.ndarray  # each row's TOP_TERMS strongest columns (before the posting cap), sorted
    cand_ptr: np.ndarray  # int64, per row: where its partners start in ``cand_rows``
    cand_rows: np.ndarray  # each row's candidate partners (rows), ascending
    pairs: np.ndarray  # (k, 2) int64 rows i < j, sorted: every row's candidates
    sims: np.ndarray  # the cosine of each pair


def event_candidates(
    vectors: Rows, idf: np.ndarray, times: np.ndarray, window: float
) -> EventCandidates:
    """Every article's top terms, its candidate partners, and the cosine of every pair."""
    n = vectors.shape[0]
    top_ptr, top_cols = raw_tops(vectors, np.arange(n))
    top = indexed_tops(top_ptr, top_cols, vectors.shape)
    cand_ptr, cand_rows = lists_of(*_time_sweep(top, times, window), n)
    pairs = pairs_of(cand_ptr, cand_rows)
    return EventCandidates(
        idf, top_ptr, top_cols, cand_ptr, cand_rows, pairs, pair_cosines(vectors, pairs)
    )


def strongest_first(pairs: np.ndarray, sims: np.ndarray, threshold: float) -> np.ndarray:
    """The pairs with cosine >= threshold, strongest first (ties by index): the merge's edges.

    An array, not Python tuples: at 100,000 articles there are about 750,000 of them.
    """
    keep = sims >= threshold
    pairs, sims = pairs[keep], sims[keep]
    order = np.lexsort((pairs[:, 1], pairs[:, 0], -np.round(sims, 12)))
    return pairs[order]


def raw_tops(vectors: Rows, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``rows``: its TOP_TERMS strongest columns (ties by column, so the same for
    any input order), sorted; as pointers and columns end to end."""
    indptr, indices, values = vectors.indptr, vectors.indices, vectors.data
    chosen: list[np.ndarray] = []
    for row in rows.tolist():
        start, end = indptr[row], indptr[row + 1]
        order = np.lexsort((indices[start:end], -values[start:end]))[:TOP_TERMS]
        chosen.append(np.sort(indices[start:end][order]))
    return _pointers(chosen), _joined(chosen)


def posting_cap(n: int) -> float:
    """A term in the top terms of more rows than this is a topic, not an event."""
    return max(POSTING_CAP_MIN, POSTING_CAP_FRACTION * n)


def indexed_tops(top_ptr: np.ndarray, top_cols: np.ndarray, shape: tuple[int, int]) -> Rows:
    """Each row's top columns that the index holds: over-common columns left out (values 1)."""
    n, v = shape
    keep = (np.bincount(top_cols, minlength=v) <= posting_cap(n))[top_cols]
    counts = np.bincount(np.repeat(np.arange(n), np.diff(top_ptr))[keep], minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    cols = top_cols[keep]
    return Rows(indptr, cols, np.ones(len(cols)), shape)


def _time_sweep(top: Rows, times: np.ndarray, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Every row's best partners (see ``_best_partners``), comparing blocks of rows with the
    rows of their time span only (sparse products): linear in the number of articles."""
    matrix = top.as_csr()
    dated = np.flatnonzero(~np.isnan(times))
    undated = np.flatnonzero(np.isnan(times))
    dated = dated[np.argsort(times[dated], kind="stable")]
    sorted_times = times[dated]
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for start in range(0, len(dated), BLOCK):
        rows = dated[start : start + BLOCK]
        lo = np.searchsorted(sorted_times, sorted_times[start] - window, side="left")
        hi = np.searchsorted(
            sorted_times, sorted_times[min(start + BLOCK, len(dated)) - 1] + window, side="right"
        )
        found.append(_product_partners(matrix, rows, dated[lo:hi], times, window))
    everything = np.arange(top.shape[0])
    for start in range(0, len(undated), BLOCK):
        rows = undated[start : start + BLOCK]
        found.append(_product_partners(matrix, rows, everything, times, window))
    return _joined([i for i, _ in found]), _joined([j for _, j in found])


def _product_partners(
    matrix: sparse.csr_matrix, rows: np.ndarray, cols: np.ndarray, times: np.ndarray, window: float
) -> tuple[np.ndarray, np.ndarray]:
    product = (matrix[rows] @ matrix[cols].T).tocoo()
    i, j = rows[product.row], cols[product.col]
    return _best_partners(i, j, product.data, times, window)


def partners_of_rows(
    top: Rows, rows: np.ndarray, times: np.ndarray, window: float
) -> tuple[np.ndarray, np.ndarray]:
    """The best partners of ``rows`` alone: what ``_time_sweep`` finds for them (dated rows
    among dated rows, undated ones among all), counted on an inverted index, without scipy."""
    i, j, shared = shared_counts(top, rows)
    dated = ~np.isnan(times)
    keep = ~dated[i] | dated[j]
    return _best_partners(i[keep], j[keep], shared[keep], times, window)


def shared_counts(top: Rows, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, k) for each of ``rows`` (i) and every row j sharing k >= 1 of its columns."""
    n, _ = top.shape
    if len(rows) == 0 or len(top.indices) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    posting_ptr, posting_rows = top.postings
    lengths = np.diff(top.indptr)[rows]
    terms = top.indices[ranges(top.indptr[rows], lengths)]
    sizes = posting_ptr[terms + 1] - posting_ptr[terms]
    i = np.repeat(np.repeat(rows.astype(np.int64), lengths), sizes)
    j = posting_rows[ranges(posting_ptr[terms], sizes)]
    wide = pair_code_type(n)
    codes, shared = np.unique(i.astype(wide) * wide(n) + j.astype(wide), return_counts=True)
    codes = codes.astype(np.int64)
    return codes // n, codes % n, shared


def lists_of(i: np.ndarray, j: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Partners ``j`` of rows ``i`` as per-row lists (pointers, partners ascending)."""
    by_j = stable_order(j, n)  # then by i, stably: ``np.lexsort((j, i))`` in two radix passes
    order = by_j[stable_order(i[by_j], n)]
    return np.searchsorted(i[order], np.arange(n + 1)).astype(np.int64), j[order]


def pairs_of(cand_ptr: np.ndarray, cand_rows: np.ndarray) -> np.ndarray:
    """Every (i < j) found in the per-row lists, once, sorted."""
    n = len(cand_ptr) - 1
    wide = pair_code_type(n)
    i = np.repeat(np.arange(n, dtype=wide), np.diff(cand_ptr))
    j = cand_rows.astype(wide)
    codes = sorted_unique(np.minimum(i, j) * wide(n) + np.maximum(i, j)).astype(np.int64)
    return np.stack([codes // n, codes % n], axis=1) if n else np.zeros((0, 2), dtype=np.int64)


def _best_partners(
    i: np.ndarray, j: np.ndarray, shared: np.ndarray, times: np.ndarray, window: float
) -> tuple[np.ndarray, np.ndarray]:
    """From rows i, the rows j they share ``shared`` indexed top terms with: pairs sharing
    >= MIN_SHARED_TOP, dated pairs within the window, at most CANDIDATES per row i."""
    strong = shared >= MIN_SHARED_TOP
    i, j, shared = i[strong], j[strong], shared[strong]
    ti, tj = times[i], times[j]
    near = np.isnan(ti) | np.isnan(tj) | (np.abs(ti - tj) <= window)
    keep = near & (i != j)
    i, j, shared = i[keep], j[keep], shared[keep]
    # Each article keeps its CANDIDATES best-overlapping partners (ties by index): the cost per
    # article stays bounded however many articles a busy window holds.
    order = np.lexsort((j, -shared, i))
    i, j = i[order], j[order]
    starts = np.searchsorted(i, i, side="left")
    best = np.arange(len(i)) - starts < CANDIDATES
    return i[best].astype(np.int64), j[best].astype(np.int64)


def _pointers(parts: Sequence[np.ndarray]) -> np.ndarray:
    pointers = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=pointers[1:])
    return pointers


def _joined(parts: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


ROWS_SPREAD = 32  # first rows of pairs spread out at a time (a buffer of this many dense rows),
SPREAD_CELLS = 1 << 21  # fewer when the vocabulary is large: the buffer stays under 16 MB


def pair_cosines(vectors: Rows, pairs: np.ndarray) -> np.ndarray:
    """The dot product of the two rows of each pair (cosines, for normalised rows).

    The pairs' first rows are spread out ROWS_SPREAD at a time into dense rows, and each second
    row's entries read their partner's values there. A pair's sum runs over the second row's
    terms in column order: the same sum whichever pairs it is computed with.
    """
    out = np.empty(len(pairs))
    if len(pairs) == 0:
        return out
    indptr, indices, data = vectors.indptr, vectors.indices, vectors.data
    lengths = np.diff(indptr)
    order = np.argsort(pairs[:, 0], kind="stable")
    firsts, starts = np.unique(pairs[order, 0], return_index=True)
    starts = np.append(starts, len(order))
    spread_rows = max(1, min(ROWS_SPREAD, SPREAD_CELLS // max(vectors.shape[1], 1)))
    dense = np.zeros((min(spread_rows, len(firsts)), vectors.shape[1]))
    for k in range(0, len(firsts), spread_rows):
        rows = firsts[k : k + spread_rows]
        spread = ranges(indptr[rows], lengths[rows])
        slot = np.repeat(np.arange(len(rows)), lengths[rows])
        dense[slot, indices[spread]] = data[spread]
        chosen = order[starts[k] : starts[min(k + spread_rows, len(firsts))]]
        second = pairs[chosen, 1]
        entries = ranges(indptr[second], lengths[second])
        which = np.repeat(np.arange(len(chosen)), lengths[second])
        slot_of_pair = np.searchsorted(rows, pairs[chosen, 0])
        products = dense[slot_of_pair[which], indices[entries]] * data[entries]
        out[chosen] = np.bincount(which, products, minlength=len(chosen))
        dense[slot, indices[spread]] = 0.0
    return out


# -- merging ---------------------------------------------------------------------------------


class _Merger:
    """Union-find whose clusters carry a vector sum, a size and a date span."""

    def __init__(
        self,
        vectors: Rows,  # columns ascending in each row: ``_matches`` needs sorted terms
        times: np.ndarray,
        window: float,
        track_vectors: bool = True,
    ) -> None:
        n = vectors.shape[0]
        # Copy groups only need the union and the date span (their vectors are summed later in
        # one sparse product); merging sparse sums per union would cost more than the rest.
        self.track_vectors = track_vectors
        self.parent = list(range(n))
        self.size = [1] * n
        self.window = window
        self.first = [t if not math.isnan(t) else math.inf for t in times.tolist()]
        self.last = [t if not math.isnan(t) else -math.inf for t in times.tolist()]
        self.version = [0] * n  # bumped when a cluster grows: stale "no" answers are retried
        self.refused: set[tuple[int, int, int, int]] = set()
        self.norm2 = [1.0] * n  # |sum of member vectors|^2, for the cluster's cohesion
        # Sparse vector sums as (sorted term ids, values): numpy does the dot products and merges.
        self.sums: list[tuple[np.ndarray, np.ndarray]] = [
            (
                vectors.indices[vectors.indptr[row] : vectors.indptr[row + 1]],
                vectors.data[vectors.indptr[row] : vectors.indptr[row + 1]],
            )
            for row in range(n if track_vectors else 0)
        ]

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def _span_ok(self, a: int, b: int) -> bool:
        first = min(self.first[a], self.first[b])
        last = max(self.last[a], self.last[b])
        return last - first <= self.window or first == math.inf

    def average_similarity(self, a: int, b: int) -> float:
        (ia, va), (ib, vb) = self.sums[a], self.sums[b]
        if len(ia) > len(ib):
            (ia, va), (ib, vb) = (ib, vb), (ia, va)
        # Shared terms in ascending order either way: the same sum, to the last bit.
        hit, where = _matches(ia, ib)
        return float(va[hit] @ vb[where[hit]]) / (self.size[a] * self.size[b])

    def cohesion(self, a: int) -> float:
        """Average cosine between two distinct members (1.0 for a single article)."""
        size = self.size[a]
        return 1.0 if size == 1 else (self.norm2[a] - size) / (size * (size - 1))

    def union(self, i: int, j: int, dot: float | None = None) -> bool:
        a, b = self.find(i), self.find(j)
        if a == b or not self._span_ok(a, b):
            return False
        if self.track_vectors:
            if dot is None:
                dot = self.average_similarity(a, b) * self.size[a] * self.size[b]
            self.norm2[a] = self.norm2[b] = self.norm2[a] + self.norm2[b] + 2.0 * dot
        self.version[a] += 1
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]
        self.first[a] = min(self.first[a], self.first[b])
        self.last[a] = max(self.last[a], self.last[b])
        if not self.track_vectors:
            return True
        self.sums[a] = _sparse_sum(self.sums[a], self.sums[b])
        self.sums[b] = (self.sums[b][0][:0], self.sums[b][1][:0])
        return True

    def try_merge(self, i: int, j: int, threshold: float) -> bool:
        a, b = self.find(i), self.find(j)
        if a == b:
            return False  # most edges: two reports already in one cluster
        if a > b:
            a, b = b, a
        key = (a, self.version[a], b, self.version[b])
        if key in self.refused:
            return False  # many edges join the same two clusters: decide once per state
        similarity = self.average_similarity(a, b)
        ok = similarity >= threshold
        if ok and min(self.size[a], self.size[b]) > 1:
            ok = similarity >= RELATIVE_LINK * math.sqrt(self.cohesion(a) * self.cohesion(b))
        if not ok or not self.union(a, b, similarity * self.size[a] * self.size[b]):
            self.refused.add(key)
            return False
        return True

    def groups(self) -> list[list[int]]:
        by_root: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            by_root.setdefault(self.find(i), []).append(i)
        return list(by_root.values())
