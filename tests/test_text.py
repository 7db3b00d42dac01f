"""The sentence splitter and word tokenizer on the cases news copy throws at them."""

from __future__ import annotations

import pytest

from digest.text import Tokenizer, normalize, split_sentences, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Smith met Dr. Jones. They talked.",
            ["Mr. Smith met Dr. Jones.", "They talked."],
        ),
        (
            "Gov. George W. Bush and Sen. Ted Kennedy spoke. Rep. Hyde replied.",
            ["Gov. George W. Bush and Sen. Ted Kennedy spoke.", "Rep. Hyde replied."],
        ),
        ("J. K. Rowling wrote it. It sold.", ["J. K. Rowling wrote it.", "It sold."]),
        ("The U.S. economy grew. Bonds fell.", ["The U.S. economy grew.", "Bonds fell."]),
        (
            "It was approved in the U.S. The vote was close.",
            ["It was approved in the U.S.", "The vote was close."],
        ),
        ("Talks start at 3 p.m. Eastern time.", ["Talks start at 3 p.m. Eastern time."]),
        (
            "Talks ended at 5 p.m. The rest is Monday.",
            ["Talks ended at 5 p.m.", "The rest is Monday."],
        ),
        (
            "It opens on Jan. 5 in St. Petersburg. Crowds came.",
            ["It opens on Jan. 5 in St. Petersburg.", "Crowds came."],
        ),
        (
            "He lives at No. 10 Downing Street. Guards stand outside.",
            ["He lives at No. 10 Downing Street.", "Guards stand outside."],
        ),
        (
            "Bought by Apple Inc. The price was secret.",
            ["Bought by Apple Inc.", "The price was secret."],
        ),
        ("Apple Inc. said it would appeal.", ["Apple Inc. said it would appeal."]),
    ],
)
def test_abbreviations_do_not_end_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'He called it "a disaster." The minister disagreed.',
            ['He called it "a disaster."', "The minister disagreed."],
        ),
        (
            "He said they are 'one people.' 'I said it often.'",
            ["He said they are 'one people.'", "'I said it often.'"],
        ),
        (
            "It was \u201cover.\u201d Then it began again.",
            ["It was \u201cover.\u201d", "Then it began again."],
        ),
        (
            'Ushakov spoke. "Russia will not back down," he said.',
            ["Ushakov spoke.", '"Russia will not back down," he said.'],
        ),
        (
            "``No-one should interfere,'' he said. ``Never.''",
            ["``No-one should interfere,'' he said.", "``Never.''"],
        ),
        ('"Is it over?" she asked. Nobody knew.', ['"Is it over?" she asked.', "Nobody knew."]),
    ],
)
def test_quotes_stay_with_their_sentence(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Prices rose 2.5 percent. 2023 was worse.",
            ["Prices rose 2.5 percent.", "2023 was worse."],
        ),
        (
            "The index closed at 10,234.56 points. Bonds fell.",
            ["The index closed at 10,234.56 points.", "Bonds fell."],
        ),
        ("It cost $4.5 million. It ends soon.", ["It cost $4.5 million.", "It ends soon."]),
        ("He paused... Then he left.", ["He paused...", "Then he left."]),
        ("Really? Yes! Fine.", ["Really?", "Yes!", "Fine."]),
    ],
)
def test_numbers_ellipses_and_other_stops(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_a_sentence_never_spans_two_lines() -> None:
    text = "A headline without a stop\nThe body starts here. It goes on\n\n  And on.  "
    assert split_sentences(text) == [
        "A headline without a stop",
        "The body starts here.",
        "It goes on",
        "And on.",
    ]


def test_lowercase_after_a_stop_continues_the_sentence() -> None:
    assert split_sentences('It said "no." he added, and left.') == [
        'It said "no." he added, and left.'
    ]


def test_empty_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n ") == []


def test_words_keep_inner_apostrophes_and_drop_punctuation() -> None:
    assert words("Ukraine's push, U.S.-centric: don't _ stop!") == [
        "Ukraine's",
        "push",
        "U",
        "S",
        "centric",
        "don't",
        "stop",
    ]
    assert words("Putin\u2019s call") == ["Putin\u2019s", "call"]
    assert words("") == []


def test_normalize_for_comparison() -> None:
    assert (
        normalize("\u201cRussia\u201d  \u2014 Putin\u2019s\u00a0call\n")
        == '"Russia" - Putin\'s call'
    )
    assert normalize("``Never,'' he said") == '"Never," he said'
    assert normalize("\uff21") == "A"  # NFKC


def test_tokenizer_is_what_sumy_expects() -> None:
    tokenizer = Tokenizer("english")
    assert tokenizer.language == "english"
    assert tokenizer.to_sentences("Mr. Smith left. He came back.") == (
        "Mr. Smith left.",
        "He came back.",
    )
    assert tokenizer.to_words("Mr. Smith left.") == ("Mr", "Smith", "left")
