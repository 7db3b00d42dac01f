"""A one-shot build's clustering after an edit: from the state the last build saved.

The last build left its term table (``termtable``), its same-event candidates and its merge
(``eventstate``) in ``.digest-cache/terms/``. Clustering again starts from them: features only
for the texts the table lacks, partners found again only near what changed, components merged
again only where an edit reached. That step is here, apart from the build, so that it can run in
the warm worker (``warmworker``): the worker imports numpy and loads the saved state while the
main process reads the articles, then clusters while the main process gets the output ready
(the page record, the templates). Both processes run the same function on the same input: the
groups are the same wherever it runs.

numpy and the clustering are imported inside the functions that use them: the main process
makes a ``Job`` without them, and an edit the worker clusters never imports them there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.config import ClusterConfig
from digest.filestore import TextLog

if TYPE_CHECKING:
    import numpy as np

    from digest import cluster, copycounts, eventstate, termtable
    from digest.warmworker import Then

log = logging.getLogger("digest")

Key = tuple[str, str]  # an article's (title, text): what its clustering features are made from


@dataclass(frozen=True)
class Place:
    """Where the saved state is, and what it must have been written for."""

    table: Path  # .digest-cache/terms/table.npz; the other files are beside it
    scope: str  # the code's fingerprint: the table's arrays are this code's
    events_scope: str  # the code and the time window: the candidates depend on both

    @property
    def events(self) -> Path:
        return self.table.with_name("events.npz")

    @property
    def merge(self) -> Path:
        from digest import termtable

        return termtable.merge_path(self.events)


@dataclass(frozen=True)
class Saved:
    """The state one build saved for the next, as loaded."""

    place: Place
    table: termtable.TermTable
    last: eventstate.LastEvents | None
    memo: cluster.MergeMemo | None


def load(place: Place) -> Saved | None:
    """The saved state; None without a term table (for other code, damaged, or none yet)."""
    from digest import eventstate, termtable

    table = termtable.load(place.table, place.scope)
    if table is None:
        return None
    last = eventstate.load(place.events, place.events_scope)
    memo = None
    if last is not None:
        memo = eventstate.load_merge(place.merge, place.events_scope, last.digests)
    return Saved(place, table, last, memo)


def cluster_rows(
    saved: Saved,
    digests: Sequence[str],
    keys: Sequence[Key],
    times: np.ndarray,
    config: ClusterConfig,
    compute_features: Callable[[list[Key]], list[Any]],
) -> tuple[list[list[int]], Callable[[], None]]:
    """Groups of rows (indices into ``digests``) of the articles without a pin, given by their
    text digests, (title, text) and day numbers, and what saves the next build's state (the
    caller runs it: in the worker, after sending the groups back).

    ``compute_features`` makes the features of the texts the table lacks.
    """
    from digest import cluster, eventstate, termtable

    table, place = saved.table, saved.place
    missing = {d: i for i, d in enumerate(digests) if d not in table.row_of}
    computed = compute_features([keys[i] for i in missing.values()])
    features = dict(zip(missing, computed, strict=True))
    fresh = {d: termtable.fresh_row(f) for d, f in features.items()}
    terms, samples = termtable.assemble(table, digests, fresh)
    del fresh

    def shingles_of(row: int) -> np.ndarray:
        known = features.get(digests[row])
        if known is not None:
            return known[3]
        # A text the table holds: its full shingle set is not kept there (it would be most
        # of the table), and a new pair with it is rare enough to hash its text again.
        return cluster.compute_shingles(keys[row])

    judge = termtable.CopyJudge(digests, table.verdicts, shingles_of)
    finder = eventstate.Finder(
        saved.last, digests, times, terms.vocab, config.window_days, saved.memo
    )
    counter = _CopyCounter(saved, digests)
    rows, events, memo = cluster.cluster_terms(
        terms, samples, times, judge, config, finder, finder.reuse, counter
    )
    log.info(
        "clustering: %d of %d articles from the term table, copy index %s, %d copy checks "
        "anew, partners found anew for %s",
        len(digests) - len(missing),
        len(digests),
        "updated" if counter.updated else "counted anew",
        judge.checked,
        "all" if finder.compared < 0 else finder.compared,
    )

    def save() -> None:
        next_table = termtable.table_of(digests, terms, samples, judge.used, counter.counts)
        termtable.save(place.table, place.scope, next_table)
        last = eventstate.LastEvents(digests, times, terms.vocab, events)
        eventstate.save(place.events, place.events_scope, last)
        eventstate.save_merge(place.merge, place.events_scope, digests, memo)

    return rows, save


class _CopyCounter:
    """``cluster_terms``' ``count_copies``: the counts the last build kept, updated where the
    articles changed (``copycounts.update``), else counted in full."""

    def __init__(self, saved: Saved, digests: Sequence[str]) -> None:
        self.saved = saved
        self.digests = digests
        self.counts: copycounts.Counts | None = None  # this build's, once counted
        self.updated = False

    def __call__(self, samples: Sequence[np.ndarray], times: np.ndarray) -> copycounts.Counts:
        from digest import copycounts

        counts = self._updated(samples, times)
        self.updated = counts is not None
        self.counts = counts if counts is not None else copycounts.full(samples, times)
        return self.counts

    def _updated(
        self, samples: Sequence[np.ndarray], times: np.ndarray
    ) -> copycounts.Counts | None:
        from digest import copycounts, eventstate

        table = self.saved.table
        if table.copies is None:
            return None
        old_of = eventstate.old_rows(table.digests, self.digests)
        if old_of is None:
            return None
        old_samples = (table.sample_ptr, table.samples)
        return copycounts.update(table.copies, old_samples, samples, times, old_of)


# -- in the warm worker --------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """What ``cluster_rows`` needs from the main process, sent to the worker.

    The texts are most of it (13 MB at 6,000 articles): only those the file store's log does
    not hold as they are are sent; the others are read from the log when the clustering asks
    for them (a few, if any: the features of texts the table lacks, the shingles of a new pair
    of copies).
    """

    place: Place
    digests: list[str]
    times: list[float]
    config: ClusterConfig
    texts: dict[int, Key]  # by row: the texts sent
    spans: list[tuple[str, int, int] | None]  # by row: its title, and where its text is in the log
    log: tuple[Path, str] | None  # the file store's log of texts: its path and id


class TextMissing(LookupError):
    """A row's text is neither sent nor in the file store's log."""


class _JobTexts(Sequence[Key]):
    """A job's (title, text) by row: sent, or read from the file store's log when asked for."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._log: TextLog | None = None

    def __len__(self) -> int:
        return len(self.job.digests)

    def __getitem__(self, row: int) -> Key:  # type: ignore[override]
        text = self.job.texts.get(row)
        if text is not None:
            return text
        span = self.job.spans[row]
        if span is None or self.job.log is None:
            raise TextMissing(f"row {row}")
        if self._log is None:
            path, log_id = self.job.log
            self._log = TextLog.open(path, log_id, 0)
            if self._log is None:
                raise TextMissing(f"row {row}: no log {path}")
        title, at, length = span
        return title, self._log.read(at, length)


_preloaded: list[Saved | None] = []  # the worker's: what ``preload`` found, until a job takes it


def preload(place: Place) -> None:
    """In the worker, before the main process has the articles: import numpy and the
    clustering, and load the saved state."""
    import numpy  # noqa: F401  (the clustering's unique values never ask numpy.ma: arrayops)

    _preloaded[:] = [load(place)]


def run_job(job: Job) -> Then | None:
    """``cluster_rows`` in the worker, from the preloaded state: the groups are sent back before
    the state is saved (``Then``). None when it cannot (no saved state for ``job``, or a text
    it needs is missing): then the main process clusters. Nothing is saved before the groups
    are found, so a job given up leaves the state as it was. The main process waits for the
    saving when it stops the worker."""
    import numpy as np

    from digest import cluster
    from digest.warmworker import Then

    saved = _preloaded.pop() if _preloaded else None
    if saved is None or saved.place != job.place:
        return None
    times = np.array(job.times, dtype=float)
    keys = _JobTexts(job)
    try:
        rows, save = cluster_rows(
            saved, job.digests, keys, times, job.config, cluster.compute_features
        )
    except TextMissing as exc:
        log.info("clustering in this process: no text for %s in the cache", exc)
        return None
    return Then(rows, save)
