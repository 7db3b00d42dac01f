"""An extractive, multi-document summary of a story with sumy; each sentence keeps its article.

Interface (build.py relies on it):
- ``summarize_story(articles: Sequence[Article], config: SummaryConfig, language: str)
  -> tuple[SummarySentence, ...]``
- ``story_title(articles: Sequence[Article]) -> str``

How a summary is made:
1. *Pool*: the sentences of every article (``Article.text``, one paragraph per line), junk
   dropped (fragments, date lines, bylines, links, handles, teasers, questions to the reader).
   Only the first sentences of each article become candidates, so the pool stays small enough
   for sumy's quadratic rankers; later sentences still count as votes.
2. *Votes*: a sentence republished by several outlets (wire copy) is one candidate, not several;
   each other article that carries it adds a vote, which raises its score.
3. *Rank*: the chosen sumy summarizer rates every candidate; the rating (as a percentile, since the
   algorithms' scales differ) is blended with a position prior (news puts the essentials first),
   the votes and a length prior into each candidate's *quality*.
4. *Pick*: greedily maximise a submodular objective (Lin & Bilmes 2011), gain per word**0.3:
   saturated TF-IDF coverage of every sentence of the story, a square-root reward per topic group
   (diversity), the story-wide words and bigrams covered (weighted by the share of articles using
   them), plus each pick's quality; a sentence too similar to a pick is never taken, so the
   summary never repeats itself. The picks are then put in reading order (article, position).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from digest._imports import without_unused_dependencies
from digest.config import SummaryConfig
from digest.model import Article, SummarySentence
from digest.sparserows import (
    SparseRows,
    column_sums,
    products,
    scaled,
    squared_norms,
    times_vector,
)
from digest.text import Tokenizer, normalize, split_sentences, words

with without_unused_dependencies():  # scipy and requests, for parts of NLTK and sumy never used
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.edmundson import EdmundsonSummarizer
    from sumy.summarizers.kl import KLSummarizer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.lsa import LsaSummarizer
    from sumy.summarizers.luhn import LuhnSummarizer
    from sumy.summarizers.random import RandomSummarizer
    from sumy.summarizers.sum_basic import SumBasicSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

# Tuning (chosen on news in general; checked with bench/quality_summary.py).
POOL_SIZE = 60  # candidates handed to sumy: LexRank/TextRank cost grows with its square
LEAD_SENTENCES = 20  # at most this many candidates from one article
VOTE_SENTENCES = 100  # sentences per article looked at for votes
DUPLICATE_JACCARD = 0.6  # content-word overlap at which two sentences are the same copy
REDUNDANT_SIMILARITY = 0.5  # a pick this similar to an earlier pick adds nothing new
MIN_WORDS, MAX_WORDS = 6, 70
# Picking maximises a submodular objective (Lin & Bilmes 2011) greedily, gain per cost.
SATURATION = 10.0  # a story sentence is fully covered at SATURATION x its mean similarity
CLUSTERS_PER_CANDIDATE = 0.2  # topic groups for the diversity reward
COST_EXPONENT = 0.3  # cost of a sentence: words ** COST_EXPONENT (short, dense sentences win)


@dataclass(frozen=True)
class Weights:
    """How the final score blends its parts (``algorithm`` is a percentile in [0, 1])."""

    algorithm: float = 1.0
    position: float = 1.0
    votes: float = 0.6
    length: float = 0.3
    coverage: float = 2.0  # share of the sentence's words that most of the story's articles use
    # The picking objective; each part is scaled so that all candidates together score 1.
    centrality: float = 1.0  # saturated coverage of every sentence of the story (TF-IDF cosine)
    diversity: float = 0.3  # square-root reward per topic group: one pick per topic first
    concepts: float = 0.2  # words and bigrams weighted by the share of articles using them
    quality: float = 0.25  # per pick: the blended score above, scaled to [0, 1]


@dataclass
class Candidate:
    text: str
    article: int  # index in reading order of the story's articles
    position: int  # index among the article's usable sentences
    terms: frozenset[str]  # stemmed content words
    length: int  # words
    concepts: frozenset[str] = frozenset()  # terms and stemmed bigrams
    sources: set[int] = field(default_factory=set)  # articles that carry this sentence
    score: float = 0.0

    @property
    def votes(self) -> int:
        return len(self.sources)


# --- language ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Language:
    name: str
    stem: Callable[[str], str]
    stop_words: frozenset[str]


# The ISO 639-1 and 639-3 codes of the languages sumy stems, by the name pycountry gives them:
# sumy looks a code up in pycountry (0.035 s to import) for that name; these need no lookup.
_CODES_OF = {
    "arabic": ("ar", "ara"),
    "chinese": ("zh", "zho"),
    "czech": ("cs", "ces"),
    "danish": ("da", "dan"),
    "dutch": ("nl", "nld"),
    "english": ("en", "eng"),
    "finnish": ("fi", "fin"),
    "french": ("fr", "fra"),
    "german": ("de", "deu"),
    "hebrew": ("he", "heb"),
    "hungarian": ("hu", "hun"),
    "italian": ("it", "ita"),
    "japanese": ("ja", "jpn"),
    "korean": ("ko", "kor"),
    "norwegian": ("no", "nor"),
    "portuguese": ("pt", "por"),
    "romanian": ("ro", "ron"),
    "russian": ("ru", "rus"),
    "slovak": ("sk", "slk"),
    "spanish": ("es", "spa"),
    "swedish": ("sv", "swe"),
    "ukrainian": ("uk", "ukr"),
}
_LANGUAGE_NAMES = {code: name for name, codes in _CODES_OF.items() for code in codes}


def language_name(language: str) -> str:
    """``language`` as sumy names it, for the codes in ``_CODES_OF`` (else as given: sumy
    looks it up)."""
    return _LANGUAGE_NAMES.get(language.lower(), language)


@lru_cache(maxsize=16)
def language_tools(language: str) -> Language:
    """sumy's stemmer and stop words for ``language`` (a name or ISO code); English if unknown."""
    try:
        stemmer = Stemmer(language_name(language))
        name = language
    except LookupError:
        stemmer, name = Stemmer("english"), "english"
    try:
        stop_words = frozenset(get_stop_words(language_name(name)))
    except LookupError:
        stop_words = frozenset(get_stop_words("english"))
    # Stemming dominates the cost of ranking; news reuses words, so a cache pays off.
    return Language(name, lru_cache(maxsize=65536)(stemmer), stop_words)


def content_terms(text: str, lang: Language) -> frozenset[str]:
    """Stemmed, lowercased words that are not stop words: what two sentences are compared on."""
    lowered = (w.lower() for w in words(normalize(text)))
    return frozenset(lang.stem(w) for w in lowered if w not in lang.stop_words)


def terms_and_bigrams(text: str, lang: Language) -> tuple[frozenset[str], frozenset[str]]:
    """``content_terms`` and the stemmed word pairs of ``text`` that hold a content word."""
    lowered = [w.lower() for w in words(normalize(text))]
    stems = [lang.stem(w) for w in lowered]
    content = [w not in lang.stop_words for w in lowered]
    terms = frozenset(s for s, keep in zip(stems, content, strict=True) if keep)
    bigrams = frozenset(
        f"{stems[i]} {stems[i + 1]}" for i in range(len(stems) - 1) if content[i] or content[i + 1]
    )
    return terms, bigrams


# --- junk -------------------------------------------------------------------------------------

_LINK = re.compile(r"https?://|www\.|\b\w+\.(?:com|org|net|co\.uk)/|pic\.twitter|(?<!\w)[@#]\w")
_BYLINE = re.compile(
    r"^(?:by|reporting by|editing by|written by|photo|image|video|source|credit|file)\b[ :]",
    re.IGNORECASE,
)
# Lowercase phrases of page furniture that slipped through cleaning (substring tests are fast).
_FURNITURE = (
    "subscribe",
    "newsletter",
    "sign up",
    "click here",
    "read more",
    "follow us",
    "all rights reserved",
    "copyright",
    "cookie",
    "advertisement",
    "related stories",
    "daily email",
    "news release",
    "\u00a9",
)
_MONTH = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"  # names and abbreviations
)
_DATE = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)? {_MONTH},? \d{{4}}\b|\b{_MONTH} \d{{1,2}},? \d{{4}}\b|"
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}\b",
    re.IGNORECASE,
)
_READER = re.compile(r"\b(?:you|your|yours)\b", re.IGNORECASE)
_QUOTE_CHARS = "\"'\u201c\u201d\u2018\u2019`"
_FINAL = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")
_VERBISH = re.compile(
    r"\b(?:is|are|was|were|be|been|has|have|had|will|would|can|could|may|might|must|should|"
    r"did|does|do|said|says|say|told|[a-z]{2,}(?:ed|es|ing|s))\b"
)


_OPENING = re.compile(r"(?:^|[\s(\[])[\"'\u201c\u2018`]+\w")
# A quote closes after punctuation (single quotes: only then, as "players' union" is possessive)
# or, for double quotes, after a word; it is followed by a space, punctuation or the end.
_CLOSING = re.compile(r"(?:[,.!?;]['\u2019]+|[\w,.!?;][\"\u201d]+|[\w,.!?;]'')(?=[\s,.;:]|$)")


def continues_quote(text: str) -> bool:
    """Whether ``text`` closes a quotation opened in an earlier sentence (no sense on its own)."""
    closing = _CLOSING.search(text)
    if closing is None:
        return False
    opening = _OPENING.search(text)
    return opening is None or opening.start() > closing.start()


_SINGLE_CLOSE = re.compile(r"['\u2019](?!\w)")  # not an apostrophe inside a word (Ukraine's)


def opens_unclosed_quote(text: str) -> bool:
    """Whether ``text`` starts a quotation that a later sentence closes ('We are ... . We ...,'
    he said): on its own it lacks the speaker, and a summary would leave the quote open."""
    first = text[:1]
    if first in '"\u201c':
        return not any(mark in text[1:] for mark in '"\u201d')
    if first in "'\u2018":
        return _SINGLE_CLOSE.search(text, 1) is None
    return False


def is_junk(sentence: str) -> bool:
    """Whether ``sentence`` is not fit for a summary: furniture, a fragment or a teaser."""
    text = sentence.strip()
    tokens = words(text)
    if not MIN_WORDS <= len(tokens) <= MAX_WORDS:
        return True
    first = text.lstrip(_QUOTE_CHARS + "([")[:1]
    if first.islower():  # the tail of a sentence broken elsewhere
        return True
    if text.endswith(("...", "\u2026")) or text.rstrip(_QUOTE_CHARS).endswith("?"):
        return True
    letters = sum(map(str.isalpha, text))
    if letters and sum(map(str.isupper, text)) > 0.6 * letters:
        return True
    lowered = text.lower()
    # The link pattern is slow; most sentences hold none of the characters it needs.
    if (any(mark in text for mark in "/@#") or "www." in lowered) and _LINK.search(text):
        return True
    if _BYLINE.search(text) or any(phrase in lowered for phrase in _FURNITURE):
        return True
    if len(tokens) < 12 and _DATE.search(text):
        return True
    has_quotes = any(q in text for q in _QUOTE_CHARS)
    # "you" outside any quotation speaks to the reader: promotion, not reporting.
    if not has_quotes and "you" in lowered and _READER.search(text):
        return True
    if has_quotes and (continues_quote(text) or opens_unclosed_quote(text)):
        return True
    if not _VERBISH.search(text):
        return True
    # Without a full stop a line is only a sentence when it is long (some leads lack the stop).
    return not _FINAL.search(text) and len(tokens) < 15


# --- pool -------------------------------------------------------------------------------------


def reading_order(articles: Sequence[Article]) -> list[Article]:
    """Articles oldest first; undated ones keep their place after the dated ones."""
    indexed = list(enumerate(articles))
    indexed.sort(key=lambda item: (item[1].published is None, item[1].published or 0, item[0]))
    return [article for _, article in indexed]


def usable_sentences(article: Article, limit: int) -> list[str]:
    """The first ``limit`` sentences of ``article`` that are fit for a summary."""
    found: list[str] = []
    for line in (article.text or "").splitlines():
        if line.rstrip().endswith(("...", "\u2026")):
            continue  # a teaser for another article: none of its sentences belong here
        for sentence in split_sentences(line):
            if not is_junk(sentence):
                found.append(sentence)
                if len(found) >= limit:
                    return found
    return found


class Pool:
    """Unique candidate sentences; a near-duplicate adds its article as a vote instead."""

    def __init__(self, lang: Language, threshold: float = DUPLICATE_JACCARD) -> None:
        self.lang = lang
        self.threshold = threshold
        self.candidates: list[Candidate] = []
        self._index: dict[str, list[int]] = {}  # term -> candidates holding it
        self._exact: dict[str, int] = {}
        self.spread: dict[str, set[int]] = {}  # term -> articles using it (all sentences read)
        self.story: list[frozenset[str]] = []  # the terms of every sentence read, copies too
        self.concept_spread: dict[str, set[int]] = {}  # term or bigram -> articles using it

    def add(self, text: str, article: int, position: int, *, new: bool) -> None:
        """Count ``text`` as a vote for a copy already pooled, else pool it when ``new``."""
        key = normalize(text).lower()
        match = self._exact.get(key)
        terms, bigrams = terms_and_bigrams(text, self.lang)
        for term in terms:
            self.spread.setdefault(term, set()).add(article)
        for bigram in bigrams:
            self.concept_spread.setdefault(bigram, set()).add(article)
        if terms:
            self.story.append(terms)
        if match is None and terms:
            match = self._near_duplicate(terms)
        if match is not None:
            self._vote(self.candidates[match], text, article, position)
            return
        if not new or not terms:
            return
        number = len(self.candidates)
        length = len(words(text))
        concepts = terms | bigrams
        self.candidates.append(
            Candidate(text, article, position, terms, length, concepts, {article})
        )
        self._exact[key] = number
        for term in terms:
            self._index.setdefault(term, []).append(number)

    @staticmethod
    def _vote(candidate: Candidate, text: str, article: int, position: int) -> None:
        candidate.sources.add(article)
        # Provenance is the earliest article that carries the sentence, in that article's words.
        if article < candidate.article:
            candidate.text, candidate.article, candidate.position = text, article, position
            candidate.length = len(words(text))

    def _near_duplicate(self, terms: frozenset[str]) -> int | None:
        # Prefix filter: a copy with Jaccard >= t shares at least one of any |T| - ceil(t|T|) + 1
        # of our terms, so only the holders of that many rarest terms need comparing.
        rarest = sorted(terms, key=lambda term: (len(self._index.get(term, ())), term))
        probe = rarest[: len(terms) - math.ceil(self.threshold * len(terms)) + 1]
        holders = {number for term in probe for number in self._index.get(term, ())}
        best, best_jaccard = None, self.threshold
        for number in sorted(holders):
            other = self.candidates[number].terms
            overlap = len(terms & other)
            jaccard = overlap / (len(terms) + len(other) - overlap)
            if jaccard >= best_jaccard:
                best, best_jaccard = number, jaccard
        return best


def build_pool(articles: Sequence[Article], lang: Language, pool_size: int = POOL_SIZE) -> Pool:
    """Candidates from the articles in reading order (earliest copy of a sentence wins)."""
    pool = Pool(lang)
    # Round by position: every article's lead goes in before any article's second sentence, so
    # when the pool is full it holds the leads of all articles.
    sentences = [usable_sentences(a, VOTE_SENTENCES) for a in articles]
    depth = max((len(s) for s in sentences), default=0)
    for position in range(depth):
        for number, found in enumerate(sentences):
            if position < len(found):
                room = len(pool.candidates) < pool_size and position < LEAD_SENTENCES
                pool.add(found[position], number, position, new=room)
    return pool


# --- ranking with sumy --------------------------------------------------------------------------


class SeededRandomSummarizer(RandomSummarizer):
    """sumy's random summarizer, made repeatable: the seed comes from the text itself."""

    def _get_random_ratings(self, sentences: Sequence[Sentence]) -> dict[Sentence, int]:
        digest = hashlib.sha256("\n".join(str(s) for s in sentences).encode()).hexdigest()
        ratings = list(range(len(sentences)))
        random.Random(int(digest[:16], 16)).shuffle(ratings)
        return dict(zip(sentences, ratings, strict=True))


class MatrixLexRankSummarizer(LexRankSummarizer):
    """sumy's LexRank with its similarity matrix and idf computed by numpy.

    sumy builds the n x n idf-modified-cosine matrix with a Python loop per pair (and idf with a
    scan of every sentence per term): three quarters of a cold build's summarizing time. This
    computes the same matrix (same tf, idf, threshold and degree normalisation) as one matrix
    product; sumy's own power method then ranks it, unchanged.
    """

    @staticmethod
    def _compute_idf(sentences: Sequence[Sequence[str]]) -> dict[str, float]:
        count = len(sentences)
        document_frequency = Counter(term for sentence in sentences for term in set(sentence))
        return {term: math.log(count / (1 + df)) for term, df in document_frequency.items()}

    def _create_matrix(
        self,
        sentences: Sequence[Sequence[str]],
        threshold: float,
        tf_metrics: Sequence[dict[str, float]],
        idf_metrics: dict[str, float],
    ) -> np.ndarray:
        column = {term: k for k, term in enumerate(idf_metrics)}
        weights = np.zeros((len(sentences), len(column)))
        for row, tf in enumerate(tf_metrics):
            for term, value in tf.items():
                weights[row, column[term]] = value * idf_metrics[term]
        norms = np.sqrt((weights * weights).sum(axis=1))
        with np.errstate(divide="ignore", invalid="ignore"):
            cosine = (weights @ weights.T) / np.outer(norms, norms)
        cosine[~np.isfinite(cosine)] = 0.0  # a sentence of stop words only: similar to nothing
        adjacency = (cosine > threshold).astype(float)
        degrees = adjacency.sum(axis=1)
        degrees[degrees == 0] = 1.0
        return adjacency / degrees[:, None]


def make_summarizer(algorithm: str, lang: Language, title: str) -> Any:
    """A sumy summarizer set up for ``lang``; the same object again unless it needs the title.

    sumy normalises its whole stop-word list whenever one is set: once per story was a few
    percent of a cold build. Edmundson reads the headline, so it is made anew each time.
    """
    if algorithm == "edmundson":
        return _new_summarizer(algorithm, lang, title)
    return _shared_summarizer(algorithm, lang)


@lru_cache(maxsize=32)
def _shared_summarizer(algorithm: str, lang: Language) -> Any:
    return _new_summarizer(algorithm, lang, "")


def _new_summarizer(algorithm: str, lang: Language, title: str) -> Any:
    classes: dict[str, Callable[..., Any]] = {
        "lexrank": MatrixLexRankSummarizer,
        "textrank": TextRankSummarizer,
        "lsa": LsaSummarizer,
        "luhn": LuhnSummarizer,
        "edmundson": EdmundsonSummarizer,
        "kl": KLSummarizer,
        "sumbasic": SumBasicSummarizer,
        "random": SeededRandomSummarizer,
    }
    summarizer = classes.get(algorithm, MatrixLexRankSummarizer)(lang.stem)
    if hasattr(summarizer, "stop_words"):
        summarizer.stop_words = lang.stop_words
    if algorithm == "edmundson":
        # Edmundson needs cue words; the headline's words are the story's own bonus words.
        summarizer.null_words = lang.stop_words
        summarizer.bonus_words = [w.lower() for w in words(title)] or ["said"]
        summarizer.stigma_words = ["reportedly", "allegedly", "rumour", "rumor", "unconfirmed"]
    return summarizer


def sumy_ratings(summarizer: Any, document: ObjectDocumentModel) -> dict[Sentence, float]:
    """Every sentence's rating from a sumy summarizer (sumy itself only returns the top ones).

    All of sumy's summarizers end by handing their ratings to ``_get_best_sentences``; an
    instance attribute of that name catches them.
    """
    captured: dict[Sentence, float] = {}

    def capture(sentences: Iterable[Sentence], count: Any, rating: Any, *args: Any, **kw: Any):
        rate = rating.__getitem__ if isinstance(rating, dict) else rating
        for sentence in sentences:  # in order: LSA's rating is an iterator over the sentences
            value = rate(sentence) if isinstance(rating, dict) else rate(sentence, *args, **kw)
            captured[sentence] = float(value)
        return ()

    summarizer._get_best_sentences = capture
    # A story whose sentences share no word makes sumy's power method divide 0 by 0: those
    # ratings come back NaN and count as the lowest, without a warning on the console.
    with np.errstate(divide="ignore", invalid="ignore"):
        summarizer(document, len(document.sentences))
    return {s: (v if math.isfinite(v) else 0.0) for s, v in captured.items()}


def percentiles(values: Sequence[float]) -> list[float]:
    """Rank of each value scaled to [0, 1] (1 = best); ties share their average rank."""
    if len(values) < 2:
        return [1.0] * len(values)
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 / (len(values) - 1)
        i = j + 1
    return ranks


def rank_pool(
    pool: list[Candidate],
    algorithm: str,
    lang: Language,
    title: str,
    spread: dict[str, float],
    n_articles: int,
    weights: Weights,
) -> None:
    """Set each candidate's ``score``: the sumy rating blended with position, votes, length."""
    tokenizer = Tokenizer(lang.name)
    by_article: dict[int, list[Sentence]] = {}
    sentences = [Sentence(c.text, tokenizer) for c in pool]
    for candidate, sentence in zip(pool, sentences, strict=True):
        by_article.setdefault(candidate.article, []).append(sentence)
    heading = Paragraph([Sentence(title or "", tokenizer, is_heading=True)])
    paragraphs = [heading] + [Paragraph(by_article[key]) for key in sorted(by_article)]
    ratings = sumy_ratings(make_summarizer(algorithm, lang, title), ObjectDocumentModel(paragraphs))
    algorithm_scores = percentiles([ratings.get(s, 0.0) for s in sentences])
    for candidate, rating in zip(pool, algorithm_scores, strict=True):
        candidate.score = (
            weights.algorithm * rating
            + weights.coverage * coverage_prior(candidate.terms, spread)
            + weights.position * position_prior(candidate.position)
            + weights.votes * vote_prior(candidate.votes, n_articles)
            + weights.length * length_prior(candidate.length)
        )


def coverage_prior(terms: frozenset[str], spread: dict[str, float]) -> float:
    """Mean spread of a sentence's terms: words the whole story shares are what it is about."""
    if not terms:
        return 0.0
    return sum(spread.get(t, 0.0) for t in terms) / len(terms)


def position_prior(position: int) -> float:
    """1 for an article's lead, falling off: news puts the essentials first."""
    return 1.0 / math.sqrt(1.0 + position)


def vote_prior(votes: int, n_articles: int) -> float:
    """0 for a sentence in one article, 1 when every article carries it."""
    if n_articles < 2:
        return 0.0
    return math.log(votes) / math.log(n_articles)


def length_prior(length: int) -> float:
    """Prefers sentences of a readable news length (about 15-35 words)."""
    if length < 10:
        return -1.0 + length / 10
    if length > 40:
        return -min(1.0, (length - 40) / 30)
    return 0.0


# --- picking ----------------------------------------------------------------------------------


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Cosine similarity of two sets of terms."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


class Objective:
    """What a set of picks is worth: a monotone submodular function (Lin & Bilmes 2011).

    - *centrality*: every sentence of the story (copies included, so wire copy weighs more) is
      covered by the picks in proportion to their TF-IDF cosine, up to a cap: once a sentence's
      content is said, saying it again earns nothing;
    - *diversity*: the candidates fall into topic groups; each group rewards the square root of
      its picks' centrality, so a second pick from one topic is worth less than a first from
      another;
    - *concepts*: the words and bigrams used by at least two articles, each weighted by the share
      of articles that use it, count once when a pick contains them (Gillick & Favre's concepts);
    - *quality*: each pick adds its blended score (sumy's rating, position, votes, length).

    Each part is divided by its value for the whole pool, so the weights compare like with like.
    """

    def __init__(self, pool: list[Candidate], built: Pool, n_articles: int, weights: Weights):
        self.weights = weights
        story = built.story or [c.terms for c in pool]
        vocabulary: dict[str, int] = {}
        for terms in story:
            for term in terms:
                vocabulary.setdefault(term, len(vocabulary))
        frequency = np.zeros(len(vocabulary) + 1)
        for terms in story:
            for term in terms:
                frequency[vocabulary[term]] += 1
        idf = np.log((len(story) + 1) / (frequency + 1)) + 1.0
        sentences = tfidf(story, vocabulary, idf)
        candidates = tfidf([c.terms for c in pool], vocabulary, idf)
        self.similar = products(candidates, sentences)  # candidate x story sentence
        # Each story sentence's cap: SATURATION times its mean similarity to the whole story
        # (the sum of cosines with every sentence is one product with the sum of the rows).
        total = column_sums(sentences)
        self.cap = SATURATION / len(story) * times_vector(sentences, total)
        self.covered = np.zeros(len(story))
        self.reward = self.similar.mean(axis=1)
        self.group = topic_groups(products(candidates, candidates), self.reward)
        self.mass = np.zeros(self.group.max() + 1)
        every = np.bincount(self.group, weights=self.reward)
        self.centrality_scale = float(np.minimum(self.similar.sum(axis=0), self.cap).sum()) or 1.0
        self.diversity_scale = float(np.sqrt(every).sum()) or 1.0
        least = min(2, n_articles)
        spread = {**built.spread, **built.concept_spread}
        self.concept_weights = [
            {
                concept: len(spread[concept]) / n_articles
                for concept in c.concepts
                if len(spread.get(concept, ())) >= least
            }
            for c in pool
        ]
        everything: dict[str, float] = {}
        for found in self.concept_weights:
            everything.update(found)
        self.concept_scale = sum(everything.values()) or 1.0
        self.said: set[str] = set()
        scores = np.array([c.score for c in pool])
        spread_of_scores = float(scores.max() - scores.min()) or 1.0
        self.quality = (scores - scores.min()) / spread_of_scores

    def gains(self, numbers: list[int]) -> np.ndarray:
        """What adding each of the candidates ``numbers`` to the picks would add."""
        w = self.weights
        index = np.array(numbers)
        now = np.minimum(self.covered, self.cap).sum()
        after = np.minimum(self.covered + self.similar[index], self.cap).sum(axis=1)
        centrality = (after - now) / self.centrality_scale
        mass = self.mass[self.group[index]]
        diversity = (np.sqrt(mass + self.reward[index]) - np.sqrt(mass)) / self.diversity_scale
        concepts = np.array(
            [
                sum(v for k, v in self.concept_weights[i].items() if k not in self.said)
                for i in numbers
            ]
        )
        return (
            w.centrality * centrality
            + w.diversity * diversity
            + w.concepts * concepts / self.concept_scale
            + w.quality * self.quality[index]
        )

    def add(self, number: int) -> None:
        self.covered += self.similar[number]
        self.mass[self.group[number]] += self.reward[number]
        self.said.update(self.concept_weights[number])


def tfidf(
    sentences: Sequence[frozenset[str]], vocabulary: dict[str, int], idf: np.ndarray
) -> SparseRows:
    """Unit-length TF-IDF rows (a term counts once per sentence); unknown terms share a column
    (in a summary there are none: the story's sentences hold every candidate's terms).

    The sums are scipy.sparse's, in its order (see ``digest.sparserows``): the summaries are the
    ones scipy made, to the last bit.
    """
    unknown = len(vocabulary)
    columns = np.array(
        [vocabulary.get(t, unknown) for terms in sentences for t in sorted(terms)], dtype=np.int64
    )
    pointers = np.cumsum([0, *(len(terms) for terms in sentences)], dtype=np.int64)
    matrix = SparseRows(pointers, columns, idf[columns], unknown + 1)
    norms = np.sqrt(squared_norms(matrix))
    return scaled(matrix, 1.0 / np.maximum(norms, 1e-12))


def topic_groups(similar: np.ndarray, reward: np.ndarray) -> np.ndarray:
    """Spherical k-means on the candidates' similarities: a group number per candidate.

    Seeds: the most central candidate, then each time the one least like any seed (repeatable).
    """
    size = len(reward)
    k = max(1, min(size, round(CLUSTERS_PER_CANDIDATE * size)))
    seeds = [int(np.argmax(reward))]
    while len(seeds) < k:
        seeds.append(int(np.argmin(similar[:, seeds].max(axis=1))))
    group = similar[:, seeds].argmax(axis=1)
    for _ in range(10):
        # A candidate's dot product with a group's mean vector is its mean similarity to members.
        closeness = np.stack(
            [
                similar[:, group == g].mean(axis=1) if (group == g).any() else similar[:, seed]
                for g, seed in enumerate(seeds)
            ],
            axis=1,
        )
        regrouped = closeness.argmax(axis=1)
        if (regrouped == group).all():
            break
        group = regrouped
    return group


def pick(
    pool: list[Candidate],
    count: int,
    objective: Objective,
    max_words: int | None = None,
) -> list[Candidate]:
    """Greedy: the candidate with the most gain per cost (words ** COST_EXPONENT), never one too
    similar to a pick already made, until ``count`` picks or ``max_words`` words.
    """
    chosen: list[int] = []
    remaining = list(range(len(pool)))
    total_words = 0
    while remaining and len(chosen) < count:
        fresh = [
            i
            for i in remaining
            if all(similarity(pool[i].terms, pool[j].terms) < REDUNDANT_SIMILARITY for j in chosen)
        ]
        if not fresh:
            break
        costs = np.array([max(pool[i].length, 1) for i in fresh], dtype=float) ** COST_EXPONENT
        best = fresh[int(np.argmax(objective.gains(fresh) / costs))]  # the first on a tie
        chosen.append(best)
        objective.add(best)
        remaining.remove(best)
        total_words += pool[best].length
        if max_words is not None and total_words >= max_words:
            break
    return [pool[i] for i in chosen]


# --- the interface ------------------------------------------------------------------------------


def summarize_story(
    articles: Sequence[Article],
    config: SummaryConfig,
    language: str,
    *,
    max_words: int | None = None,
    pool_size: int = POOL_SIZE,
    weights: Weights | None = None,
) -> tuple[SummarySentence, ...]:
    """An extractive summary of the story told by ``articles``: at most ``config.sentences``.

    ``max_words`` also stops picking once that many words are chosen (a benchmark's length limit).
    Same input, same output.
    """
    weights = weights or Weights()
    ordered = reading_order(articles)
    lang = language_tools(language or "english")
    built = build_pool(ordered, lang, pool_size)
    pool = built.candidates
    if not pool:
        return ()
    algorithm = (config.algorithm or "lexrank").lower()
    spread = {term: len(found) / len(ordered) for term, found in built.spread.items()}
    # Only Edmundson reads a heading; finding the central headline costs time on big stories.
    title = story_title(ordered) if algorithm == "edmundson" else ""
    rank_pool(pool, algorithm, lang, title, spread, len(ordered), weights)
    objective = Objective(pool, built, len(ordered), weights)
    chosen = pick(pool, max(1, config.sentences), objective, max_words)
    chosen.sort(key=lambda c: (c.article, c.position))
    return tuple(SummarySentence(full_stop(c.text), ordered[c.article].id) for c in chosen)


def full_stop(sentence: str) -> str:
    """End a sentence with a full stop when its paragraph lost it (pages often drop the lead's)."""
    stripped = sentence.rstrip()
    if stripped and stripped[-1] not in ".!?\"'\u2019\u201d)":
        return stripped + "."
    return stripped


def story_title(articles: Sequence[Article]) -> str:
    """The editor's title of the earliest article that has one, else the most central headline."""
    ordered = reading_order(articles)
    for article in ordered:
        if article.title_given and article.title.strip():
            return article.title.strip()
    central = most_central(ordered)
    for article in [central, *ordered] if central else ordered:
        if article.title.strip():
            return article.title.strip()
    for article in ordered:
        first = split_sentences(article.text or "")
        if first:
            return first[0][:120]
    return "Untitled story"


def most_central(articles: Sequence[Article]) -> Article | None:
    """The article whose words are closest to all the others' (the first one on a tie)."""
    if len(articles) < 3:
        return articles[0] if articles else None
    lang = language_tools("english")
    bags = [content_terms(f"{a.title}\n{a.text[:1500]}", lang) for a in articles]
    totals = [
        sum(similarity(bag, other) for j, other in enumerate(bags) if j != i)
        for i, bag in enumerate(bags)
    ]
    best = max(range(len(articles)), key=lambda i: (totals[i], -i))
    return articles[best]
