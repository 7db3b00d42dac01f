"""Quick, provisional stories between two exact clusterings: the live preview's edit.

Exact clustering (``cluster.py``) weighs every article against corpus-wide statistics (idf, the
candidate index), so it runs over the whole corpus: one to two seconds at 6,000 articles, too
slow for a preview that must show a save within a second. So after an edit ``digest serve``
places only the articles that differ from the last exact clustering (its ``Snapshot``) and keeps
every other story as it was:

- an article removed or changed leaves its old story;
- a new or changed article that is a copy of a known one (the exact step's shingle containment)
  joins that article's story;
- otherwise it joins the story it is closest to on average, when that average cosine reaches the
  threshold and the story's dates stay within the window: the exact merge's rule, measured with
  the snapshot's idf;
- otherwise it starts a story of its own.

The server then clusters exactly once it is idle (a "settle" build), so the preview ends up byte
for byte what ``digest build`` writes; the provisional stories differ from it only in the rare
case where an article's arrival would also have regrouped others.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from digest import cluster
from digest.config import ClusterConfig
from digest.model import Article


@dataclass(frozen=True)
class Update:
    groups: list[list[int]]  # indices into the articles, in ``cluster_articles``' order
    placed: int  # articles placed anew (new or changed since the snapshot)
    removed: int  # snapshot articles that are gone or changed

    @property
    def provisional(self) -> bool:
        """Whether an exact clustering could differ (anything changed since the snapshot)."""
        return bool(self.placed or self.removed)


@dataclass
class _Placed:
    """A placed article's vector (snapshot columns only) and date."""

    cols: np.ndarray
    values: np.ndarray
    time: float


def update(
    snapshot: cluster.Snapshot | None,
    articles: Sequence[Article],
    config: ClusterConfig,
    max_changes: int,
) -> Update | None:
    """Stories for ``articles`` from ``snapshot`` plus what changed; None to cluster exactly.

    None when there is no snapshot, the clustering settings changed, or more than ``max_changes``
    articles were added, changed or removed (then an exact clustering is the better use of time).
    """
    if snapshot is None or snapshot.config != config:
        return None
    pinned: dict[str, list[int]] = {}
    index_of_row: dict[int, int] = {}
    changed: list[int] = []
    for index, article in enumerate(articles):
        key = (article.story or "").strip()
        if key:
            pinned.setdefault(key, []).append(index)
            continue
        row = snapshot.rows.get(cluster.identity(article))
        if row is None:
            changed.append(index)
        else:
            index_of_row[row] = index
    removed = len(snapshot.rows) - len(index_of_row)
    if len(changed) > max_changes or removed > max_changes:
        return None

    groups = [[index_of_row[r] for r in group if r in index_of_row] for group in snapshot.groups]
    groups = [group for group in groups if group]
    placer = _Placer(snapshot, config, index_of_row, groups)
    for index in changed:
        placer.place(index, articles[index])
    return Update(cluster.in_order(list(pinned.values()) + placer.groups), len(changed), removed)


class _Placer:
    """Adds articles one at a time to the stories of a snapshot."""

    def __init__(
        self,
        snapshot: cluster.Snapshot,
        config: ClusterConfig,
        index_of_row: dict[int, int],
        groups: list[list[int]],
    ) -> None:
        self.snapshot = snapshot
        self.matrix = snapshot.vectors.as_csr()
        self.window = config.window_days
        self.threshold = cluster.threshold_of(config)
        self.row_of_index = {index: row for row, index in index_of_row.items()}
        self.groups = groups
        self.group_of = {index: g for g, group in enumerate(groups) for index in group}
        self.placed: dict[int, _Placed] = {}
        self.times = {index: float(snapshot.times[row]) for index, row in self.row_of_index.items()}

    def place(self, index: int, article: Article) -> None:
        (features,) = cluster.features_of([article], corpus=False)
        mine = self._vector(features, cluster.day_number(article))
        similarity = self._similarities(mine)
        target = self._copy_of(features[3], mine.time, similarity)
        if target is None:
            target = self._closest_story(mine.time, similarity)
        self.placed[index] = mine
        self.times[index] = mine.time
        if target is None:
            self.group_of[index] = len(self.groups)
            self.groups.append([index])
        else:
            self.group_of[index] = target
            self.groups[target].append(index)

    def _vector(self, features: cluster.Features, time: float) -> _Placed:
        """The article's TF-IDF vector with the snapshot's idf (an unknown term: df 0)."""
        ids, numbers, counts, _ = features
        vocab, idf = self.snapshot.vocab, self.snapshot.idf
        log_tf, boost = cluster.term_weights(counts, numbers)
        pos = np.minimum(np.searchsorted(vocab, ids), max(len(vocab) - 1, 0))
        known = vocab[pos] == ids if len(vocab) else np.zeros(len(ids), dtype=bool)
        unseen = cluster.inverse_frequency(np.zeros(1), len(self.snapshot.rows))[0]
        values = log_tf * np.where(known, idf[pos] if len(vocab) else 0.0, unseen) * boost
        norm = math.sqrt(float(values @ values)) or 1.0
        cols, values = pos[known], values[known] / norm
        order = np.argsort(cols)
        return _Placed(cols[order].astype(np.int64), values[order], time)

    def _similarities(self, mine: _Placed) -> dict[int, float]:
        """Cosine to every current article it shares a term with, by index."""
        column = sparse.csc_matrix(
            (mine.values, (mine.cols, np.zeros(len(mine.cols), dtype=np.int64))),
            shape=(self.snapshot.vectors.shape[1], 1),
        )
        by_row = np.asarray((self.matrix @ column).todense()).ravel()
        result = {
            index: float(by_row[row])
            for index, row in self.row_of_index.items()
            if by_row[row] > 0.0
        }
        for index, other in self.placed.items():
            _, a, b = np.intersect1d(mine.cols, other.cols, assume_unique=True, return_indices=True)
            result[index] = float(mine.values[a] @ other.values[b])
        return result

    def _copy_of(
        self, shingles: np.ndarray, time: float, similarity: dict[int, float]
    ) -> int | None:
        """The story of an article this one copies (or is copied by), if any; closest first."""
        if len(shingles) < cluster.MIN_SHINGLES:
            return None
        close = sorted(
            (i for i, s in similarity.items() if s >= self.threshold and i in self.row_of_index),
            key=lambda i: (-similarity[i], i),
        )
        for index in close:
            other = self.snapshot.shingles[self.row_of_index[index]]
            if len(other) < cluster.MIN_SHINGLES or not cluster.is_copy(shingles, other):
                continue
            group = self.group_of[index]
            if self._fits(group, time):
                return group
        return None

    def _closest_story(self, time: float, similarity: dict[int, float]) -> int | None:
        """The story with the highest average cosine to the article, when it is close enough."""
        best: tuple[float, int] | None = None
        for group in sorted(
            {self.group_of[i] for i, s in similarity.items() if s >= self.threshold}
        ):
            members = self.groups[group]
            average = sum(similarity.get(i, 0.0) for i in members) / len(members)
            good = average >= self.threshold and self._fits(group, time)
            if good and (best is None or average > best[0]):
                best = (average, group)
        return None if best is None else best[1]

    def _fits(self, group: int, time: float) -> bool:
        """Whether the story's dated articles stay within the window with this one added."""
        dated = [t for i in self.groups[group] if not math.isnan(t := self.times[i])]
        if not math.isnan(time):
            dated.append(time)
        return not dated or max(dated) - min(dated) <= self.window
