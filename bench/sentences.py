"""Sentence splitters for news text: speed on DUC 2004 articles, accuracy on tricky sentences.

Usage: ``python bench/sentences.py``. Compares ``digest.text.split_sentences`` with a naive regex,
the first draft of our splitter and, when installed (``pip install syntok blingfire``: measurement
only, not project dependencies), syntok and blingfire. Every splitter is applied line by line,
since digest's contract is that a sentence never spans two lines.

Data: ``$DIGEST_DATA`` or ``<repo>/../shared/data/dev`` (``mds/duc2004/*/article_*.txt``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from digest.text import split_sentences

Splitter = Callable[[str], list[str]]

# Hand-labelled paragraphs: (text, the sentences it should give). Tricky on purpose.
CASES: list[tuple[str, list[str]]] = [
    (
        "Mr. Smith went to Washington. He met Dr. Jones.",
        ["Mr. Smith went to Washington.", "He met Dr. Jones."],
    ),
    (
        "The U.S. economy grew 3.5 percent. Analysts were surprised.",
        ["The U.S. economy grew 3.5 percent.", "Analysts were surprised."],
    ),
    (
        "The plan was approved in the U.S. The vote was close.",
        ["The plan was approved in the U.S.", "The vote was close."],
    ),
    (
        "U.N. Secretary-General Kofi Annan arrived Monday.",
        ["U.N. Secretary-General Kofi Annan arrived Monday."],
    ),
    (
        "The meeting starts at 3 p.m. Eastern time on Friday.",
        ["The meeting starts at 3 p.m. Eastern time on Friday."],
    ),
    (
        "The meeting ended at 5 p.m. The talks resume Monday.",
        ["The meeting ended at 5 p.m.", "The talks resume Monday."],
    ),
    (
        "Gov. George W. Bush spoke in Austin. Sen. Ted Kennedy replied.",
        ["Gov. George W. Bush spoke in Austin.", "Sen. Ted Kennedy replied."],
    ),
    (
        "J. K. Rowling published a new book on Jan. 5. It sold out.",
        ["J. K. Rowling published a new book on Jan. 5.", "It sold out."],
    ),
    (
        "He lives at No. 10 Downing Street. Visitors queue outside.",
        ["He lives at No. 10 Downing Street.", "Visitors queue outside."],
    ),
    (
        "Crowds gathered in St. Petersburg. Police watched.",
        ["Crowds gathered in St. Petersburg.", "Police watched."],
    ),
    (
        '"We will not back down." Ushakov said the call lasted an hour.',
        ['"We will not back down."', "Ushakov said the call lasted an hour."],
    ),
    (
        "He called it \u201ca disaster.\u201d The minister disagreed.",
        ["He called it \u201ca disaster.\u201d", "The minister disagreed."],
    ),
    (
        "'Russia will not back down,' Ushakov told reporters. 'Never.'",
        ["'Russia will not back down,' Ushakov told reporters.", "'Never.'"],
    ),
    (
        "He said Russians and Ukrainians are 'one people.' 'I have said it many times.'",
        ["He said Russians and Ukrainians are 'one people.'", "'I have said it many times.'"],
    ),
    ("Prices rose 2.5% in May. 2023 was worse.", ["Prices rose 2.5% in May.", "2023 was worse."]),
    (
        "The index closed at 10,234.56 points. Bonds fell.",
        ["The index closed at 10,234.56 points.", "Bonds fell."],
    ),
    ("He paused... Then he left the room.", ["He paused...", "Then he left the room."]),
    (
        "Is this the end? Nobody knows! Stay tuned.",
        ["Is this the end?", "Nobody knows!", "Stay tuned."],
    ),
    (
        "``I would like to make it clear,'' Hun Sen said. ``No-one should interfere.''",
        ["``I would like to make it clear,'' Hun Sen said.", "``No-one should interfere.''"],
    ),
    (
        "The company, Apple Inc. said it would appeal.",
        ["The company, Apple Inc. said it would appeal."],
    ),
    (
        "The firm was bought by Apple Inc. The price was not disclosed.",
        ["The firm was bought by Apple Inc.", "The price was not disclosed."],
    ),
    (
        "Rep. Henry Hyde, R-Ill., chairs the committee. Mrs. Clinton declined to comment.",
        ["Rep. Henry Hyde, R-Ill., chairs the committee.", "Mrs. Clinton declined to comment."],
    ),
    (
        "Hurricane Mitch hit Honduras (the worst storm in decades). Thousands died.",
        ["Hurricane Mitch hit Honduras (the worst storm in decades).", "Thousands died."],
    ),
    (
        "Officials said the death toll was 1,000. (AP)",
        ["Officials said the death toll was 1,000.", "(AP)"],
    ),
    ("The e.g. clause is rare. It still works.", ["The e.g. clause is rare.", "It still works."]),
    (
        "She earned a Ph.D. in physics. Then she joined NASA.",
        ["She earned a Ph.D. in physics.", "Then she joined NASA."],
    ),
    (
        "First line without a stop\nSecond line. Third sentence.",
        ["First line without a stop", "Second line.", "Third sentence."],
    ),
    (
        "The vote is set for Oct. 12 in Sacramento, Calif. The outcome is uncertain.",
        ["The vote is set for Oct. 12 in Sacramento, Calif.", "The outcome is uncertain."],
    ),
    (
        "Dr.Sophia Ulgen posted a video. It spread fast.",
        ["Dr.Sophia Ulgen posted a video.", "It spread fast."],
    ),
    (
        "Washington DC [US], July 4 (ANI): Putin held a call. Trump said little.",
        ["Washington DC [US], July 4 (ANI): Putin held a call.", "Trump said little."],
    ),
    (
        "Prof. Li and Lt. Col. Oliver North testified. Both denied it.",
        ["Prof. Li and Lt. Col. Oliver North testified.", "Both denied it."],
    ),
    (
        "It cost $4.5 million. The contract ends in 2026.",
        ["It cost $4.5 million.", "The contract ends in 2026."],
    ),
    (
        "The ship sank at 4 a.m. local time, officials said.",
        ["The ship sank at 4 a.m. local time, officials said."],
    ),
    (
        "\u201cWe are not seeking the surrender of Ukraine.\u201d"
        " \u201cWe insist on recognition.\u201d",
        [
            "\u201cWe are not seeking the surrender of Ukraine.\u201d",
            "\u201cWe insist on recognition.\u201d",
        ],
    ),
]

_NAIVE = re.compile(r"(?<=[.!?])\s+")
_DRAFT = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+(?=[\"'\u201c\u2018(]*[A-Z0-9])")


def per_line(split_line: Splitter) -> Splitter:
    def split(text: str) -> list[str]:
        out: list[str] = []
        for line in text.splitlines():
            if line.strip():
                out.extend(s.strip() for s in split_line(line.strip()) if s.strip())
        return out

    return split


def candidates() -> dict[str, Splitter]:
    found: dict[str, Splitter] = {
        "digest": split_sentences,
        "naive regex": per_line(_NAIVE.split),
        "first draft": per_line(_DRAFT.split),
    }
    try:
        import syntok.segmenter as segmenter

        def syntok_line(line: str) -> list[str]:
            return [
                "".join(t.spacing + t.value for t in sentence).strip()
                for paragraph in segmenter.analyze(line)
                for sentence in paragraph
            ]

        found["syntok"] = per_line(syntok_line)
    except ImportError:
        pass
    try:
        import blingfire

        found["blingfire"] = per_line(lambda line: blingfire.text_to_sentences(line).split("\n"))
    except ImportError:
        pass
    return found


def accuracy(split: Splitter) -> tuple[float, float]:
    """Share of cases split exactly right, and the F1 of the sentences found."""
    exact = hits = found = wanted = 0
    for text, expected in CASES:
        got = split(text)
        exact += got == expected
        hits += len(set(got) & set(expected))
        found += len(got)
        wanted += len(expected)
    precision, recall = hits / max(found, 1), hits / max(wanted, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return exact / len(CASES), f1


def articles() -> list[str]:
    root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"
    data = Path(os.environ.get("DIGEST_DATA", root))
    return [p.read_text(encoding="utf-8") for p in sorted(data.glob("mds/duc2004/*/article_*.txt"))]


def speed(split: Splitter, texts: list[str], rounds: int = 3) -> float:
    """Articles per second, best of ``rounds``."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            split(text)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def main() -> dict[str, dict[str, float]]:
    texts = articles()
    results: dict[str, dict[str, float]] = {}
    print(f"{len(CASES)} hand-labelled cases, {len(texts)} DUC 2004 articles")
    print(f"{'splitter':<12} {'exact':>7} {'F1':>7} {'articles/s':>11} {'ms/article':>11}")
    for name, split in candidates().items():
        exact, f1 = accuracy(split)
        rate = speed(split, texts) if texts else 0.0
        results[name] = {"exact": exact, "f1": f1, "articles_per_s": rate}
        per_article = 1000 / rate if rate else float("nan")
        print(f"{name:<12} {exact:>7.1%} {f1:>7.1%} {rate:>11.0f} {per_article:>11.3f}")
    return results


def failures(split: Splitter = split_sentences) -> None:
    """Print the cases ``split`` gets wrong (a debugging aid)."""
    for text, expected in CASES:
        got = split(text)
        if got != expected:
            print(f"{text!r}\n  want {expected}\n  got  {got}")


if __name__ == "__main__":
    main()
