"""The story summary: length, wire copies voted not repeated, provenance, junk, determinism."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from digest.config import SUMMARY_ALGORITHMS, SummaryConfig
from digest.model import Article
from digest.summarize import is_junk, story_title, summarize_story
from digest.text import normalize, words

BASE = datetime(2025, 7, 3, 12, 0, tzinfo=UTC)


def article(
    ident: str,
    text: str,
    *,
    hours: float | None = 0,
    title: str = "",
    title_given: bool = False,
) -> Article:
    return Article(
        id=ident,
        path=f"{ident}.txt",
        format="text",
        title=title or f"Headline of {ident}",
        title_given=title_given,
        body=text,
        text=text,
        published=None if hours is None else BASE + timedelta(hours=hours),
    )


WIRE = (
    "Russian President Vladimir Putin told US President Donald Trump on Thursday that Moscow "
    "will not back down on its goals in Ukraine, a Kremlin aide said."
)
WIRE_VARIANT = (
    "Russia President Vladimir Putin told US President Donald Trump on Thursday that the Moscow "
    "will 'not back down' on its goals in Ukraine, a Kremlin aide said."
)
STORY = [
    article(
        "early",
        f"{WIRE}\n"
        "The call came a day after Washington paused weapons deliveries to Kyiv, officials said.\n"
        "Analysts in Moscow expect the fighting in the east to intensify over the summer months.",
        hours=0,
    ),
    article(
        "later",
        f"{WIRE_VARIANT}\n"
        "European leaders are expected to meet next week in Brussels to discuss more sanctions.\n"
        "The Kremlin also said both presidents discussed the situation in the Middle East.",
        hours=2,
    ),
    article(
        "latest",
        f"{WIRE}\n"
        "Ukraine's foreign minister called the pause in deliveries a serious blow to air defence.\n"
        "Markets in Kyiv fell sharply on the news, traders said, before recovering by evening.",
        hours=5,
    ),
]


def texts(summary) -> list[str]:
    return [s.text for s in summary]


def jaccard(a: str, b: str) -> float:
    wa = {w.lower() for w in words(normalize(a))}
    wb = {w.lower() for w in words(normalize(b))}
    return len(wa & wb) / len(wa | wb)


def test_summary_has_at_most_the_configured_sentences() -> None:
    for n in (1, 2, 3):
        assert len(summarize_story(STORY, SummaryConfig(sentences=n), "en")) == n


def test_a_short_story_gives_fewer_sentences() -> None:
    summary = summarize_story(STORY, SummaryConfig(sentences=50), "en")
    assert 1 <= len(summary) <= 7  # 9 lines, the wire copy three times over


def test_a_republished_sentence_appears_once_and_wins() -> None:
    summary = summarize_story(STORY, SummaryConfig(sentences=3), "en")
    wire = [s for s in summary if jaccard(s.text, WIRE) >= 0.6]
    assert len(wire) == 1  # chosen (three outlets voted for it) and only once
    assert wire[0].article == "early"  # the earliest article that carries it
    assert wire[0].text == WIRE


def test_the_summary_never_repeats_itself() -> None:
    summary = summarize_story(STORY, SummaryConfig(sentences=10), "en")
    chosen = texts(summary)
    for i, a in enumerate(chosen):
        for b in chosen[i + 1 :]:
            assert jaccard(a, b) < 0.6


def test_every_sentence_comes_from_the_article_it_names() -> None:
    by_id = {a.id: a for a in STORY}
    for sentence in summarize_story(STORY, SummaryConfig(sentences=10), "en"):
        assert normalize(sentence.text) in normalize(by_id[sentence.article].text)


def test_reading_order_follows_article_time_then_position() -> None:
    shuffled = [STORY[2], STORY[0], STORY[1]]
    summary = summarize_story(shuffled, SummaryConfig(sentences=10), "en")
    order = {"early": 0, "later": 1, "latest": 2}
    keys = [order[s.article] for s in summary]
    assert keys == sorted(keys)
    assert texts(summary)[0] == WIRE


JUNK_LINES = [
    "By John Smith and Jane Doe, Reuters",
    "04 Jul 2025, 01:27 GMT+10",
    "Follow the latest updates at https://example.com/live for more on the story today.",
    "Commentary by #Russian presidential aide Yuri Ushakov following the call with Trump.",
    "Ushakov spoke to @reporters after the call and said the talks had been long and useful.",
    "Subscribe to our newsletter to get the best of the news delivered every single morning.",
    "Washington could be gradually wrapping up its support for Kiev, the outlet claimed...",
    "What do you think the president should do about the war in Ukraine after this call?",
    "RUSSIA AND UKRAINE: THE LATEST NEWS AND ANALYSIS FROM OUR TEAM ON THE GROUND TODAY.",
    "and then the two leaders moved on to discuss trade between their countries at length.",
    "Get a daily dose of the news through our email, it keeps you fully up to date.",
    "Putin",
]


@pytest.mark.parametrize("line", JUNK_LINES)
def test_junk_is_recognised(line: str) -> None:
    assert is_junk(line)


@pytest.mark.parametrize(
    "line", [WIRE, WIRE_VARIANT, "'We will not back down,' he said on Friday."]
)
def test_real_sentences_are_not_junk(line: str) -> None:
    assert not is_junk(line)


def test_junk_is_never_chosen() -> None:
    noisy = [article("noisy", "\n".join([*JUNK_LINES[:6], WIRE, *JUNK_LINES[6:]]))]
    for algorithm in SUMMARY_ALGORITHMS:
        summary = summarize_story(noisy, SummaryConfig(sentences=20, algorithm=algorithm), "en")
        assert texts(summary) == [WIRE], algorithm


@pytest.mark.parametrize("algorithm", SUMMARY_ALGORITHMS)
def test_every_algorithm_summarises(algorithm: str) -> None:
    config = SummaryConfig(sentences=2, algorithm=algorithm)
    summary = summarize_story(STORY, config, "en")
    assert len(summary) == 2
    assert len(set(texts(summary))) == 2
    assert summary == summarize_story(STORY, config, "en")  # deterministic, "random" included


def test_same_input_same_output() -> None:
    config = SummaryConfig(sentences=3)
    first = summarize_story(STORY, config, "en")
    assert all(summarize_story(STORY, config, "en") == first for _ in range(3))


def test_one_short_article() -> None:
    story = [article("only", "The river burst its banks on Sunday, flooding the old town centre.")]
    summary = summarize_story(story, SummaryConfig(sentences=3), "en")
    assert texts(summary) == ["The river burst its banks on Sunday, flooding the old town centre."]
    assert summary[0].article == "only"


def test_empty_text_and_no_articles_give_no_summary() -> None:
    assert summarize_story([article("empty", "")], SummaryConfig(), "en") == ()
    assert summarize_story([article("junk", "\n".join(JUNK_LINES))], SummaryConfig(), "en") == ()
    assert summarize_story([], SummaryConfig(), "en") == ()


@pytest.mark.parametrize("language", ["english", "en", "de", "klingon", ""])
def test_any_language_name_works(language: str) -> None:
    assert len(summarize_story(STORY, SummaryConfig(sentences=2), language)) == 2


def test_a_big_story_puts_the_wire_copy_first() -> None:
    # Its speed is measured in bench/speed.py, not here: timed tests only measure the machine.
    vocabulary = [f"term{k}" for k in range(400)]

    def report(n: int) -> str:
        rng = random.Random(n)
        lines = [f"Officials said {' '.join(rng.sample(vocabulary, 14))} today." for _ in range(30)]
        return " ".join([WIRE, *lines])

    story = [article(f"a{n}", report(n), hours=n) for n in range(60)]
    summary = summarize_story(story, SummaryConfig(sentences=3), "en")
    assert len(summary) == 3
    assert summary[0].text == WIRE and summary[0].article == "a0"


def test_title_is_the_earliest_editors_title() -> None:
    story = [
        article("b", WIRE, hours=3, title="Later given", title_given=True),
        article("a", WIRE, hours=1, title="Made from text"),
        article("c", WIRE, hours=2, title="Earliest given", title_given=True),
    ]
    assert story_title(story) == "Earliest given"


def test_title_without_editors_is_the_most_central_headline() -> None:
    story = [
        article("odd", "Football scores from the weekend league games were mixed.", title="Sport"),
        article("a", STORY[0].text, hours=1, title="Putin tells Trump"),
        article("b", STORY[1].text, hours=2, title="Kremlin on the call"),
        article("c", STORY[2].text, hours=3, title="Kyiv reacts"),
    ]
    assert story_title(story) in {"Putin tells Trump", "Kremlin on the call", "Kyiv reacts"}
    assert story_title(story[:1]) == "Sport"


def test_title_is_never_empty() -> None:
    assert story_title([article("x", "", title=" ")])
    assert story_title([])


def test_the_two_samples(sample_content) -> None:
    ingest = pytest.importorskip("digest.ingest")
    clean = pytest.importorskip("digest.clean")
    paths = sorted(sample_content.glob("*.txt"))
    articles = []
    for path in paths:
        result = ingest.read_article(path, sample_content, UTC)
        assert result.article is not None
        articles.append(clean.clean_article(result.article))
    summary = summarize_story(articles, SummaryConfig(sentences=3), "en")
    assert len(summary) >= 2
    chosen = texts(summary)
    assert len({normalize(t).lower() for t in chosen}) == len(chosen)
    for i, a in enumerate(chosen):
        for b in chosen[i + 1 :]:
            assert jaccard(a, b) < 0.6
    for sentence in summary:
        assert not is_junk(sentence.text)
        assert sentence.text[-1] in ".!?'\"\u201d\u2019" or len(words(sentence.text)) >= 15
        assert "Kenya Star" not in sentence.text and "..." not in sentence.text
    ids = {a.id for a in articles}
    assert {s.article for s in summary} <= ids


FLOOD_LEAD = (
    "The river Severn burst its banks on Sunday, flooding the old town centre of Shrewsbury."
)
FLOOD_LONG = (
    "After days of heavy rain in the hills of Wales, the swollen river Severn flooded the town "
    "on Sunday, the Environment Agency said in a statement issued late in the evening."
)
EVACUATED = "Hundreds of residents were evacuated and spent the night in school shelters."
FLOOD = [
    article("a", f"{FLOOD_LEAD}\n{EVACUATED}", hours=0),
    article(
        "b",
        f"{FLOOD_LONG}\n"
        "Residents were evacuated from homes near the river and sheltered in schools overnight.",
        hours=1,
    ),
    article(
        "c",
        "Flood water filled the old town centre of Shrewsbury on Sunday.\n"
        "Hundreds of residents were evacuated to shelters in schools, the council said.",
        hours=2,
    ),
]


def test_picks_cover_what_the_story_shares_not_a_long_restatement() -> None:
    summary = texts(summarize_story(FLOOD, SummaryConfig(sentences=2), "en"))
    # Two topics, one sentence each: the flood in the words most articles use, the evacuation.
    assert FLOOD_LEAD in summary
    assert sum("evacuated" in s for s in summary) == 1
    assert FLOOD_LONG not in summary


def test_a_second_copy_of_the_same_content_is_worth_less() -> None:
    from digest.summarize import Objective, Weights, build_pool, language_tools, rank_pool

    lang = language_tools("en")
    built = build_pool(FLOOD, lang)
    pool = built.candidates
    rank_pool(pool, "lexrank", lang, "", {}, len(FLOOD), Weights())
    objective = Objective(pool, built, len(FLOOD), Weights(quality=0.0))
    number = {c.text: i for i, c in enumerate(pool)}
    evacuated = number[EVACUATED]
    council = number[FLOOD[1].text.splitlines()[1]]
    flood = number[FLOOD_LEAD]
    before = objective.gains([council, flood])
    objective.add(evacuated)
    after = objective.gains([council, flood])
    # Both are worth less now (diminishing returns), the evacuation, already told, far more so.
    assert after[0] < 0.8 * before[0]
    assert after[0] / before[0] < after[1] / before[1] - 0.1
    assert (objective.gains(list(range(len(pool)))) >= 0).all()  # picking never hurts


def test_a_quotation_opened_and_left_open_is_not_picked() -> None:
    from digest.summarize import opens_unclosed_quote

    assert opens_unclosed_quote("'We are not seeking the surrender of Ukraine.")
    assert opens_unclosed_quote("\u201cWe will rebuild every school.")
    assert not opens_unclosed_quote("'Russia will not back down,' Kremlin aide Yuri Ushakov said.")
    assert not opens_unclosed_quote("Putin said the 'root causes' of the conflict remain.")
    assert is_junk("'It is Ukraine's war and Ukraine's choice alone to make here.")


def run_python(code: str) -> None:
    """``code`` in a new interpreter (imports start afresh there); a failed assert fails."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", code], check=True)


def test_importing_summarize_leaves_out_scipy_and_requests_until_someone_wants_them() -> None:
    """NLTK (under sumy) would load scipy (0.2 s, ~50 MB in every summarizing process) and sumy
    requests (0.07 s), for parts digest never uses; afterwards both import for real."""
    run_python(
        "import sys, digest.summarize\n"
        "assert 'scipy' not in sys.modules and 'requests' not in sys.modules\n"
        "assert digest.summarize.language_tools('english').stem('flooding') == 'flood'\n"
        "import scipy.sparse, scipy.stats, requests\n"
        "assert scipy.stats.norm.cdf(0) == 0.5\n"
        "assert scipy.sparse.csr_matrix([[2.0]]).sum() == 2.0\n"
        "assert requests.Session and requests.__version__\n"
        "import sumy.utils\n"  # sumy's fetch_url, unused by digest, still reaches requests
        "assert sumy.utils.requests.get is requests.get\n"
    )


def test_importing_summarize_leaves_out_pycountry_until_a_language_code_is_given() -> None:
    """sumy's ``normalize_language`` looks a language up in pycountry (0.035 s) by code; a
    language given by name is answered without it, a code by pycountry itself."""
    run_python(
        "import sys, digest.summarize\n"
        "tools = digest.summarize.language_tools\n"
        "assert tools('english').stem('flooding') == 'flood'\n"
        "assert 'pycountry' not in sys.modules\n"
        "assert (tools('pt').stem('casas'), tools('de').name, tools('EN').name) == "
        "('cas', 'de', 'EN')\n"
        "assert 'pycountry' not in sys.modules\n"  # codes of sumy's languages: known here
        "assert tools('ell').name == 'english'\n"  # another code: sumy looks it up (no stemmer)
        "assert 'pycountry' in sys.modules\n"
        "import pycountry, sumy.utils\n"
        "for code, name in digest.summarize._LANGUAGE_NAMES.items():\n"
        "    assert sumy.utils.normalize_language(code) == name, code\n"
        "    assert digest.summarize.language_name(code.upper()) == name\n"
        "assert sumy.utils.normalize_language('deu') == 'german'\n"
        "assert sumy.utils.normalize_language('Spanish') == 'spanish'\n"
        "assert pycountry.languages.get(alpha_2='fr').name == 'French'\n"  # the real module
        "stand_in, real = sumy.utils.languages, pycountry.languages\n"
        "assert stand_in is not real and stand_in.lookup('German').alpha_3 == 'deu'\n"
        "for value in ['en', 'EN', 'eng', 'english', 'e', '', 'xx', 'zzz', 'de', 'deu', 'pt ']:\n"
        "    for field in ('alpha_2', 'alpha_3'):\n"
        "        assert stand_in.get(**{field: value}) == real.get(**{field: value}), value\n"
        "        assert stand_in.get(default=0, **{field: value}) == real.get(\n"
        "            default=0, **{field: value})\n"
    )


def test_importing_summarize_loads_the_stemmers_not_all_of_nltk() -> None:
    """sumy's stemmers come from ``nltk.stem.snowball``; all of NLTK (0.2-0.3 s) is not
    imported for them, and imports whole afterwards for whoever wants it."""
    run_python(
        "import sys, digest.summarize\n"
        "assert not any(m == 'nltk' or m.startswith('nltk.') for m in sys.modules)\n"
        "stem = digest.summarize.language_tools\n"
        "assert (stem('english').stem('flooding'), stem('pt').stem('casas')) == ('flood', 'cas')\n"
        "import nltk\n"
        "assert nltk.stem.PorterStemmer().stem('running') == 'run' and nltk.corpus.stopwords\n"
        "assert nltk.word_tokenize and nltk.data.load\n"
    )


def test_a_package_imported_without_its_init_falls_back_when_that_fails(tmp_path) -> None:
    """A module that needs its package's ``__init__`` (another version) is imported the usual
    way: nothing of the attempt stays in ``sys.modules``."""
    package = tmp_path / "pkg_bare"
    package.mkdir()
    (package / "__init__.py").write_text("RAN = True\n")
    (package / "light.py").write_text("from pkg_bare.data import load\nVALUE = 1\n")
    (package / "needy.py").write_text("from pkg_bare import RAN\n")
    (package / "data.py").write_text("raise RuntimeError('heavy module imported')\n")
    run_python(
        f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n"
        "from digest import _imports\n"
        "_imports._LAZY_NAMES['pkg_bare.data'] = ('load',)\n"
        "assert _imports._bare_import('pkg_bare', 'pkg_bare.light')\n"
        "assert not hasattr(sys.modules['pkg_bare'], 'RAN')\n"
        "assert sys.modules['pkg_bare.light'].VALUE == 1\n"
        "_imports._forget_package('pkg_bare')\n"
        "assert not _imports._bare_import('pkg_bare', 'pkg_bare.needy')\n"
        "assert not any(m.startswith('pkg_bare') for m in sys.modules)\n"
        "import pkg_bare.needy\n"
        "assert sys.modules['pkg_bare'].RAN\n"
    )


def test_importing_summarize_keeps_scipy_and_requests_loaded_before() -> None:
    """The clustering may have loaded scipy.sparse: it stays, only scipy.stats is left out."""
    run_python(
        "import sys, scipy.sparse, requests, digest.summarize, sumy.utils\n"
        "assert sys.modules['scipy.sparse'] is scipy.sparse and 'scipy.stats' not in sys.modules\n"
        "assert sumy.utils.requests is requests\n"
        "import scipy.stats\n"
        "assert scipy.stats.norm.cdf(0) == 0.5\n"
    )
