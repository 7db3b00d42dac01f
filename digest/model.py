"""The data that flows through the pipeline.

Every stage takes these plain, frozen values and returns new ones; no stage mutates what an earlier
stage produced. Keeping them frozen (and made only of str, tuples, dates) is also what lets them be
pickled into the cache and sent to worker processes unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

Format = Literal["markdown", "text"]


@dataclass(frozen=True)
class Article:
    """One article file from content/.

    ``body`` is what a reader sees on the article's local page, in the file's own format
    (Markdown for ``.md``, plain text with one paragraph per line for ``.txt``). ``text`` is the
    same content as plain text, one paragraph per line: what clustering and summarizing read.
    After ``ingest`` both hold the raw article; after ``clean`` the page furniture is removed.
    """

    id: str  # stable: derived from ``path``, safe in URLs and HTML ids
    path: str  # POSIX path relative to content/
    format: Format
    title: str  # never empty: the given title, else a headline made from the text
    title_given: bool  # True when the title came from front matter (an editor's word)
    body: str
    text: str
    source: str | None = None  # outlet or agency name
    url: str | None = None  # the original, http(s) only
    published: datetime | None = None  # timezone-aware; None when the article carries no date
    story: str | None = None  # editor's pin: articles with the same value form one story
    lang: str | None = None
    tags: tuple[str, ...] = ()
    content_hash: str = ""  # hash of the file's bytes: the cache key of per-file work

    def replace(self, **changes: object) -> Article:
        return dataclasses.replace(self, **changes)

    def __getattr__(self, name: str) -> str:
        # Called only for an attribute the article lacks: one the file store made leaves its
        # ``text`` and ``body`` in the store's log until something reads them (a one-article
        # edit reads a few hundred of 6,000; ``filestore``).
        if name == "text" or name == "body":
            span = self.__dict__.get("_texts")
            if span is not None:  # (log, positions): see filestore.Span
                values = self.__dict__
                values["text"], values["body"] = span[0].texts(span)
                return values[name]  # type: ignore[no-any-return]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self) -> dict[str, object]:
        """Its fields, texts included, for pickling (to a worker process): not where the file
        store keeps them, which the other process may not have open."""
        return {f.name: getattr(self, f.name) for f in _ARTICLE_FIELDS}


@dataclass(frozen=True, repr=False)
class SummarySentence:
    text: str
    article: str  # id of the article the sentence was taken from

    def __repr__(self) -> str:
        # The dataclass's own repr, without its guard against recursion (two strings cannot
        # recurse): the page record digests every story's sentences by their repr.
        return f"SummarySentence(text={self.text!r}, article={self.article!r})"


@dataclass(frozen=True)
class Story:
    """Articles that report the same story, oldest first, with the story's summary."""

    id: str
    articles: tuple[Article, ...]
    title: str = ""
    summary: tuple[SummarySentence, ...] = ()
    day: date | None = None  # the site-timezone day of the earliest dated article

    def replace(self, **changes: object) -> Story:
        return dataclasses.replace(self, **changes)


_ARTICLE_FIELDS = dataclasses.fields(Article)


@dataclass(frozen=True)
class Day:
    """One digest page: the stories that belong to one date, most sources first."""

    day: date
    stories: tuple[Story, ...]
    previous: date | None = None
    next: date | None = None


@dataclass(frozen=True)
class Site:
    """Everything render needs: days newest first, plus stories no date could be found for."""

    days: tuple[Day, ...]
    undated: tuple[Story, ...] = ()
    generated: datetime | None = None  # newest article time: keeps output reproducible
