"""clean: page furniture out of body and text, every real paragraph kept."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from digest.clean import clean_article, remove_recurring_lines
from digest.ingest import read_article
from digest.model import Article

SAMPLE_000 = "000_da002abaa098f033.txt"
SAMPLE_001 = "001_ec3f2d02b8384f94.txt"

# Opening words of every real paragraph of the samples (after the dateline).
PARAGRAPHS_000 = [
    "Russian President Vladimir Putin on Thursday (local time) held a telephonic",
    "\u201cRussia will not back down\u201d, Kremlin aide Yuri Ushakov",
    "The \u201croot cause\u201d here refers to Ukraine\u2019s push to join NATO",
    "Meanwhile, Russian occupation governor of Ukraine\u2019s eastern Luhansk",
    "On June 21, Putin said that Moscow is not seeking",
    "\u201cWe are not seeking the surrender of Ukraine.",
    "He also reiterated his long-held belief that Russians and Ukrainians",
]
PARAGRAPHS_001 = [
    "Russia President Vladimir Putin on Thursday held a telephonic conversation",
    "'Russia will not back down,' Kremlin aide Yuri Ushakov told reporters",
    "Putin emphasised that Russia seeks to achieve its goals in Ukraine",
    "The 'root cause' here refers to Ukraine's push to join NATO",
    "The phone call came a day after the US paused promised weapon deliveries",
    "Meanwhile Russian occupation governor of Ukraine's eastern Luhansk region",
    "'Just a couple of days ago, I received a report",
    "On June 21, Putin said that Moscow is not seeking",
    "Speaking during a plenary session at the St Petersburg",
    "'We are not seeking the surrender of Ukraine.",
    "He also reiterated his long-held belief that Russians and Ukrainians",
]


def cleaned_sample(folder: Path, name: str) -> Article:
    article = read_article(folder / name, folder, UTC).article
    assert article is not None
    return clean_article(article)


def make(text: str, *, fmt: str = "text", body: str | None = None, **fields: object) -> Article:
    values: dict[str, object] = {
        "id": "a-000000",
        "path": "a.txt" if fmt == "text" else "a.md",
        "format": fmt,
        "title": "T",
        "title_given": False,
        "body": text if body is None else body,
        "text": text,
    }
    values.update(fields)
    return Article(**values)  # type: ignore[arg-type]


def paragraph_starts(text: str) -> list[str]:
    return [line for line in text.split("\n") if line]


# --------------------------------------------------------------------------- the two samples


@pytest.mark.parametrize(
    "needle",
    ["pic.twitter", "t.co", "@ulgenfatma74", "Commentary by #Russian", "19:30 (Moscow time)"],
)
def test_sample_000_embed_residue_is_gone(sample_content: Path, needle: str) -> None:
    article = cleaned_sample(sample_content, SAMPLE_000)
    assert needle not in article.body
    assert needle not in article.text


@pytest.mark.parametrize(
    "needle",
    ["Kenya Star", "...", "\u2026", "Get a daily dose", "Publish news", "MAURITIUS", "GMT+10"],
)
def test_sample_001_furniture_is_gone(sample_content: Path, needle: str) -> None:
    article = cleaned_sample(sample_content, SAMPLE_001)
    assert needle not in article.body
    assert needle not in article.text


@pytest.mark.parametrize(
    ("name", "paragraphs"), [(SAMPLE_000, PARAGRAPHS_000), (SAMPLE_001, PARAGRAPHS_001)]
)
def test_samples_keep_every_real_paragraph(
    sample_content: Path, name: str, paragraphs: list[str]
) -> None:
    article = cleaned_sample(sample_content, name)
    lines = article.text.split("\n")
    assert len(lines) == len(paragraphs)
    for line, start in zip(lines, paragraphs, strict=True):
        assert line.startswith(start)
    assert article.body == article.text
    assert lines[-1].endswith("an independent country.")


def test_samples_keep_their_metadata(sample_content: Path) -> None:
    article = cleaned_sample(sample_content, SAMPLE_001)
    assert article.source == "ANI"
    assert article.published is not None
    assert article.title.startswith("Russia President Vladimir Putin")


# --------------------------------------------------------------------------- line rules

STORY = [
    "The city council approved a new budget on Monday after a long and heated debate.",
    "Mayor Ana Ruiz said the plan would fund more buses and repair roads across the city.",
    "Opposition members argued that the tax increase would hurt small businesses most.",
    "The budget takes effect in January and will be reviewed again in the summer.",
]


@pytest.mark.parametrize(
    "furniture",
    [
        "Subscribe to our newsletter for the latest news",
        "Sign up for our daily email and never miss a story.",
        "Read more: Council delays vote on transit plan",
        "Also read",
        "Click here to download our app",
        "We use cookies to improve your experience on our site.",
        "Share this article",
        "Follow us on Twitter and Facebook",
        "https://example.com/some/other/page",
        "#Budget #CityHall",
        "Advertisement",
        "\u00a9 2025 The Daily Example. All rights reserved.",
        "More InformationLAGOS, 3rd July, 2025 (WAM) - The chamber concluded its first mission...",
    ],
)
def test_furniture_lines_are_removed(furniture: str) -> None:
    text = "\n".join(STORY[:2] + [furniture] + STORY[2:])
    article = clean_article(make(text))
    assert article.text.split("\n") == STORY
    assert article.body == article.text


def test_real_sentences_that_look_like_furniture_stay() -> None:
    tricky = [
        "The company said in its newsletter that profits fell sharply in the second quarter.",
        'She paused and said, "We will see what happens..." before leaving the stage.',
        "\u201cSign up for our newsletter,\u201d the spokesman kept urging reporters all day.",
    ]
    text = "\n".join(STORY[:2] + tricky + STORY[2:])
    article = clean_article(make(text))
    assert article.text.split("\n") == STORY[:2] + tricky + STORY[2:]


def test_a_trailing_teaser_block_goes_whole() -> None:
    teasers = [
        "Accra [Ghana], July 3 (ANI): Prime Minister Narendra Modi on Wednesday held a...",
        "Markets rallied on Friday as investors welcomed the latest figures from the...",
        "A growing body of research suggests that restricting one nutrient could have\u2026",
    ]
    article = clean_article(make("\n".join(STORY + teasers)))
    assert article.text.split("\n") == STORY


def test_a_single_ellipsis_paragraph_inside_the_story_stays() -> None:
    middle = "And then the lights went out across the whole district, and nobody knew why..."
    text = "\n".join(STORY[:2] + [middle] + STORY[2:])
    assert middle in clean_article(make(text)).text.split("\n")


def test_tweet_embed_block_is_removed_but_quoted_words_may_stay() -> None:
    embed = [
        "Statement by #Mayor Ana Ruiz on the budget vote.",
        "July 3, 2025",
        "19:30 (local time)https://t.co/abc123\u2026#Budget pic.twitter.com/xyz789\u2014 Someone "
        "(@someone) July 3, 2025",
    ]
    text = "\n".join(STORY[:2] + embed + STORY[2:])
    article = clean_article(make(text))
    assert article.text.split("\n") == STORY

    quoted = (
        "We finally have a budget that works for every neighbourhood in this city. https://t.co/Ab1"
    )
    text = "\n".join([*STORY[:2], quoted, "\u2014 Ana Ruiz (@anaruiz) July 3, 2025", *STORY[2:]])
    lines = clean_article(make(text)).text.split("\n")
    assert "We finally have a budget that works for every neighbourhood in this city." in lines
    assert not any("t.co" in line or "@anaruiz" in line for line in lines)


def test_repeated_lines_keep_the_first() -> None:
    text = "\n".join([STORY[0], STORY[1], STORY[0], STORY[2], STORY[3]])
    assert clean_article(make(text)).text.split("\n") == STORY


def test_never_empties_an_article() -> None:
    article = make("Subscribe to our newsletter\nhttps://example.com")
    assert clean_article(article).text == article.text


def test_script_text_is_kept_as_data() -> None:
    text = "\n".join([STORY[0], "<script>alert(1)</script>", *STORY[1:]])
    cleaned = clean_article(make(text))  # escaping is render's job; nothing may crash
    assert STORY[0] in cleaned.text


# --------------------------------------------------------------------------- page text


def test_copied_page_loses_menus_and_footer_keeps_article() -> None:
    page = [
        "Home",
        "World",
        "Business",
        "Sport",
        "Log in",
        "Council approves budget",
        *STORY,
        "Budget details",
        "The plan adds twelve bus routes and resurfaces forty kilometres of road by next year.",
        "Most popular",
        "Terms",
        "Privacy",
        "Contact us",
    ]
    article = clean_article(make("\n".join(page)))
    lines = article.text.split("\n")
    for line in STORY:
        assert line in lines
    assert "Budget details" in lines  # a subheading inside the article stays
    assert "The plan adds twelve bus routes" in article.text
    for chrome in ("Home", "World", "Log in", "Most popular", "Privacy", "Contact us"):
        assert chrome not in lines


# --------------------------------------------------------------------------- markdown


def test_markdown_article_keeps_every_paragraph_and_its_syntax() -> None:
    body = (
        "# Budget passes\n\n"
        "The **council** approved a [new budget](https://example.org/budget) on Monday.\n\n"
        "## What changes\n\n"
        "- More buses\n- Road repairs\n\n"
        "> Critics said the tax increase would hurt small businesses most.\n\n"
        "```\ncode stays\n```\n\n"
        "Subscribe to our newsletter for the latest news\n\n"
        "Short line.\n"
    )
    text = "\n".join(
        [
            "Budget passes",
            "The council approved a new budget on Monday.",
            "What changes",
            "More buses",
            "Road repairs",
            "Critics said the tax increase would hurt small businesses most.",
            "Subscribe to our newsletter for the latest news",
            "Short line.",
        ]
    )
    article = clean_article(make(text, fmt="markdown", body=body))
    assert "Subscribe" not in article.body and "Subscribe" not in article.text
    for kept in ("# Budget passes", "[new budget](https://example.org/budget)", "## What changes",
                 "- More buses", "> Critics", "```\ncode stays\n```", "Short line."):  # fmt: skip
        assert kept in article.body
    assert article.text.split("\n") == [
        line for line in text.split("\n") if "Subscribe" not in line
    ]


# --------------------------------------------------------------------------- corpus pass


def corpus_article(index: int, lines: list[str], source: str | None = "Example News") -> Article:
    return make("\n".join(lines), id=f"a{index}-000000", path=f"site/a{index}.txt", source=source)


def stories(count: int) -> list[list[str]]:
    topics = ["budget", "bridge", "election", "flood", "school", "stadium", "hospital", "port"]
    return [
        [
            f"The {topic} report was published on day {n} by the local authorities.",
            f"Officials said the {topic} plan would take several years to complete.",
            f"Residents were asked to comment on the {topic} proposal before the deadline.",
        ]
        for n, topic in enumerate(topics[:count])
    ]


def test_recurring_source_lines_are_removed() -> None:
    promo = "Get the Example News app today"
    footer = "Example News is an independent publication"
    articles = [corpus_article(i, [*lines, promo, footer]) for i, lines in enumerate(stories(4))]
    other = corpus_article(9, [*stories(5)[4], promo], source="Other Outlet")
    out = remove_recurring_lines([*articles, other])
    assert len(out) == 5
    for before, after in zip(articles, out, strict=False):
        assert after.text.split("\n") == before.text.split("\n")[:3]
        assert after.body == after.text
        assert after.id == before.id
    assert out[4] == other  # one article of another source: nothing recurs there


def test_recurring_lines_group_by_folder_without_source() -> None:
    promo = "Share this story with friends"
    articles = [
        corpus_article(i, [*lines, promo], source=None) for i, lines in enumerate(stories(3))
    ]
    out = remove_recurring_lines(articles)
    assert all(promo not in a.text for a in out)


def test_fewer_than_three_articles_keep_everything() -> None:
    promo = "Get the Example News app today"
    articles = [corpus_article(i, [*lines, promo]) for i, lines in enumerate(stories(2))]
    assert remove_recurring_lines(articles) == articles


def test_wire_copies_of_one_story_keep_their_text() -> None:
    wire = [
        "Short quote from the minister",
        "The central bank raised interest rates by a quarter point on Thursday.",
        "It was the third increase this year as inflation stayed high.",
        "Economists had expected the move after last month's figures.",
    ]
    copies = [corpus_article(i, [*wire, f"Updated version {i} of this report."]) for i in range(4)]
    out = remove_recurring_lines(copies)
    for article in out:
        assert article.text.split("\n")[:4] == wire


def test_wire_copies_next_to_distinct_stories_still_lose_only_furniture() -> None:
    promo = "Get the Example News app today"
    wire = [
        "Short quote from the minister",
        "The central bank raised interest rates by a quarter point on Thursday.",
        "It was the third increase this year as inflation stayed high.",
    ]
    copies = [corpus_article(i, [*wire, promo]) for i in range(3)]
    others = [corpus_article(10 + i, [*s, promo]) for i, s in enumerate(stories(3))]
    out = remove_recurring_lines(copies + others)
    for article in out[:3]:
        assert article.text.split("\n") == wire  # the promo goes, the wire text stays
    for article, original in zip(out[3:], stories(3), strict=True):
        assert article.text.split("\n") == original


# --------------------------------------------------------------------------- real text kept

STANDFIRST = "The plan had been delayed twice since the spring because of a dispute over taxes."


def test_a_standfirst_repeated_in_the_article_keeps_its_copy_there() -> None:
    page = [
        "Home",
        "Council approves budget",
        STANDFIRST,
        "Jane Doe",
        "News reporter",
        "Image:",
        "Share this article",
        "Why you can trust us",
        *STORY[:2],
        STANDFIRST,  # dropped as a repeat while its first copy sat outside the article
        *STORY[2:],
        "More from Example News",
    ]
    lines = clean_article(make("\n".join(page))).text.split("\n")
    assert lines == [*STORY[:2], STANDFIRST, *STORY[2:]]


def test_a_quoted_post_without_a_full_stop_keeps_its_words() -> None:
    post = "I urge all residents of the city to use the new masks whenever needed"
    embed = [
        f"{post} pic.twitter.com/MYwRz9euaq",
        "\u2014 Ana Ruiz (@anaruiz) November 1, 2019",
    ]
    credited = "The new budget delivers forty bus routes for the city https://t.co/y5W by @anaruiz"
    text = "\n".join([*STORY[:2], *embed, credited, *STORY[2:]])
    lines = clean_article(make(text)).text.split("\n")
    assert lines == [
        *STORY[:2],
        post,
        "The new budget delivers forty bus routes for the city",
        *STORY[2:],
    ]


@pytest.mark.parametrize(
    "feed_item",
    [
        "Council approves the new budget after a long and heated debate - https://t.co/8FIN",
        "Get your news featured on the front page of our website today\u2026 https://t.co/aif5",
        "Council approves #Budget after a long and heated debate on Monday https://t.co/k322",
    ],
)
def test_posts_cut_short_or_tagged_still_go(feed_item: str) -> None:
    text = "\n".join([*STORY[:2], feed_item, *STORY[2:]])
    assert clean_article(make(text)).text.split("\n") == STORY


AP_RIGHTS = (
    "\u00a9 2019 Associated Press. All Rights Reserved. This material may not be published, "
    "broadcast, rewritten, or redistributed."
)


def test_a_rights_line_closing_the_story_stays_the_footer_copyright_goes() -> None:
    page = [
        "Home",
        "World",
        "Council approves budget",
        *STORY,
        AP_RIGHTS,
        "Comments",
        "You must log in to post a comment.",
        "Contact",
        "Careers",
        "\u00a92019 Example Broadcasting Inc. All Rights Reserved.",
        "Privacy Policy",
    ]
    lines = clean_article(make("\n".join(page))).text.split("\n")
    assert lines == [*STORY, AP_RIGHTS]


@pytest.mark.parametrize(
    "advice",
    [
        "Sign up for a streaming account with no adverts for $11.99 a month",
        "Sign up for the family bundle using the same email as your streaming account",
        "Register for the city marathon at the town hall before the end of the month.",
    ],
)
def test_sign_up_advice_in_the_article_stays(advice: str) -> None:
    text = "\n".join([*STORY[:2], advice, *STORY[2:]])
    assert clean_article(make(text)).text.split("\n") == [*STORY[:2], advice, *STORY[2:]]


@pytest.mark.parametrize(
    "promo",
    [
        "Sign up to get Example News's exclusive scoops and entertainment news",
        "Subscribe to the Example YouTube Channel for all of the latest videos, reviews, and more!",
        "Enter your email address to subscribe and receive notifications of new posts by email.",
        "Subscribe to Example Weekly and stay smart with more of your favourite writers.",
    ],
)
def test_sign_up_for_what_the_site_sends_still_goes(promo: str) -> None:
    text = "\n".join([*STORY[:2], promo, *STORY[2:]])
    assert clean_article(make(text)).text.split("\n") == STORY


TOUR = [
    "June 9 \u2013 West Palm Beach, FL @ Coral Sky Amphitheatre",
    "June 10 \u2013 Tampa, FL @ Credit Union Amphitheatre",
    "July 2 \u2013 Uncasville, CT @ Mohegan Sun Arena",
    "August 14 \u2013 St. Louis, MO @ Hollywood Casino Amphitheatre",
]
SHOP = [
    "1) Lego Star Wars Resistance Bomber",
    "http://amzn.to/2iJFhRj",
    "2) Electric racing track",
    "http://amzn.to/2hZfWFJ",
    "3) Thriller (Vinyl)",
    "http://amzn.to/2hWw372",
]


def test_a_list_continuing_the_article_stays() -> None:
    page = [*STORY, "The Band Tour Dates", *TOUR, "Trending", "Five stadium tours set for 2020"]
    lines = clean_article(make("\n".join(page))).text.split("\n")
    assert lines == [*STORY, "The Band Tour Dates", *TOUR]

    page = ["Home", *STORY, *SHOP, "Leave a comment", "Search"]
    assert clean_article(make("\n".join(page))).text.split("\n") == [*STORY, *SHOP]


@pytest.mark.parametrize(
    "tail",
    [
        ["Related", "1. Council delays vote on transit plan", "2. Mayor opens bridge", "3. Floods"],
        ["Popular stories", "1. Council delays vote", "2. Mayor opens bridge"],
        ["Popular stories", "1. Council delays vote", "1. Mayor opens bridge", "1. Floods"],
        ["Latest", "\u2022 Council delays vote", "1. Mayor opens bridge", "June 3 Floods"],
    ],
)
def test_lists_of_other_stories_still_go(tail: list[str]) -> None:
    lines = clean_article(make("\n".join(["Home", *STORY, *tail]))).text.split("\n")
    assert lines == STORY


def test_a_cited_link_under_its_title_stays() -> None:
    cited = ["Scholars issue a ruling on public insults", "http://example.org/2011/09/07/ruling/"]
    text = "\n".join([*STORY[:2], *cited, *STORY[2:]])
    assert clean_article(make(text)).text.split("\n") == [*STORY[:2], *cited, *STORY[2:]]


def test_zero_width_lines_do_not_fence_off_the_article() -> None:
    lead = "The council met on a rainy Monday night in the old town hall"
    page = ["Home", "\u200b", lead, "\u200b", "\u200b", *STORY, "Most read"]
    lines = clean_article(make("\n".join(page))).text.split("\n")
    assert lead in lines and "Home" not in lines
    assert [line for line in lines if line != "\u200b"] == [lead, *STORY]


def test_a_caption_the_article_repeats_does_not_fence_off_its_text() -> None:
    caption = "Theatre company performs at the autumn festival [Photo] Welcome Festival"
    intro = "This is the park where the air is filled with the scent of autumn leaves"
    page = ["Home", "Blog", caption, "Fine autumn sky!", intro, "\u200b", caption, "\u200b"]
    page += [*STORY[:2], caption, *STORY[2:], "Share", "Tweet"]
    lines = clean_article(make("\n".join(page))).text.split("\n")
    assert intro in lines
    assert "Home" not in lines and "Share" not in lines


def test_a_last_line_cut_mid_sentence_takes_its_rest() -> None:
    cut = ["The shares are up about 40% this year, easily outpacing the", "Dow Jones", "and"]
    rest = ["S&P 500", "over the same span."]
    page = ["Home", *STORY, *cut, *rest, "Write to the author", "Close", "Most read"]
    lines = clean_article(make("\n".join(page))).text.split("\n")
    assert lines == [*STORY, *cut, *rest]

    # a line with no end to come stays where the block left it
    page = ["Home", *STORY, *cut, "Close", "Menu", "Search"]
    lines = clean_article(make("\n".join(page))).text.split("\n")
    assert lines[-1] == cut[0] and "Close" not in lines


def test_ellipses_inside_running_text_stay_teaser_lists_go() -> None:
    suspense = [
        "The next big challenge is \u2026",
        "Now that you know how to focus, here is the next big challenge for your business \u2026",
    ]
    after = "Becoming a visible leader in your own field of work."
    text = "\n".join([*STORY[:2], *suspense, after, *STORY[2:]])
    lines = clean_article(make(text)).text.split("\n")
    assert lines == [*STORY[:2], *suspense, after, *STORY[2:]]

    teasers = [
        "Police: double murder in the suburbs was domestic-related \u2026",
        "Jury rules for half of the plaintiffs in body parts suit \u2026",
    ]
    text = "\n".join([*STORY[:2], *teasers, "Most read", *STORY[2:]])
    assert clean_article(make(text)).text.split("\n") == STORY


def test_an_article_repeating_its_own_sentences_is_not_cut_to_its_footer() -> None:
    # a meal plan: each day repeats most of the day before; the copies go, but they must not
    # fence the days off from each other, leaving the disclaimers below as "the article"
    intro = "Both plans follow the same rules, so you work out your daily target only once."
    same = [
        "Asparagus and eggs with half a cup of sweet potato and one teaspoon of olive oil.",
        "Containers: one green, one red, one yellow.",
        "Chicken with zucchini noodles, half a cup of edamame and a teaspoon of sesame oil.",
        "Containers: one green, one red, one yellow, one orange.",
    ]
    dinners = [
        "Beef chili with cilantro, ten olives and a side salad of lettuce and tomatoes.",
        "Tomato and cucumber salad with feta, white beans and a spoon of balsamic vinegar.",
        "Slow cooker lentil soup with carrots, celery and a slice of whole-grain toast.",
        "Baked salmon with green beans, brown rice and a wedge of lemon on the side.",
        "Turkey meatballs with marinara sauce, spinach and half a cup of quinoa.",
    ]
    page = ["Home", "Recipes", "Meal plans", "Meal prep for the second week", intro]
    for day, dinner in enumerate(dinners, 1):
        page += [f"Day {day}", *same, dinner]
    topics = "Workouts Nutrition Recipes Yoga Cardio Strength Wellness Beauty Science Results"
    topics += " Running Cycling Pilates Sleep Family"
    page += ["Related articles", "Why breakfast matters", "Five quick lunches", "Facebook"]
    page += [*topics.split(), *(f"{topic} Hub" for topic in topics.split()), "Privacy"]
    footer = [
        "The information provided on this website, including the blogs, community pages and "
        "program materials, is not intended to replace advice from your doctor or dietitian.",
        "Results vary depending on starting point, goals and effort, and exercise and a proper "
        "diet are necessary to achieve and maintain weight loss and muscle definition.",
        "Consult your physician and follow all safety instructions before beginning any "
        "exercise program or using any supplement or meal replacement product.",
    ]
    lines = clean_article(make("\n".join([*page, *footer]))).text.split("\n")
    assert intro in lines and all(line in lines for line in [*same, *dinners])
    assert lines.count(same[1]) == 1  # the copies themselves still go
    for line in ("Home", "Meal plans", "Why breakfast matters", "Yoga Hub", *footer):
        assert line not in lines


def test_the_block_does_not_grow_over_a_teaser_of_another_story() -> None:
    teaser = "Housing authority sued over alleged secret board meeting..."
    page = ["Home", *STORY, "More Business News", teaser, "Most popular", "Privacy"]
    assert clean_article(make("\n".join(page))).text.split("\n") == STORY


def test_a_contact_line_under_the_story_takes_the_rights_line_after_it() -> None:
    # Korean, Japanese and many local papers close a story with the writer's e-mail address,
    # then a photo credit and the rights line
    contact = "칼럼니스트 박생강 pillgoo9@example.com"  # "columnist Park Saeng-gang"
    rights = "저작권자 ⓒ '엔터미디어' (www.example.co.kr), 무단전재 및 재배포금지"  # no reprints
    page = ["Home", "Columns", *STORY, contact, "[Photo: MBC]", rights, "Back", "Print", "List"]
    lines = clean_article(make("\n".join(page))).text.split("\n")
    assert lines == [*STORY, contact, "[Photo: MBC]", rights]

    # an address ending a line is no sentence cut short: the block stops there, and does not
    # run on to the next line that ends a sentence (another story's teaser)
    email = "paul.takahashi@example.com"
    page = ["Home", *STORY, email, "twitter.com/paultakahashi", "More Business News"]
    page += ["Housing authority sued over alleged open meeting...", "Most popular", "Privacy"]
    lines = clean_article(make("\n".join(page))).text.split("\n")
    assert lines == [*STORY, email]

    # above the story, an address is the site's or the byline's: not taken
    page = ["Home", "Contact: news@example.com", *STORY, "Most popular"]
    assert clean_article(make("\n".join(page))).text.split("\n") == STORY


def test_quotes_and_bracketed_titles_are_not_breadcrumb_separators() -> None:
    from digest.clean import _line_score

    french = "Le président a dit «nous partons» puis «nous revenons» devant les journalistes hier."
    german = (
        "Der Minister sagte »wir bleiben« und »wir verhandeln« am Montag vor der Presse in Berlin."
    )
    korean = "영화 <숨바꼭질> 과 ‹기생충> 은 올해 관객을 모은 작품이라고 배급사가 밝혔다."
    for line in (french, german, korean):
        assert _line_score(line) >= 10, line  # running text, like any sentence of its length
    assert _line_score("Accueil › Monde › Europe › France") < 0  # a breadcrumb stays chrome


class DictCache(dict):  # type: ignore[type-arg]
    """What ``remove_recurring_lines`` needs of ``cache.JsonCache``: get and put."""

    def put(self, key: str, value: object) -> None:
        self[key] = value


def _hashed_group() -> list[Article]:
    promo = "Get the Example News app today"
    lines = [[*s, promo] for s in stories(4)]
    lines.append([*stories(5)[4]])  # one article of the source without the promo
    return [
        corpus_article(i, ls).replace(content_hash=f"h{i}", body="\n".join(ls))
        for i, ls in enumerate(lines)
    ]


def test_a_new_process_takes_a_sources_recurring_lines_from_the_cache(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from digest import clean

    cache = DictCache()
    first = remove_recurring_lines(_hashed_group(), cache)
    assert len(cache) == 1
    entry = next(iter(cache.values()))
    assert entry == {"lines": ["get the example news app today"], "touched": [0, 1, 2, 3]}
    clean._GROUP_MEMO.clear()  # what a new process starts from
    monkeypatch.setattr(clean, "_recurring_in_group", lambda group: pytest.fail("not cached"))
    again = remove_recurring_lines(_hashed_group(), cache)
    assert again == first
    assert all("app today" not in a.text for a in again)


def test_an_edit_in_the_source_finds_its_lines_again() -> None:
    from digest import clean

    cache = DictCache()
    remove_recurring_lines(_hashed_group(), cache)
    clean._GROUP_MEMO.clear()
    edited = _hashed_group()
    edited[4] = edited[4].replace(
        text=edited[4].text + "\nGet the Example News app today", content_hash="h4-edited"
    )
    out = remove_recurring_lines(edited, cache)
    assert "app today" not in out[4].text  # found again: the stale entry was not used
    assert len(cache) == 2


@pytest.mark.parametrize(
    "damage",
    [None, "x", {"lines": "get", "touched": []}, {"lines": [], "touched": [99]}, {"lines": [1]}],
)
def test_a_damaged_furniture_entry_is_a_miss(damage: object) -> None:
    from digest import clean

    cache = DictCache()
    expected = remove_recurring_lines(_hashed_group(), cache)
    key = next(iter(cache))
    cache[key] = damage
    clean._GROUP_MEMO.clear()
    assert remove_recurring_lines(_hashed_group(), cache) == expected
    assert cache[key] == {"lines": ["get the example news app today"], "touched": [0, 1, 2, 3]}


def test_articles_made_in_memory_are_never_looked_up() -> None:
    cache = DictCache()
    articles = [corpus_article(i, [*s, "Get the app"]) for i, s in enumerate(stories(3))]
    assert all(not a.content_hash for a in articles)
    remove_recurring_lines(articles, cache)
    assert cache == {}
