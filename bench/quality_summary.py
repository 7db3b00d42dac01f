"""Story quality: ROUGE of digest's story summaries on DUC 2004, against sumy out of the box.

Usage: ``python bench/quality_summary.py`` (needs ``rouge-score``: ``pip install -e .[bench]``).

Each DUC 2004 cluster (10 articles, 4 human summaries) is pinned as one story: its articles are
written as Markdown files with ``story:`` front matter into a temporary folder, read with
``digest.ingest.read_article`` and cleaned with ``digest.clean.clean_article``, as a build would.
Every system's summary is cut at 100 words and scored with ROUGE-1/2/L (stemming on): recall
averaged over the four references, and F1 against the best reference.

Systems:
- ``digest``: ``summarize_story`` (LexRank, as configured by default) asked for 10 sentences and
  stopped at 100 words;
- ``sumy-lexrank`` / ``sumy-textrank``: sumy on the concatenated cluster text, as a user would
  run it (with digest's tokenizer, since NLTK data is not available), best-rated sentences until
  100 words, in document order;
- ``lead``: the articles' first sentences round-robin, then their second sentences, ...

Data: ``$DIGEST_DATA`` or ``<repo>/../shared/data/dev`` (``mds/duc2004/<cluster>/``); it is only
read, never copied into the repo.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC
from pathlib import Path

from rouge_score import rouge_scorer
from sumy.models.dom import ObjectDocumentModel
from sumy.nlp.stemmers import Stemmer
from sumy.parsers.plaintext import PlaintextParser
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

from digest.clean import clean_article
from digest.config import SummaryConfig
from digest.ingest import read_article
from digest.model import Article
from digest.summarize import summarize_story, sumy_ratings
from digest.text import Tokenizer, split_sentences

WORD_LIMIT = 100
METRICS = ("rouge1", "rouge2", "rougeL")
System = Callable[[Sequence[Article]], str]


def data_dir() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"
    return Path(os.environ.get("DIGEST_DATA", default))


def cut(text: str, limit: int = WORD_LIMIT) -> str:
    return " ".join(text.split()[:limit])


# --- reading a cluster as digest would ---------------------------------------------------------


def read_cluster(cluster: Path, scratch: Path) -> list[Article]:
    """The cluster's articles, written as pinned Markdown files, read and cleaned by digest."""
    folder = scratch / cluster.name
    folder.mkdir()
    for source in sorted(cluster.glob("article_*.txt")):
        text = source.read_text(encoding="utf-8").strip()
        page = f"---\nstory: {cluster.name}\n---\n\n{text}\n"
        (folder / f"{source.stem}.md").write_text(page, encoding="utf-8")
    articles = []
    for path in sorted(folder.glob("*.md")):
        result = read_article(path, scratch, UTC)
        if result.article is not None:
            articles.append(clean_article(result.article))
    return articles


def references(cluster: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(cluster.glob("summary_*.txt"))]


# --- systems ------------------------------------------------------------------------------------


def digest_system(sentences: int = 10, algorithm: str = "lexrank") -> System:
    config = SummaryConfig(sentences=sentences, algorithm=algorithm)

    def run(articles: Sequence[Article]) -> str:
        summary = summarize_story(articles, config, "en", max_words=WORD_LIMIT)
        return " ".join(s.text for s in summary)

    return run


def sumy_system(summarizer_class: type) -> System:
    """sumy out of the box on the concatenated articles: top sentences until 100 words."""
    stemmer = Stemmer("english")

    def run(articles: Sequence[Article]) -> str:
        text = "\n".join(a.text for a in articles)
        document: ObjectDocumentModel = PlaintextParser.from_string(
            text, Tokenizer("english")
        ).document
        summarizer = summarizer_class(stemmer)
        summarizer.stop_words = get_stop_words("english")
        ratings = sumy_ratings(summarizer, document)
        order = {s: i for i, s in enumerate(document.sentences)}
        best = sorted(document.sentences, key=lambda s: (-ratings[s], order[s]))
        chosen, total = [], 0
        for sentence in best:
            if total >= WORD_LIMIT:
                break
            chosen.append(sentence)
            total += len(str(sentence).split())
        chosen.sort(key=order.__getitem__)
        return " ".join(str(s) for s in chosen)

    return run


def lead_system(articles: Sequence[Article]) -> str:
    """First sentences of every article in turn, then second sentences, ... until 100 words."""
    per_article = [split_sentences(a.text) for a in articles]
    chosen: list[str] = []
    total = 0
    for position in range(max((len(s) for s in per_article), default=0)):
        for sentences in per_article:
            if position < len(sentences) and sentences[position] not in chosen:
                chosen.append(sentences[position])
                total += len(sentences[position].split())
                if total >= WORD_LIMIT:
                    return " ".join(chosen)
    return " ".join(chosen)


def systems() -> dict[str, System]:
    return {
        "digest": digest_system(),
        "sumy-lexrank": sumy_system(LexRankSummarizer),
        "sumy-textrank": sumy_system(TextRankSummarizer),
        "lead": lead_system,
    }


# --- scoring ------------------------------------------------------------------------------------


def score(scorer: rouge_scorer.RougeScorer, summary: str, refs: list[str]) -> dict[str, float]:
    """Recall averaged over the references and F1 against the best reference, per metric."""
    results = [scorer.score(ref, summary) for ref in refs]
    out: dict[str, float] = {}
    for metric in METRICS:
        out[f"{metric}_recall"] = 100 * statistics.mean(r[metric].recall for r in results)
        out[f"{metric}_f1"] = 100 * max(r[metric].fmeasure for r in results)
    return out


def synthetic_story_time(clusters: list[list[Article]], size: int = 60) -> float:
    """Seconds to summarise one story of ``size`` distinct articles (several clusters pooled)."""
    pooled = [a for articles in clusters for a in articles][:size]
    start = time.perf_counter()
    summarize_story(pooled, SummaryConfig(), "en")
    return time.perf_counter() - start


def main() -> dict[str, dict[str, float]]:
    root = data_dir() / "mds" / "duc2004"
    cluster_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    runs = systems()
    totals: dict[str, list[dict[str, float]]] = {name: [] for name in runs}
    seconds: dict[str, float] = dict.fromkeys(runs, 0.0)
    stories: list[list[Article]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for cluster in cluster_dirs:
            articles = read_cluster(cluster, Path(scratch))
            stories.append(articles)
            refs = references(cluster)
            for name, run in runs.items():
                start = time.perf_counter()
                summary = cut(run(articles))
                seconds[name] += time.perf_counter() - start
                totals[name].append(score(scorer, summary, refs))
    figures: dict[str, dict[str, float]] = {}
    for name, rows in totals.items():
        figures[name] = {key: statistics.mean(r[key] for r in rows) for key in rows[0]}
        figures[name]["seconds_per_story"] = seconds[name] / len(cluster_dirs)
    figures["digest"]["seconds_60_articles"] = synthetic_story_time(stories)
    print_table(figures, len(cluster_dirs))
    return figures


def print_table(figures: dict[str, dict[str, float]], clusters: int) -> None:
    print(f"DUC 2004, {clusters} clusters, summaries cut at {WORD_LIMIT} words, ROUGE x 100")
    names = [m.replace("rouge", "R-") for m in METRICS]
    recall = " ".join(f"{n + ' rec':>9}" for n in names)
    f1 = " ".join(f"{n + ' F1':>8}" for n in names)
    print(f"{'system':<14} {recall}  {f1}  {'s/story':>8}")
    for name, row in figures.items():
        recall = " ".join(f"{row[m + '_recall']:>9.2f}" for m in METRICS)
        f1 = " ".join(f"{row[m + '_f1']:>8.2f}" for m in METRICS)
        print(f"{name:<14} {recall}  {f1}  {row['seconds_per_story']:>8.3f}")
    print("recall: mean over the 4 references; F1: against the best reference")
    seconds = figures["digest"]["seconds_60_articles"]
    print(f"digest on one story of 60 distinct articles: {seconds:.3f} s")


if __name__ == "__main__":
    main()
