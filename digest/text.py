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

The sentence splitter is rule based and tuned for news copy: it finds every candidate boundary (a
run of ``.!?…``, closing quotes or brackets, white space, then an opening quote or a capital or a
digit) and then rejects the candidates that follow an abbreviation. Ambiguous abbreviations that
also end sentences ("U.S.", "p.m.", "Inc.") split only when the next word is one that usually
starts a sentence ("The", "He", ...). See ``bench/sentences.py`` for speed and accuracy figures.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
    }
)
_QUOTE_PAIRS = tuple((chr(code), plain) for code, plain in _QUOTES.items())
# Letters and digits (not "_", which AP copy uses as a dash), apostrophes inside words kept.
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_SPACES = re.compile(r"\s+")
# PTB-style quotes (``like this'') as found in wire archives such as DUC.
_PTB_QUOTES = re.compile(r"``|''")

_CLOSERS = "\"'\u201d\u2019\u00bb)\\]"
_OPENERS = "\"'\u201c\u2018\u00ab(\\[`"
# A candidate boundary: terminal punctuation, closing quotes/brackets, then white space. The
# lookahead captures what comes next so the rules can look at it.
_CANDIDATE = re.compile(rf"[.!?\u2026]+[{_CLOSERS}]*(?=[ \t\f\v]+([{_OPENERS}]*)(\S))")
_NEXT_WORD = re.compile(r"[^\W_]+")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Never the end of a sentence: titles and words that always take something after them.
_TITLES = _word_set(
    """mr mrs ms messrs mme dr prof gov govs sen sens rep reps gen lt col maj capt cmdr adm sgt
    cpl pvt rev fr st mt ft pres supt det insp atty hon amb vs v cf approx dept"""
)

# Words after which a full stop ends the sentence only if the next word looks like a sentence
# start: "Apple Inc. said" goes on, "bought by Apple Inc. The deal" does not.
_AMBIGUOUS = _word_set(
    """inc corp co ltd llc plc bros etc al jr sr est
    ala ariz ark calif colo conn del fla ga ill ind kan ky la md mass mich minn miss mo mont neb
    nev okla ore pa tenn tex va vt wash wis wyo"""
)

# Month and "No." abbreviations are followed by a number; a digit after them never starts a new
# sentence ("Jan. 5", "No. 10 Downing Street").
_BEFORE_NUMBER = _word_set(
    "no nos jan feb mar apr jun jul aug sep sept oct nov dec vol art sec ch pp fig"
)

# Capitalised words that usually begin a sentence rather than continue a name.
_STARTERS = _word_set(
    """a an the this that these those there here it its he she they we i you his her their our
    my your in on at as after before but and or so yet if when while since although though
    because however meanwhile still also now then later earlier yesterday today tomorrow
    last next some many most all both each few several no not one two three four five what who
    why how where which officials police mr mrs ms dr asked according speaking under during
    for from with without by to of over about despite"""
)


def normalize(text: str) -> str:
    """Text for comparison: NFKC, ASCII quotes and dashes, single spaces. Never for display."""
    # Checking is far cheaper than normalising, and most text already is NFKC.
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        # str.replace per mark is ~20x faster than str.translate with a table on non-ASCII text.
        for mark, plain in _QUOTE_PAIRS:
            if mark in text:
                text = text.replace(mark, plain)
    if "``" in text or "''" in text:
        text = _PTB_QUOTES.sub('"', text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    """Word tokens in original case: runs of letters/digits, inner apostrophes kept."""
    return _WORD.findall(text)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``; each line is a paragraph and no sentence spans two lines."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            sentences.extend(_split_line(line))
    return sentences


def _split_line(line: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(line):
        if _is_boundary(line, match):
            piece = line[start : match.end()].strip()
            if piece:
                parts.append(piece)
            start = match.end()
    rest = line[start:].strip()
    if rest:
        parts.append(rest)
    return parts


def _is_boundary(line: str, match: re.Match[str]) -> bool:
    """Whether the candidate ``match`` really ends a sentence."""
    punct = match.group(0)
    opener, first = match.group(1), match.group(2)
    # A lowercase word after the stop is a continuation ("said Mr. so-and-so." he added ...).
    if first.islower():
        return False
    if "!" in punct or "?" in punct or "\u2026" in punct or punct.startswith(".."):
        return True
    token = _token_before(line, match.start())
    if not token:
        return True
    next_word = _next_word(line, match.end())
    if token in _BEFORE_NUMBER and first.isdigit():
        return False
    if token in _TITLES:
        return False
    # An initial ("J. K. Rowling", "George W. Bush"): a single capital letter.
    if len(token) == 1 and token.isalpha():
        return False
    if token in _AMBIGUOUS or _is_dotted_abbreviation(token):
        return next_word.lower() in _STARTERS or bool(opener) or first.isdigit()
    return True


def _token_before(line: str, end: int) -> str:
    """The word that the full stop at ``end`` closes, lowercased, opening quotes stripped."""
    start = max(line.rfind(" ", 0, end), line.rfind("\t", 0, end)) + 1
    return line[start:end].lstrip(_OPENERS).lower()


def _is_dotted_abbreviation(token: str) -> bool:
    """ "u.s", "a.m", "p.m", "u.n": letters separated by full stops."""
    return "." in token and all(len(piece) <= 2 and piece.isalpha() for piece in token.split("."))


def _next_word(line: str, position: int) -> str:
    found = _NEXT_WORD.search(line, position)
    return found.group(0) if found else ""


class Tokenizer:
    """What sumy calls a tokenizer: sentences and words, in our code, with no downloads."""

    def __init__(self, language: str = "english") -> None:
        self.language = language

    def to_sentences(self, text: str) -> tuple[str, ...]:
        return tuple(split_sentences(text))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(words(sentence))


def text_digest(title: str, text: str) -> str:
    """A short name for an article's title and text: what clustering reads of its words."""
    h = hashlib.sha1(title.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()
