"""Story quality on human-labelled news: clustering, summaries and furniture removal.

    python bench/quality.py [cluster|summary|furniture ...]

Each part drives the same functions `digest build` runs and, in the same process, the baselines
the targets are stated against (the machines are noisy: only same-run comparisons hold). The data
is read from ../shared/data/dev/ (or $DIGEST_DATA); nothing of it is copied into the repository.
Prints each part's table, then whether each target of the issue "Story quality" is met.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

PARTS = {
    "cluster": "quality_cluster",
    "summary": "quality_summary",
    "furniture": "quality_furniture",
}


def main(argv: list[str]) -> int:
    chosen = argv or list(PARTS)
    figures: dict[str, dict] = {}
    for part in chosen:
        print(f"\n== {part} ==", flush=True)
        figures[part] = importlib.import_module(PARTS[part]).main()
    print("\n== targets ==")
    for line in check_targets(figures):
        print(line)
    return 0


def check_targets(figures: dict[str, dict]) -> list[str]:
    """One line per target of the issue, with the figure behind it."""
    lines = []

    def say(ok: bool, text: str) -> None:
        lines.append(f"[{'met' if ok else 'MISSED'}] {text}")

    if c := figures.get("cluster"):
        ours = c["ecbplus"]["ours"]
        say(ours["bcubed_f1"] >= 0.85, f"ECB+ B-cubed F1 {ours['bcubed_f1']:.3f} >= 0.85")
        say(ours["bcubed_p"] >= 0.90, f"ECB+ B-cubed precision {ours['bcubed_p']:.3f} >= 0.90")
        say(ours["unassigned"] == 0, f"articles in no story: {ours['unassigned']}")
    if s := figures.get("summary"):
        ours, lexrank = s["digest"], s["sumy-lexrank"]
        gain = ours["rouge1_recall"] - lexrank["rouge1_recall"]
        say(gain >= 4.0, f"DUC 2004 ROUGE-1 recall {gain:+.2f} points over sumy LexRank (>= +4.0)")
        baselines = [v["rouge2_recall"] for k, v in s.items() if k != "digest"]
        say(
            ours["rouge2_recall"] > max(baselines),
            f"DUC 2004 ROUGE-2 recall {ours['rouge2_recall']:.2f} > best baseline "
            f"{max(baselines):.2f}",
        )
        seconds = ours["seconds_60_articles"]
        say(seconds < 1.0, f"a 60-article story summarized in {seconds:.3f} s (< 1 s)")
    if f := figures.get("furniture"):
        ours = f["ours"]
        say(ours["f1"] >= 0.85, f"cleaned plain text F1 {ours['f1']:.3f} >= 0.85")
        share = f["lost_sentence_share"]
        say(share <= 0.05, f"pages losing a real sentence {share:.1%} <= 5%")
    return lines


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
