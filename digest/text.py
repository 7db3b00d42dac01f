"""Sentences and words: the tokenizer digest gives sumy (no NLTK data), plus text normalisation.

Interface used by other stages (keep these signatures):
- ``split_sentences(text: str) -> list[str]``: sentences of plain text, one paragraph per line;
  a sentence never spans two lines.
- ``words(text: str) -> list[str]``: word tokens (letters/digits, apostrophes inside words kept),
  original case.
- ``normalize(text: str) -> str``: NFKC, curly quotes/dashes to ASCII, collapsed spaces; for
  comparing text, never for display.
- ``Tokenizer(language)``: an object with ``to_sentences(text)`` and ``to_words(sentence)`` and a
  ``language`` attribute, as sumy's summarizers and parsers expect.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00a0": " "})
_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+(?=[\"'\u201c\u2018(]*[A-Z0-9])")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip()


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            sentences.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return sentences


class Tokenizer:
    """What sumy calls a tokenizer: sentences and words, in our code, with no downloads."""

    def __init__(self, language: str = "english") -> None:
        self.language = language

    def to_sentences(self, text: str) -> tuple[str, ...]:
        return tuple(split_sentences(text))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(words(sentence))
