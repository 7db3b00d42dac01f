"""Story quality: how well ``cluster_articles`` recovers gold news stories, and how fast it is.

Data: ``clusters/ecbplus.jsonl`` (ECB+: 43 topics, each with two similar but different events that
must stay apart) and ``clusters/duc2004.jsonl`` (DUC 2004: 50 topic clusters), under the shared
dev folder (``../shared/data/dev`` next to the repo; env ``DIGEST_DATA`` overrides). Articles go
through the real pipeline: written as Markdown with front matter (all on one day, so text alone
decides), read by ``digest.ingest.read_article``, cleaned by ``digest.clean.clean_article``.

Baseline in the same run: plain TF-IDF cosine, single link, at the threshold a sweep finds best
for it. Run: ``python bench/quality_cluster.py``.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from digest.cluster import cluster_articles
from digest.config import ClusterConfig
from digest.model import Article

COMMON_DAY = "2024-05-01"
SPEED_ARTICLES = 6000


def data_dir() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"
    return Path(os.environ.get("DIGEST_DATA", default))


def load_rows(name: str) -> list[dict]:
    with (data_dir() / "clusters" / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# -- the real pipeline -----------------------------------------------------------------------


def _front_matter(row: dict) -> str:
    # JSON strings are valid YAML scalars: titles with colons or quotes stay intact.
    lines = ["---"]
    if row.get("title"):
        lines.append(f"title: {json.dumps(row['title'], ensure_ascii=False)}")
    lines.append(f"date: {COMMON_DAY}")
    if row.get("source"):
        lines.append(f"source: {json.dumps(row['source'], ensure_ascii=False)}")
    lines.append("---")
    return "\n".join(lines) + "\n\n"


def _body(text: str) -> str:
    # One paragraph per line in the data; Markdown needs a blank line between paragraphs.
    return "\n\n".join(line.strip() for line in text.splitlines() if line.strip()) + "\n"


def pipeline_articles(rows: Sequence[dict]) -> tuple[list[Article], str]:
    """Articles as the build makes them; falls back to direct construction if stages are stubs."""
    try:
        from digest.clean import clean_article
        from digest.ingest import read_article
    except ImportError:
        return [_direct_article(k, row) for k, row in enumerate(rows)], "direct (stages missing)"
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp)
        paths = []
        for k, row in enumerate(rows):
            path = content / f"a{k:05d}.md"
            path.write_text(_front_matter(row) + _body(row["text"]), encoding="utf-8")
            paths.append(path)
        articles = []
        for path in paths:
            result = read_article(path, content, UTC)
            article = getattr(result, "article", result)
            if not isinstance(article, Article):
                raise RuntimeError(f"read_article gave no Article for {path.name}: {result!r}")
            articles.append(clean_article(article))
    return articles, "ingest.read_article + clean.clean_article"


def _direct_article(k: int, row: dict) -> Article:
    text = "\n".join(line.strip() for line in row["text"].splitlines() if line.strip())
    title = row.get("title") or text.split("\n", 1)[0][:120]
    return Article(
        id=f"a{k}",
        path=f"a{k:05d}.md",
        format="markdown",
        title=title,
        title_given=bool(row.get("title")),
        body=text,
        text=text,
        source=row.get("source"),
        published=datetime.fromisoformat(COMMON_DAY).replace(tzinfo=UTC),
    )


# -- scores ----------------------------------------------------------------------------------


def bcubed(pred: Sequence[int], gold: Sequence[str]) -> tuple[float, float, float]:
    """B-cubed precision, recall, F1 over items (pred: cluster label per item)."""
    pred_sizes = Counter(pred)
    gold_sizes = Counter(gold)
    both = Counter(zip(pred, gold, strict=True))
    n = len(pred)
    precision = sum(both[(p, g)] / pred_sizes[p] for p, g in zip(pred, gold, strict=True)) / n
    recall = sum(both[(p, g)] / gold_sizes[g] for p, g in zip(pred, gold, strict=True)) / n
    return precision, recall, _f1(precision, recall)


def pairwise_f1(pred: Sequence[int], gold: Sequence[str]) -> float:
    def pairs(counter: Counter) -> int:
        return sum(c * (c - 1) // 2 for c in counter.values())

    same_both = pairs(Counter(zip(pred, gold, strict=True)))
    same_pred, same_gold = pairs(Counter(pred)), pairs(Counter(gold))
    precision = same_both / same_pred if same_pred else 1.0
    recall = same_both / same_gold if same_gold else 1.0
    return _f1(precision, recall)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def labels(groups: list[list[int]], n: int) -> tuple[list[int], int]:
    """Cluster label per item (-1 when in no group) and how many items were in no group."""
    label = [-1] * n
    for k, group in enumerate(groups):
        for i in group:
            label[i] = k
    missing = label.count(-1)
    # Items in no story count as singletons, so a lost item cannot raise precision.
    for i in range(n):
        if label[i] == -1:
            label[i] = len(groups) + i
    return label, missing


def score(groups: list[list[int]], gold: Sequence[str], seconds: float) -> dict:
    label, missing = labels(groups, len(gold))
    p, r, f = bcubed(label, gold)
    return {
        "bcubed_p": p,
        "bcubed_r": r,
        "bcubed_f1": f,
        "pairwise_f1": pairwise_f1(label, gold),
        "clusters": len(set(label)),
        "unassigned": missing,
        "seconds": seconds,
    }


# -- baseline: TF-IDF cosine, single link ----------------------------------------------------

_TOKEN = re.compile(r"\w+")


def baseline_similarities(texts: Sequence[str]) -> np.ndarray:
    docs = [Counter(_TOKEN.findall(t.lower())) for t in texts]
    vocab = {w: k for k, w in enumerate(sorted({w for d in docs for w in d}))}
    df = np.zeros(len(vocab))
    for d in docs:
        for w in d:
            df[vocab[w]] += 1
    idf = np.log((len(docs) + 1) / (df + 1)) + 1
    matrix = np.zeros((len(docs), len(vocab)))
    for row, d in enumerate(docs):
        for w, c in d.items():
            matrix[row, vocab[w]] = c * idf[vocab[w]]
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True).clip(min=1e-12)
    return matrix @ matrix.T


def single_link(sims: np.ndarray, threshold: float) -> list[list[int]]:
    n = len(sims)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(sims >= threshold, 1)), strict=True):
        parent[find(int(i))] = find(int(j))
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    return list(groups.values())


def baseline(texts: Sequence[str], gold: Sequence[str]) -> dict:
    start = time.perf_counter()
    sims = baseline_similarities(texts)
    best: dict | None = None
    for threshold in np.arange(0.05, 0.951, 0.025):
        result = score(single_link(sims, float(threshold)), gold, 0.0)
        if best is None or result["bcubed_f1"] > best["bcubed_f1"]:
            best = result | {"threshold": round(float(threshold), 3)}
    assert best is not None
    best["seconds"] = time.perf_counter() - start
    return best


# -- runs ------------------------------------------------------------------------------------


def evaluate(name: str) -> dict:
    rows = load_rows(name)
    gold = [row["cluster"] for row in rows]
    articles, how = pipeline_articles(rows)
    start = time.perf_counter()
    groups = cluster_articles(articles, ClusterConfig())
    ours = score(groups, gold, time.perf_counter() - start)
    return {
        "dataset": name,
        "articles": len(rows),
        "gold_clusters": len(set(gold)),
        "pipeline": how,
        "ours": ours,
        "baseline": baseline([a.title + "\n" + a.text for a in articles], gold),
    }


def synthetic_stream(count: int, seed: int = 7) -> list[Article]:
    """Articles mixing paragraphs of real news texts, dated over 60 days (some undated)."""
    rng = random.Random(seed)
    paragraphs = []
    for name in ("ecbplus.jsonl", "duc2004.jsonl"):
        for row in load_rows(name):
            paragraphs.append([p for p in re.split(r"\n|(?<=\.) ", row["text"]) if len(p) > 40])
    paragraphs = [p for p in paragraphs if p]
    base = datetime(2024, 1, 1, tzinfo=UTC)
    articles = []
    for k in range(count):
        parts = []
        for source in rng.sample(paragraphs, rng.randint(1, 3)):
            parts.extend(rng.sample(source, min(len(source), rng.randint(2, 8))))
        text = "\n".join(parts)
        published = None if rng.random() < 0.05 else base + timedelta(hours=rng.uniform(0, 24 * 60))
        articles.append(
            Article(
                id=f"s{k}",
                path=f"s{k}.md",
                format="markdown",
                title=parts[0][:80],
                title_given=False,
                body=text,
                text=text,
                published=published,
            )
        )
    return articles


def speed(count: int = SPEED_ARTICLES) -> dict:
    articles = synthetic_stream(count)
    start, cpu = time.perf_counter(), time.process_time()
    groups = cluster_articles(articles, ClusterConfig())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert sorted(i for g in groups for i in g) == list(range(count))
    return {"articles": count, "seconds": seconds, "cpu_seconds": cpu, "clusters": len(groups)}


def _print_table(result: dict) -> None:
    print(
        f"\n{result['dataset']}: {result['articles']} articles, {result['gold_clusters']} gold "
        f"clusters; pipeline: {result['pipeline']}"
    )
    header = f"{'method':<34}{'B3 P':>7}{'B3 R':>7}{'B3 F1':>7}{'pair F1':>9}{'clusters':>10}"
    print(header + f"{'no story':>10}{'seconds':>9}")
    base = result["baseline"]
    for label, row in (
        ("ours (default threshold)", result["ours"]),
        (f"baseline single link @ {base['threshold']}", base),
    ):
        print(
            f"{label:<34}{row['bcubed_p']:>7.3f}{row['bcubed_r']:>7.3f}{row['bcubed_f1']:>7.3f}"
            f"{row['pairwise_f1']:>9.3f}{row['clusters']:>10}{row['unassigned']:>10}"
            f"{row['seconds']:>9.2f}"
        )


def main() -> dict:
    figures: dict = {}
    for name in ("ecbplus.jsonl", "duc2004.jsonl"):
        result = evaluate(name)
        _print_table(result)
        figures[name.split(".")[0]] = result
    figures["speed"] = speed()
    s = figures["speed"]
    print(
        f"\nspeed: {s['articles']} synthetic articles clustered in {s['seconds']:.2f} s "
        f"({s['cpu_seconds']:.2f} s CPU; {s['clusters']} stories)"
    )
    ecb = figures["ecbplus"]["ours"]
    ok = ecb["bcubed_f1"] >= 0.85 and ecb["bcubed_p"] >= 0.90 and ecb["unassigned"] == 0
    print(
        "targets (ECB+ B3 F1 >= 0.85, P >= 0.90, no article left out):",
        "met" if ok else "NOT met",
    )
    return figures


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
