"""How often the live preview's quick placement equals an exact clustering, and how fast it is.

Makes the 6,000-article stream of ``bench/serve_latency.py``, clusters it exactly (the snapshot),
then applies random saves one at a time (a line appended to an article, a new re-report of an
article, an article deleted) and compares ``quickcluster.update`` against ``cluster_articles`` on
the changed corpus.

    python bench/quickcluster_agreement.py [--articles 6000] [--trials 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from serve_latency import data_dir, generate, load_texts

from digest import clean, ingest, quickcluster
from digest.cluster import cluster_articles, cluster_with_snapshot
from digest.config import ClusterConfig
from digest.model import Article


def read_stream(count: int) -> list[Article]:
    with tempfile.TemporaryDirectory(prefix="digest-quick-bench-") as tmp:
        content = Path(tmp) / "content"
        generate(content, load_texts(data_dir()), count)
        articles = []
        for _, path in ingest.discover_relative(content):
            result = ingest.read_article(Path(path), content, ZoneInfo("UTC"))
            if result.article is not None:
                articles.append(clean.clean_article(result.article))
    return clean.remove_recurring_lines(articles)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=6000)
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    articles = read_stream(args.articles)
    config = ClusterConfig()
    mark = time.perf_counter()
    _, snapshot = cluster_with_snapshot(articles, config)
    exact_seconds = time.perf_counter() - mark
    rng = random.Random(1)
    agree, quick_ms = 0, []
    for trial in range(args.trials):
        changed = list(articles)
        k = rng.randrange(len(articles))
        old = changed[k]
        if trial % 3 == 0:
            changed[k] = replace(old, text=old.text + "\nAn editor's note on the matter.")
        elif trial % 3 == 1:
            body = old.text.split("\n", 1)[-1]
            changed.append(replace(old, id=old.id + "-re", path=old.path + "-re.md", text=body))
        else:
            del changed[k]
        mark = time.perf_counter()
        result = quickcluster.update(snapshot, changed, config, 50)
        quick_ms.append((time.perf_counter() - mark) * 1000)
        agree += result is not None and result.groups == cluster_articles(changed, config)
    print(f"{len(articles)} articles; exact clustering {exact_seconds:.2f}s")
    print(
        f"quick placement equal to exact clustering in {agree}/{args.trials} saves; "
        f"median {statistics.median(quick_ms):.0f} ms per save"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
