"""Stories as groups of article indices: the pins that make some of them, and their order.

Apart from ``cluster`` (numpy): a build after an edit hands the clustering to a worker process
(``tablecluster``) and needs only these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from digest.model import Article


def split_pins(articles: Sequence[Article]) -> tuple[list[list[int]], list[int]]:
    """The groups ``story`` pins make, and the indices of the articles without a pin."""
    pinned: dict[str, list[int]] = {}
    free: list[int] = []
    for index, article in enumerate(articles):
        key = (article.story or "").strip()
        if key:
            pinned.setdefault(key, []).append(index)
        else:
            free.append(index)
    return list(pinned.values()), free


def in_order(groups: list[list[int]]) -> list[list[int]]:
    """Indices ascending in each group, groups by their smallest index: the interface's order."""
    return sorted((sorted(group) for group in groups), key=lambda group: group[0])


def day_number(article: Article) -> float:
    """The article's time in days since the epoch (NaN when undated): what the time window of
    the clustering measures."""
    if article.published is None:
        return math.nan
    return article.published.timestamp() / 86400.0
