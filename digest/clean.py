"""Page furniture out, the article's own text kept.

Interface (build.py relies on it):
- ``clean_article(article: Article) -> Article``: per-article cleaning of body and text.
- ``remove_recurring_lines(articles: Sequence[Article]) -> list[Article]``: corpus pass: a line
  that recurs in several articles of one source is that source's furniture. Same order out as in.

Cleaning is line-wise, so body and text stay consistent: a line is judged on its plain form and
dropped from both. Plain-text articles (pages copied from a browser) also go through a main-text
block finder; Markdown articles are written by someone on purpose and only lose lines that are
furniture by themselves (promo, embeds, bare URLs, repeats). Every regex is precompiled and applied
to one line at a time, anchored or bounded, so cleaning is linear in the text's length.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import PurePosixPath
from typing import Any, Protocol

from digest.model import Article
from digest.text import normalize, words

# --------------------------------------------------------------------------- line rules

_ELLIPSIS_END = re.compile(r"(?:\.\.\.|\u2026)\s*$")
_BARE_URL = re.compile(r"^(?:<?(?:https?://|www\.)\S+>?\s*)+$", re.IGNORECASE)
_ONLY_TAGS = re.compile(r"^(?:[#@][\w.]+[\s,;|]*)+$")
_EMBED_RESIDUE = re.compile(
    r"pic\.twitter\.com/|https?://t\.co/|\(@\w{1,15}\)\s*(?:[A-Z][a-z]+\s+\d{1,2},\s+\d{4})?\s*$"
    r"|^[\u2014\u2013-]\s*[^()]{1,80}\(@\w{1,15}\)",
)
_DATE_ONLY = re.compile(
    r"^(?:[A-Z][a-z]+\.?\s+\d{1,2},\s+\d{4}|\d{1,2}\s+[A-Z][a-z]+\.?\s+\d{4})\.?$",
)
_TIME_START = re.compile(r"^\d{1,2}[:.]\d{2}\b")
_HASHTAG = re.compile(r"(?:^|\s)#[A-Za-z]\w+")
_HANDLE = re.compile(r"(?:^|\s)@\w{2,15}\b")

# Lines that begin like a pointer to elsewhere.
_POINTER_START = re.compile(
    r"^(?:read more|read also|also read|read next|more information|more info|related(?: stories"
    r"| articles| news| coverage)?|see also|recommended(?: for you)?|click here|tap here"
    r"|more from|more on this|you may also like|you might also like|trending now|most read"
    r"|watch|listen|editor'?s picks?|top stories|latest news|more stories|don'?t miss)\b",
    re.IGNORECASE,
)
# Words that make a line an advertisement for the site itself...
_PROMO_WORDS = re.compile(
    r"\b(?:subscribe|subscription|newsletters?|sign up|signup|sign in|log in|register"
    r"|daily email|daily dose|inbox|publish news|news release|press release to|download (?:the|our)"
    r"|our app|app store|google play|follow us|like us|join us|cookies?|privacy policy"
    r"|terms of (?:use|service)|all rights reserved|advertis\w*|sponsored|unlimited access"
    r"|free trial|paywall|whatsapp|telegram channel)\b",
    re.IGNORECASE,
)
# ...but only when it also speaks to the reader in the imperative or the site speaks of itself
# ("you" alone is not enough: articles address readers all the time).
_IMPERATIVE = (
    r"^(?:get|sign|subscribe|join|follow|like|click|tap|download|publish|share|register|stay"
    r"|never miss|don'?t miss|submit|enter|receive|support|become|try|accept|continue|read|watch"
    r"|listen|learn more|find out more)\b"
)
_SITE_VOICE = (
    r"\bwe use\b|\byour inbox\b|\bby (?:continuing|using)\b"
    r"|\bour (?:\w+ )?(?:newsletters?|app|site|website|email|emails|journalism|reporting|"
    r"subscribers?|members?|cookie|privacy|terms|partners|sponsors?|daily|weekly)\b"
)
_PROMO_VOICE = re.compile(f"{_IMPERATIVE}|{_SITE_VOICE}", re.IGNORECASE)
_SITE_VOICE_RE = re.compile(_SITE_VOICE, re.IGNORECASE)
# "Sign up"/"subscribe" alone: a promo when it is for what the site sends or sells; "Sign up for
# a Hulu ad-free account" or "Register for the marathon by Friday" is the article's own advice.
_SIGNUP_WORD = re.compile(
    r"^(?:sign ?up|subscribe|subscription|register|sign in|log in)$", re.IGNORECASE
)
_SITE_OFFER = re.compile(
    r"\b(?:newsletters?|(?:daily|weekly|morning|evening|free) e-?mails?|inbox|updates|news"
    r"|alerts|notifications|channel|podcasts?|magazine|edition|our|us|here|now|today"
    r"|stay (?:smart|informed|up to date|connected|tuned))\b",
    re.IGNORECASE,
)
_PROMO_MAX_WORDS = 40
_QUOTE_START = re.compile(r"^[\"'\u201c\u2018\u00ab]")
_SHARE_BAR = re.compile(
    r"^(?:share(?: this)?(?: article| story| on)?|tweet|email|e-mail|print|copy link|comments?"
    r"|facebook|twitter|x|linkedin|reddit|pinterest|whatsapp|telegram|flipboard|messenger"
    r"|advertisement|sponsored(?: content)?|story continues below(?: advertisement)?|ad"
    r"|skip to (?:main )?content|back to top|menu|search|close|home|loading\W*)"
    r"(?:[\s,|/\u00b7\u2022]+(?:facebook|twitter|x|linkedin|reddit|pinterest|whatsapp|email"
    r"|e-mail|print|telegram|copy link|share))*\W*$",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"^(?:\u00a9|\(c\)|copyright\b)|\ball rights reserved\b", re.IGNORECASE)
_COPYRIGHT_MARKS = ("\u00a9", "(c)", "copyright", "all rights reserved")
# A fragment of every word or phrase _PROMO_WORDS matches (lowercased).
_PROMO_MARKS = (
    "subscri", "newsletter", "sign", "log in", "register", "daily ", "inbox", "publish news",
    "news release", "press release to", "download ", "our app", "app store", "google play",
    "follow us", "like us", "join us", "cookie", "privacy policy", "terms of ",
    "all rights reserved", "advertis", "sponsored", "unlimited access", "free trial", "paywall",
    "whatsapp", "telegram channel",
)  # fmt: skip
_GLUED_POINTER = re.compile(r"^(?:More Information|Read More|Related|Also Read)(?=[A-Z0-9])")
_AGENCY_LEAD = re.compile(r"^[A-Z][^:()]{0,60}\([A-Z]{2,8}\)\s*[:\-\u2013\u2014]")
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*$")


# The rules and the main-block finder ask about the same lines again and again (and furniture
# lines repeat across a source's pages): pure functions of a line, remembered per process.
@functools.lru_cache(maxsize=1 << 16)
def _word_count(line: str) -> int:
    return len(words(line))


def is_promo(line: str) -> bool:
    """Self-advertisement of the site: subscribe, newsletter, cookies, "publish news of your
    business". A sentence that merely mentions a newsletter is not enough: the line must also
    address the reader (imperative, you/your/our), or be short."""
    lowered = line.lower()
    # The two patterns are slow (alternations under IGNORECASE): most lines hold none of the
    # fragments any of their matches must contain, and are let through after a substring test.
    copyright_mark = any(mark in lowered for mark in _COPYRIGHT_MARKS)
    if copyright_mark and _COPYRIGHT.search(line) and _word_count(line) <= 30:
        return True
    promo = any(mark in lowered for mark in _PROMO_MARKS)
    if not promo or not _PROMO_WORDS.search(line) or _QUOTE_START.match(line):
        return False
    count = _word_count(line)
    if count <= 6:
        return True
    if count > _PROMO_MAX_WORDS or not _PROMO_VOICE.search(line):
        return False
    signup_only = all(_SIGNUP_WORD.match(w) for w in _PROMO_WORDS.findall(line))
    if signup_only and not _SITE_VOICE_RE.search(line):
        return bool(_SITE_OFFER.search(line))
    return True


def is_embed_residue(line: str) -> bool:
    """What is left of a tweet/post embed when a page is copied as text."""
    return bool(_EMBED_RESIDUE.search(line) or _ONLY_TAGS.match(line))


_RESIDUE_TOKENS = re.compile(
    r"\s*(?:pic\.twitter\.com/\w+|https?://t\.co/\w+\u2026?)"
    r"|\s*[\u2014\u2013]\s*[^()\u2014\u2013]{1,80}\(@\w{1,15}\)\s*(?:[A-Z][a-z]+\s+\d{1,2},\s+\d{4})?\s*$"
)


_CREDIT_END = re.compile(r"\s+(?:by|via|h/t)\s+@\w{1,15}\s*$", re.IGNORECASE)
_CUT_END = re.compile(r"(?:\.\.\.|\u2026|\s[-\u2013\u2014|])\s*$")


def strip_embed_residue(line: str) -> str:
    """A quoted post's own words with the embed's links, credit and signature taken off, when
    what is left reads as the post's text: eight words or more, no hashtags, not cut short
    ("...") nor a headline in front of its link ("Headline - link"); otherwise the line
    unchanged (it goes as residue). Posts often end without a full stop: no need for one."""
    if not _EMBED_RESIDUE.search(line):
        return line
    rest = _CREDIT_END.sub("", _RESIDUE_TOKENS.sub("", line)).strip()
    if (
        _word_count(rest) >= 8
        and not _CUT_END.search(rest)
        and not _HASHTAG.search(rest)
        and not _EMBED_RESIDUE.search(rest)
    ):
        return rest
    return line


def _embed_context(line: str) -> bool:
    """Lines that belong to an embed block when they sit right before its residue line."""
    return bool(
        _DATE_ONLY.match(line)
        or _TIME_START.match(line)
        or _HASHTAG.search(line)
        or _HANDLE.search(line)
    )


def is_teaser(line: str) -> bool:
    """A truncated lead of another story: it ends in an ellipsis that cuts a sentence."""
    if not _ELLIPSIS_END.search(line):
        return False
    return _word_count(line) >= 5


def _strong_teaser(line: str) -> bool:
    """A teaser that also shows another story's marks: a pointer word or an agency dateline."""
    return is_teaser(line) and bool(
        _GLUED_POINTER.match(line) or _POINTER_START.match(line) or _AGENCY_LEAD.match(line)
    )


@functools.lru_cache(maxsize=1 << 16)
def is_furniture_line(line: str) -> bool:
    """A line that is furniture wherever it stands."""
    stripped = line.strip()
    if not stripped:
        return False
    return bool(
        _BARE_URL.match(stripped)
        or is_embed_residue(stripped)
        or _SHARE_BAR.match(stripped)
        or is_promo(stripped)
        or _strong_teaser(stripped)
        or (_POINTER_START.match(stripped) and _word_count(stripped) <= 12)
        or _GLUED_POINTER.match(stripped)
    )


# --------------------------------------------------------------------------- one article


def furniture_mask(
    lines: Sequence[str],
    *,
    find_block: bool,
    trace: Callable[[str, list[bool]], None] | None = None,
) -> list[bool]:
    """For each line, True when it is page furniture. ``lines`` are plain text, one per line.
    ``trace`` (diagnostics) sees the mask after each step, by the step's name."""
    drop = [is_furniture_line(line) for line in lines]
    steps: list[tuple[str, Callable[[Sequence[str], list[bool]], object]]] = [
        ("line-rule", lambda _lines, _drop: None),
        ("embed-block", _mark_embed_blocks),
        ("teaser-run", _mark_teaser_runs),
        ("trailing-teaser", _mark_trailing_block),
    ]
    repeats: list[int] = []
    steps.append(("repeat", lambda lines_, drop_: repeats.extend(_mark_repeats(lines_, drop_))))
    if find_block:
        steps.append(
            ("outside-main-block", lambda l_, d_: _mark_outside_main_block(l_, d_, repeats))
        )
    for name, step in steps:
        step(lines, drop)
        if trace is not None:
            trace(name, drop)
    return drop


def _mark_embed_blocks(lines: Sequence[str], drop: list[bool]) -> None:
    """An embed's residue line takes the short context lines just before it (its text, date)."""
    for index, line in enumerate(lines):
        if not is_embed_residue(line.strip()):
            continue
        back = index - 1
        while back >= 0 and index - back <= 4 and _embed_context(lines[back].strip()):
            drop[back] = True
            back -= 1


def _mark_teaser_runs(lines: Sequence[str], drop: list[bool]) -> None:
    """Two or more teaser lines in a row are a list of other stories, unless the article's
    running text goes on around them: a paragraph before, a sentence after ("The next big
    challenge is ..." / "...here's the next one ..." / "Becoming a visible leader.")."""
    start = 0
    while start < len(lines):
        end = start
        while end < len(lines) and is_teaser(lines[end]):
            end += 1
        if end - start >= 2 and not _inside_running_text(lines, drop, start, end):
            for index in range(start, end):
                drop[index] = True
        start = max(end, start + 1)


def _inside_running_text(lines: Sequence[str], drop: list[bool], start: int, end: int) -> bool:
    if start == 0 or end >= len(lines) or drop[start - 1] or drop[end]:
        return False
    after = lines[end]
    return (
        _line_score(lines[start - 1]) >= _RUNNING_TEXT
        and bool(_SENTENCE_END.search(after))
        and _word_count(after) >= 5
        and not is_teaser(after)
    )


def _mark_trailing_block(lines: Sequence[str], drop: list[bool]) -> None:
    """After the article: a block made only of furniture and teasers goes whole, a lone trailing
    teaser too when the block before it is already furniture."""
    index = len(lines) - 1
    while index >= 0 and (drop[index] or not lines[index].strip()):
        index -= 1
    if index >= 0 and is_teaser(lines[index]) and index + 1 < len(lines):
        drop[index] = True


def _mark_repeats(lines: Sequence[str], drop: list[bool]) -> list[int]:
    """A line that repeats an earlier line goes; returns the lines it dropped."""
    seen: set[str] = set()
    marked = []
    for index, line in enumerate(lines):
        key = normalize(line).lower()
        if not _word_count(key):  # a blank-looking line (zero-width spaces) is no repeat
            continue
        if key in seen and not drop[index]:
            drop[index] = True
            marked.append(index)
        seen.add(key)
    return marked


# ---- main-text block finder (plain-text pages)

_LINKISH = re.compile(r"[|\u00bb\u203a>]|https?://|\bwww\.")
# Marks that close a pair opened in the same line quote or bracket a title (French «…», German
# »…«, Korean <…> and ‹…>); only a lone one is a breadcrumb separator.
_PAIRED = re.compile(
    "\u00ab[^\u00ab\u00bb]*\u00bb|\u00bb[^\u00ab\u00bb]*\u00ab|[<\u2039][^<>\u2039\u203a]*[>\u203a]"
)


_RUNNING_TEXT = 10.0  # a line score this high is a sentence of ten words or more


def _line_score(line: str) -> float:
    """Positive for running text, negative for the short bits of page chrome around it."""
    count = _word_count(line)
    if count == 0:
        return 0.0
    sentence = bool(_SENTENCE_END.search(line)) or count >= 25
    links = len(_LINKISH.findall(_PAIRED.sub(" ", line)))
    if count >= 10 and sentence and links <= 1:
        return float(count)
    if count >= 20 and links <= 2:
        return count / 2
    if sentence and count >= 5:
        return 1.0
    return -2.0 - min(count, 8) / 2


def _mark_outside_main_block(
    lines: Sequence[str], drop: list[bool], repeats: Sequence[int] = ()
) -> None:
    """Keep the densest contiguous run of content lines (a maximum-sum segment over line scores,
    furniture already marked counting as chrome); lines outside it are the page around the
    article. Short lines inside it (subheadings, captions) stay. A sentence dropped only as a
    repeat counts as neither text nor chrome: a meal plan, a chorus or a table repeating its
    own rows is still one article, while a menu's second copy (short lines) stays chrome."""
    copies = set(repeats)
    scores = [
        _line_score(line)
        if not drop[i]
        else (0.0 if i in copies and _line_score(line) > 0 else -3.0)
        for i, line in enumerate(lines)
    ]
    best_sum, best = 0.0, (0, 0)
    run_sum, run_start = 0.0, 0
    for index, score in enumerate(scores):
        if run_sum <= 0:
            run_sum, run_start = 0.0, index
        run_sum += score
        if run_sum > best_sum:
            best_sum, best = run_sum, (run_start, index + 1)
    if best_sum < 30:  # too little running text to tell article from page: leave it be
        return
    start, end = _widen_block(lines, drop, *best)
    end = _extend_over_lists(lines, drop, _finish_sentence(lines, drop, end))
    if end < len(lines) and _closes_story(lines[end - 1], lines[end]):
        drop[end] = False
        end += 1
    for index in range(len(lines)):
        if not start <= index < end:
            drop[index] = True
    _keep_only_copy(lines, drop, repeats, start, end)
    _keep_cited_links(lines, drop, start, end)


_MID_SENTENCE_END = re.compile(r"(?:(?<![.@/])\b[a-z]+|,)$")
_SENTENCE_TAIL_LINES = 4
_SENTENCE_TAIL_WORDS = 12


def _finish_sentence(lines: Sequence[str], drop: list[bool], end: int) -> int:
    """When the block's last line stops mid-sentence ("...easily outpacing the"), the short
    lines after it up to the one that ends the sentence are its rest (link texts a copy put on
    lines of their own: "Dow Jones Industrial Average" / "and" / "S&P 500" / "over the span.").
    A line ending in an address ("name@example.com", "twitter.com/name") is not cut short."""
    if not end or not _MID_SENTENCE_END.search(lines[end - 1]):
        return end
    for index in range(end, min(end + _SENTENCE_TAIL_LINES, len(lines))):
        if drop[index] or _word_count(lines[index]) > _SENTENCE_TAIL_WORDS:
            return end
        if _SENTENCE_END.search(lines[index]):
            return index + 1
    return end


def _keep_cited_links(lines: Sequence[str], drop: list[bool], start: int, end: int) -> None:
    """A bare link under a list item, or with a title next to it inside the article's text, is
    the item's link or a source the article cites ("Fatwa on insults / http://..."): it stays.
    A bare link between two paragraphs (what is left of an embed), above or below the article,
    or next to chrome (a one-word label, a share bar) still goes."""

    def text(index: int) -> bool:
        line = lines[index]
        return not drop[index] and (_word_count(line) >= 4 or _list_mark(line) is not None)

    def label(index: int) -> bool:
        line = lines[index]
        title = _word_count(line) <= 12 and not _SENTENCE_END.search(line)
        return title or _list_mark(line) is not None

    for index in range(start + 1, end):
        if not drop[index] or not _BARE_URL.match(lines[index].strip()):
            continue
        under_item = not drop[index - 1] and _list_mark(lines[index - 1]) is not None
        cited = index + 1 < end and text(index - 1) and text(index + 1)
        if under_item or (cited and (label(index - 1) or label(index + 1))):
            drop[index] = False


# A list item's mark: "3)" / "3." numbering, a "June 9" date, or a bullet.
_LIST_MARK = re.compile(
    r"^(?:(?P<num>\d{1,3})(?P<suffix>[.)])\s"
    r"|(?P<month>(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?)\s+\d{1,2}\b"
    r"|(?P<bullet>[*\u2022\u00b7\u25aa\u25cf])\s?)",
    re.IGNORECASE,
)
_LIST_MIN_ITEMS = 3
_LIST_HEADING_MAX_WORDS = 10


def _list_mark(line: str) -> tuple[str, int] | None:
    """The kind of list mark ``line`` starts with and its number (0 when unnumbered)."""
    match = _LIST_MARK.match(line)
    if match is None:
        return None
    if match["num"]:
        return "num" + match["suffix"], int(match["num"])
    return ("month", 0) if match["month"] else ("bullet" + match["bullet"], 0)


def _extend_over_lists(lines: Sequence[str], drop: list[bool], end: int) -> int:
    """Grow the block's end over a list that continues the article: at least three items in a
    row with the same mark (numbers counting up by one; tour dates; bullets), whatever their
    length, with at most a short heading before them and a bare link under each item.
    Lists of other stories come under a pointer ("Related", "Most read") that a line rule
    already dropped, so they never touch the block."""
    while True:
        index = end - 1 if end and _list_mark(lines[end - 1]) else end
        index = _skip_wordless(lines, index)
        if (
            index < len(lines)
            and not drop[index]
            and not _list_mark(lines[index])
            and _word_count(lines[index]) <= _LIST_HEADING_MAX_WORDS
            and not _SENTENCE_END.search(lines[index])
        ):
            index = _skip_wordless(lines, index + 1)  # the list's heading
        run_end, items, previous = index, 0, None
        while index < len(lines) and not drop[index] and (mark := _list_mark(lines[index])):
            kind, number = mark
            if previous is not None and (
                kind != previous[0] or number != previous[1] + (number > 0)
            ):
                break
            previous, items, run_end = mark, items + 1, index + 1
            index = _skip_wordless(lines, index + 1)
            if index < len(lines) and drop[index] and _BARE_URL.match(lines[index].strip()):
                run_end = index + 1  # the item's link
                index = _skip_wordless(lines, index + 1)
        if items < _LIST_MIN_ITEMS or run_end <= end:
            return end
        end = run_end


def _skip_wordless(lines: Sequence[str], index: int) -> int:
    while index < len(lines) and not _word_count(lines[index]):
        index += 1
    return index


def _keep_only_copy(
    lines: Sequence[str], drop: list[bool], repeats: Sequence[int], start: int, end: int
) -> None:
    """A sentence of the block dropped as a repeat of a line outside the block (a standfirst
    above the article, repeated in it) is the article's only copy of it: it stays."""
    kept = {normalize(lines[i]).lower() for i in range(start, end) if not drop[i]}
    for index in repeats:
        key = normalize(lines[index]).lower()
        if start <= index < end and key not in kept and _line_score(lines[index]) > 0:
            drop[index] = False
            kept.add(key)


_EDGE_MIN_WORDS = 6
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")


def _closes_story(last: str, line: str) -> bool:
    """A rights line right under the article's last paragraph closes the story ("(c) 2019 The
    Associated Press. All rights reserved. This material may not be published..."): it is the
    story's own credit. The site's copyright down in the footer, after menus, is not."""
    return (
        _line_score(last) >= _RUNNING_TEXT
        and bool(_COPYRIGHT.search(line))
        and _word_count(line) <= 30
        and not _PROMO_VOICE.search(line)
        and not is_embed_residue(line)
        and not _BARE_URL.match(line)
    )


def _widen_block(lines: Sequence[str], drop: list[bool], start: int, end: int) -> tuple[int, int]:
    """Grow the block over neighbouring lines of six words or more that no rule called furniture
    (a headline above, a caption or credit line below, a list continuing the text), stepping over
    at most one very short line or copy of a block line between them; lines without a word
    (stray marks, zero-width spaces) are stepped over freely. Another story's teaser ("...") is
    never the article's edge. Below the article a line with an e-mail address fits whatever its
    length: the writer's contact line that closes a story ("Columnist Park pillgoo9@..."),
    usually followed by a photo credit and the story's rights line."""

    def fits(index: int, step: int) -> bool:
        line = lines[index]
        if drop[index] or is_teaser(line):
            return False
        return _word_count(line) >= _EDGE_MIN_WORDS or (step > 0 and bool(_EMAIL.search(line)))

    # a copy of one of the block's own lines (a caption the article repeats) is no fence
    own = {
        normalize(line).lower()
        for line in lines[start:end]
        if _word_count(line) >= 4 and not is_furniture_line(line)
    }

    def skippable(index: int) -> bool:
        if not drop[index]:
            return _word_count(lines[index]) <= 3
        return normalize(lines[index]).lower() in own

    def walk(index: int, step: int, edge: int) -> int:
        gap = False
        while 0 <= index < len(lines):
            if fits(index, step):
                edge, gap = index, False
            elif _word_count(lines[index]) and (gap or not skippable(index)):
                break
            elif _word_count(lines[index]):
                gap = True
            index += step
        return edge

    return walk(start - 1, -1, start), walk(end, 1, end - 1) + 1


# ---- applying a mask to an article

_MD_PREFIX = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d{1,9}[.)]\s+)*")
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_MD_EMPHASIS = re.compile(r"[*_`~]+")
_FENCE = re.compile(r"^\s{0,3}(?:```|~~~)")


def markdown_line_plain(line: str) -> str:
    """A Markdown source line's plain words, close enough to judge it line by line."""
    line = _MD_PREFIX.sub("", line)
    line = _MD_LINK.sub(r"\1", line)
    return _MD_EMPHASIS.sub("", line).strip()


def _clean_markdown_body(body: str, judge: Callable[[str], bool]) -> str:
    """Drop the body lines ``judge`` calls furniture, leaving code fences and blank lines (the
    paragraph structure) alone; runs of blank lines collapse."""
    out: list[str] = []
    in_fence = False
    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and line.strip() and judge(markdown_line_plain(line)):
            continue
        if not line.strip() and out and not out[-1].strip() and not in_fence:
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + ("\n" if any(s.strip() for s in out) else "")


def clean_article(article: Article) -> Article:
    """The article with page furniture removed from its text and body."""
    text_lines = [line for line in article.text.split("\n") if line.strip()]
    if article.format == "text":
        text_lines = [strip_embed_residue(line) for line in text_lines]
    mask = furniture_mask(text_lines, find_block=article.format == "text")
    kept = [line for line, dropped in zip(text_lines, mask, strict=True) if not dropped]
    if not kept:  # never empty an article: furniture is a guess, the text is the user's
        return article
    text = "\n".join(kept)
    if article.format == "text":
        return article.replace(body=text, text=text)
    dropped = {normalize(line).lower() for line, d in zip(text_lines, mask, strict=True) if d}
    kept_keys = {normalize(line).lower() for line in kept}
    seen: set[str] = set()

    def judge(plain: str) -> bool:
        key = normalize(plain).lower()
        if not key:
            return False
        repeated = key in seen
        seen.add(key)
        if key in kept_keys and not repeated:
            return False
        return key in dropped or is_furniture_line(plain)

    return article.replace(body=_clean_markdown_body(article.body, judge), text=text)


# --------------------------------------------------------------------------- corpus pass

RECURRING_MIN_ARTICLES = 3
_SHORTISH_WORDS = 25
_NEAR_DUP_SHARE = 0.5  # articles sharing this share of their lines are copies of one story
_PAIR_INDEX_CAP = 200  # lines in more articles than this are never story text: skip in pairing


def _group_key(article: Article) -> str:
    if article.source:
        return _source_key(article.source)
    parts = PurePosixPath(article.path).parts
    return "folder:" + (parts[0] if len(parts) > 1 else "")


@functools.lru_cache(maxsize=4096)
def _source_key(source: str) -> str:
    """By the outlet's name as written: thousands of articles share a few dozen names."""
    return "source:" + normalize(source).lower()


def _line_keys(article: Article) -> list[str]:
    return [normalize(line).lower() for line in article.text.split("\n") if line.strip()]


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _near_duplicate_groups(line_sets: list[set[str]], index: dict[str, list[int]]) -> _UnionFind:
    """Join articles that share at least half of their lines: the same story republished.
    Pairs are found through the line index, so only articles that share a line are compared."""
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for members in index.values():
        if len(members) < 2 or len(members) > _PAIR_INDEX_CAP:
            continue
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                shared[(a, b)] += 1
    groups = _UnionFind(len(line_sets))
    for (a, b), count in shared.items():
        smaller = min(len(line_sets[a]), len(line_sets[b]))
        if smaller and count >= _NEAR_DUP_SHARE * smaller:
            groups.union(a, b)
    return groups


def _recurring_in_group(articles: list[Article]) -> set[str]:
    """Lines of one source recurring in at least ``RECURRING_MIN_ARTICLES`` distinct stories."""
    line_sets = [set(_line_keys(article)) for article in articles]
    index: dict[str, list[int]] = defaultdict(list)
    for position, keys in enumerate(line_sets):
        for key in keys:
            index[key].append(position)
    candidates = {k: m for k, m in index.items() if len(m) >= RECURRING_MIN_ARTICLES}
    if not candidates:
        return set()
    groups = _near_duplicate_groups(line_sets, index)
    furniture: set[str] = set()
    for key, members in candidates.items():
        stories = {groups.find(member) for member in members}
        if len(stories) < RECURRING_MIN_ARTICLES:
            continue  # the same story's text, copied: content
        if len(key.split()) <= _SHORTISH_WORDS or is_promo(key) or is_teaser(key):
            furniture.add(key)
    return furniture


def _remove_lines(article: Article, furniture: set[str]) -> Article:
    lines = [line for line in article.text.split("\n") if line.strip()]
    kept = [line for line in lines if normalize(line).lower() not in furniture]
    if len(kept) == len(lines) or not kept:
        return article
    text = "\n".join(kept)
    if article.format == "text":
        return article.replace(body=text, text=text)

    def judge(plain: str) -> bool:
        return normalize(plain).lower() in furniture

    return article.replace(body=_clean_markdown_body(article.body, judge), text=text)


# group key -> (the group's input articles, their cleaned versions) from the previous call. A
# long-lived process (``digest serve``) passes the same Article objects again for every group
# whose files did not change; comparing them by identity is free, recomputing is not. The memo
# holds references to them, so an identity can never be reused by another object meanwhile.
_GROUP_MEMO: dict[str, tuple[list[Article], list[Article]]] = {}


class GroupCache(Protocol):
    """Where a group's finding is kept between processes (``cache.JsonCache``)."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any) -> None: ...


def _group_digest(key: str, group: list[Article]) -> str:
    """A group's articles are the same when their paths and file bytes are: the cache key."""
    h = hashlib.sha256(key.encode("utf-8", "surrogatepass"))
    names = "".join([f"\0{article.path}\0{article.content_hash}" for article in group])
    h.update(names.encode("utf-8", "surrogatepass"))  # one update: the same bytes, fed at once
    return h.hexdigest()


def _cleaned_group(group: list[Article], key: str, cache: GroupCache | None) -> list[Article]:
    """The group with its recurring lines removed, the finding taken from ``cache`` when known.

    Finding the lines reads every line of every article of the source; a new process after
    one edit would do it again for every source. The cache keeps the lines found and which
    articles held one, so only those are cleaned again. Articles without a content hash (made
    in memory, not read from a file) are never looked up.
    """
    hashed = cache is not None and all(a.content_hash for a in group)
    digest = _group_digest(key, group) if hashed else None
    entry = cache.get(digest) if cache is not None and digest else None
    try:
        lines, touched = entry["lines"], entry["touched"]  # type: ignore[index]
        if not (
            isinstance(lines, list)
            and isinstance(touched, list)
            and all(isinstance(line, str) for line in lines)
            and all(isinstance(i, int) and 0 <= i < len(group) for i in touched)
        ):
            raise ValueError("not an entry of this cache")
        furniture = set(lines)
    except (TypeError, KeyError, ValueError):  # none yet, or damaged: a miss
        furniture = _recurring_in_group(group)
        cleaned = [_remove_lines(a, furniture) for a in group] if furniture else group
        if cache is not None and digest:
            touched = [i for i, (a, b) in enumerate(zip(group, cleaned, strict=True)) if a is not b]
            cache.put(digest, {"lines": sorted(furniture), "touched": touched})
        return cleaned
    cleaned = list(group)
    for i in touched:
        cleaned[i] = _remove_lines(group[i], furniture)
    return cleaned


def remove_recurring_lines(
    articles: Sequence[Article], cache: GroupCache | None = None
) -> list[Article]:
    """Remove each source's recurring furniture lines. Same order and length out as in."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for position, article in enumerate(articles):
        by_group[_group_key(article)].append(position)
    out = list(articles)
    memo: dict[str, tuple[list[Article], list[Article]]] = {}
    for key, positions in by_group.items():
        if len(positions) < RECURRING_MIN_ARTICLES:
            continue
        group = [articles[p] for p in positions]
        previous = _GROUP_MEMO.get(key)
        if (
            previous is not None
            and len(previous[0]) == len(group)
            and all(a is b for a, b in zip(previous[0], group, strict=True))
        ):
            cleaned = previous[1]
        else:
            cleaned = _cleaned_group(group, key, cache)
        memo[key] = (group, cleaned)
        for position, article in zip(positions, cleaned, strict=True):
            out[position] = article
    _GROUP_MEMO.clear()
    _GROUP_MEMO.update(memo)
    return out
