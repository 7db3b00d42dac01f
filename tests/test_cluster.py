"""Clustering: wire copies and same-event reports become stories; pins, time window, determinism."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from digest.cluster import cluster_articles
from digest.config import ClusterConfig
from digest.model import Article

DAY = datetime(2024, 4, 3, 9, 0, tzinfo=UTC)

WIRE = (
    "TOKYO, April 3 (Reuters) - Japan's Meteorological Agency issued a tsunami warning for "
    "Okinawa on Wednesday after a magnitude 7.4 earthquake struck off Taiwan's east coast.\n"
    "The quake hit at 7:58 a.m. local time near Hualien County, the agency said, and waves of up "
    "to three metres were expected to reach Miyako and Yaeyama islands.\n"
    "Taiwan's Central Weather Administration said it was the strongest earthquake on the island "
    "in 25 years. Buildings partially collapsed in Hualien city and the metro in Taipei was "
    "briefly halted.\n"
    "Flights at Naha airport were suspended as a precaution, Japan Airlines said, while the "
    "Philippines' Phivolcs institute urged residents of coastal Batanes to move to higher ground."
)

FURNITURE_BEFORE = "Subscribe to our newsletter\nHome | World | Asia | Markets\n"
FURNITURE_AFTER = (
    "\nRead more: Markets rally as oil slips below $80\n"
    "Follow us on social media for the latest updates.\n"
    "Copyright 2024 Daily Courier. All rights reserved."
)

TAIWAN_REPORTS = (
    (
        "Hualien quake: Taiwan counts damage after strongest tremor in 25 years",
        "Rescuers in Hualien County searched partially collapsed buildings on Wednesday after a "
        "magnitude 7.4 earthquake, the strongest to hit Taiwan in 25 years.\n"
        "The Central Weather Administration said the quake struck at 7:58 a.m. about 18 km south "
        "of Hualien city at a depth of 34.8 km. Landslides blocked roads along the east coast "
        "and Taipei briefly halted its metro.\n"
        "President Tsai Ing-wen ordered the army to help with the rescue effort in Hualien.",
    ),
    (
        "Taiwan earthquake: magnitude 7.4 tremor shakes Hualien and Taipei",
        "A powerful magnitude 7.4 earthquake shook Taiwan early on Wednesday, damaging dozens of "
        "buildings in Hualien and triggering landslides, according to the Central Weather "
        "Administration.\n"
        "In Hualien, a five-storey building was left leaning at a 45-degree angle. Tsai Ing-wen "
        "said the government would spare no effort. Chipmaker TSMC evacuated some of its "
        "factories as a precaution.\n"
        "Tsunami warnings were issued for Okinawa and the Philippines but later lifted.",
    ),
    (
        "Hualien buildings tilt, landslides block highway after Taiwan's 7.4 quake",
        "Taiwan was hit by its strongest earthquake in 25 years on Wednesday morning, a magnitude "
        "7.4 tremor centred near Hualien that left buildings tilting and highways blocked.\n"
        "The Central Weather Administration recorded more than 100 aftershocks. Hualien County "
        "officials said dozens of people were trapped in a tunnel by landslides.\n"
        "Taipei's metro resumed service after a short halt, and TSMC said most of its staff were "
        "back at work.",
    ),
)

CHILE_REPORTS = (
    (
        "Antofagasta earthquake: magnitude 6.8 quake jolts northern Chile",
        "A magnitude 6.8 earthquake struck northern Chile on Friday, shaking buildings in "
        "Antofagasta and Calama, the National Seismological Center said.\n"
        "The quake hit at 4:12 p.m. at a depth of 110 km, 60 km east of Antofagasta. The Senapred "
        "disaster agency said there were no reports of major damage and ruled out a tsunami.\n"
        "Copper miner Codelco said operations at its Chuquicamata mine were normal.",
    ),
    (
        "Chile quake of magnitude 6.8 rattles Antofagasta; no tsunami threat",
        "Residents of Antofagasta ran into the streets on Friday when a magnitude 6.8 earthquake "
        "rattled the Atacama desert region of Chile.\n"
        "Senapred said power was cut in parts of Calama and Tocopilla for about an hour. The "
        "National Seismological Center put the depth at 110 km.\n"
        "Codelco and BHP, which runs the Escondida mine, reported no damage to their operations "
        "in the Antofagasta region.",
    ),
    (
        "Northern Chile shaken by 6.8 earthquake near Antofagasta",
        "Chile's National Seismological Center said a 6.8 magnitude earthquake struck 60 km east "
        "of Antofagasta on Friday afternoon.\n"
        "The Navy's hydrographic service said the quake did not meet the conditions for a "
        "tsunami along the coast of Chile. Senapred reported minor damage to homes in Calama.\n"
        "Escondida and Chuquicamata, two of the world's largest copper mines, kept working.",
    ),
)

UNRELATED = (
    (
        "Eurozone inflation eases to 2.4% in March",
        "Inflation in the euro zone eased to 2.4% in March, Eurostat said on Wednesday, "
        "strengthening the case for the European Central Bank to cut interest rates in June.\n"
        "Core inflation, which excludes food and energy, fell to 2.9%. Christine Lagarde has "
        "said the ECB will know much more about wage growth by June.",
    ),
    (
        "Arsenal beat Luton 2-0 to go top of the Premier League",
        "Arsenal returned to the top of the Premier League with a 2-0 win over Luton Town at the "
        "Emirates on Wednesday, with Martin Odegaard scoring the opener.\n"
        "Mikel Arteta's side lead Liverpool on goal difference, with Manchester City one point "
        "behind after their draw with Aston Villa.",
    ),
    (
        "Nasa picks three companies to design a lunar rover for Artemis astronauts",
        "Nasa has chosen Intuitive Machines, Lunar Outpost and Venturi Astrolab to develop a "
        "rover that Artemis astronauts will drive on the Moon's south pole later this decade.\n"
        "The agency said the Lunar Terrain Vehicle should be ready for the Artemis V mission.",
    ),
)


def art(
    key: str,
    text: str,
    *,
    title: str = "",
    when: datetime | None = DAY,
    story: str | None = None,
    source: str | None = None,
) -> Article:
    return Article(
        id=key,
        path=f"{key}.md",
        format="markdown",
        title=title or text.split("\n", 1)[0][:80],
        title_given=bool(title),
        body=text,
        text=text,
        source=source,
        published=when,
        story=story,
    )


def reports(items: tuple[tuple[str, str], ...], prefix: str, when: datetime) -> list[Article]:
    return [
        art(f"{prefix}{k}", text, title=title, when=when + timedelta(hours=k))
        for k, (title, text) in enumerate(items)
    ]


def unrelated() -> list[Article]:
    return reports(UNRELATED, "other", DAY)


def as_sets(groups: list[list[int]], articles: list[Article]) -> set[frozenset[str]]:
    return {frozenset(articles[i].id for i in group) for group in groups}


def together(groups: list[list[int]], articles: list[Article], *ids: str) -> bool:
    return any(set(ids) <= ids_ for ids_ in as_sets(groups, articles))


def apart(groups: list[list[int]], articles: list[Article], a: str, b: str) -> bool:
    return not together(groups, articles, a, b)


def mixed_corpus() -> list[Article]:
    taiwan = reports(TAIWAN_REPORTS, "taiwan", DAY)
    chile = reports(CHILE_REPORTS, "chile", DAY + timedelta(days=2))
    copies = [
        art("wire-plain", WIRE, source="Reuters"),
        art(
            "wire-courier",
            FURNITURE_BEFORE + WIRE.replace("'", "\u2019") + FURNITURE_AFTER,
            source="Daily Courier",
        ),
    ]
    return taiwan + chile + copies + unrelated()


def test_empty_input_gives_no_groups() -> None:
    assert cluster_articles([], ClusterConfig()) == []


def test_single_article_is_its_own_story() -> None:
    assert cluster_articles([art("solo", WIRE)], ClusterConfig()) == [[0]]


def test_wire_copies_with_furniture_and_other_quotes_merge() -> None:
    edited = WIRE.replace("Wednesday", "Wednesday morning").replace("three metres", "3 metres")
    articles = [
        art("plain", WIRE),
        art("courier", FURNITURE_BEFORE + edited.replace("'", "\u2019") + FURNITURE_AFTER),
        *unrelated(),
    ]
    # A threshold of 1.0 leaves the same-event step nothing: only copy detection can join them.
    groups = cluster_articles(articles, ClusterConfig(threshold=1.0))
    assert together(groups, articles, "plain", "courier")
    assert len(groups) == len(articles) - 1


def test_a_short_copy_inside_a_longer_article_matches() -> None:
    first_half = "\n".join(WIRE.splitlines()[:2])
    longer = WIRE + "\n" + UNRELATED[0][1] + "\n" + UNRELATED[2][1]
    articles = [art("short", first_half), art("long", longer), *unrelated()]
    groups = cluster_articles(articles, ClusterConfig(threshold=1.0))
    assert together(groups, articles, "short", "long")


def test_same_event_reports_merge_and_two_earthquakes_stay_apart() -> None:
    articles = mixed_corpus()
    groups = cluster_articles(articles, ClusterConfig())
    assert together(groups, articles, "taiwan0", "taiwan1", "taiwan2")
    assert together(groups, articles, "chile0", "chile1", "chile2")
    assert apart(groups, articles, "taiwan0", "chile0")
    for other in ("other0", "other1", "other2"):
        assert {other} in [set(s) for s in as_sets(groups, articles)]


def test_a_bridging_article_does_not_chain_two_stories() -> None:
    # Half Taiwan, half Chile: single link would glue both stories through it.
    bridge = TAIWAN_REPORTS[0][1] + "\n" + CHILE_REPORTS[0][1]
    articles = [*mixed_corpus(), art("bridge", bridge, when=DAY + timedelta(days=1))]
    groups = cluster_articles(articles, ClusterConfig())
    assert apart(groups, articles, "taiwan1", "chile1")


def test_story_pins_override_clustering() -> None:
    articles = [
        # Pinned together although unrelated in text.
        art("pin-a", UNRELATED[0][1], story="editors-pick"),
        art("pin-b", UNRELATED[1][1], story="editors-pick"),
        # A copy of pinned text, not pinned: it must not be merged into the pinned story.
        art("copy-of-a", UNRELATED[0][1]),
        # Identical texts with different pins stay split.
        art("split-1", WIRE, story="one"),
        art("split-2", WIRE, story="two"),
        art("free", WIRE),
    ]
    groups = cluster_articles(articles, ClusterConfig())
    sets = as_sets(groups, articles)
    assert frozenset({"pin-a", "pin-b"}) in sets
    assert frozenset({"split-1"}) in sets and frozenset({"split-2"}) in sets
    assert frozenset({"copy-of-a"}) in sets and frozenset({"free"}) in sets


def test_every_article_appears_exactly_once_in_order() -> None:
    articles = mixed_corpus() + [art("pinned", WIRE, story="x"), art("empty", "")]
    groups = cluster_articles(articles, ClusterConfig())
    flat = [i for group in groups for i in group]
    assert sorted(flat) == list(range(len(articles)))
    assert all(group == sorted(group) for group in groups)
    assert [group[0] for group in groups] == sorted(group[0] for group in groups)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_groups_for_any_input_order(seed: int) -> None:
    articles = mixed_corpus() + [art("undated", TAIWAN_REPORTS[1][1], when=None)]
    expected = as_sets(cluster_articles(articles, ClusterConfig()), articles)
    shuffled = articles[:]
    random.Random(seed).shuffle(shuffled)
    assert as_sets(cluster_articles(shuffled, ClusterConfig()), shuffled) == expected


def test_time_window_keeps_distant_reports_apart() -> None:
    late = DAY + timedelta(days=10)
    articles = [
        art("wire-early", WIRE),
        art("wire-late", WIRE, when=late),
        art("report-early", TAIWAN_REPORTS[0][1], title=TAIWAN_REPORTS[0][0]),
        art("report-late", TAIWAN_REPORTS[1][1], title=TAIWAN_REPORTS[1][0], when=late),
        *unrelated(),
    ]
    narrow = cluster_articles(articles, ClusterConfig(window_days=3))
    assert apart(narrow, articles, "wire-early", "wire-late")
    assert apart(narrow, articles, "report-early", "report-late")
    assert apart(narrow, articles, "wire-early", "report-late")
    wide = cluster_articles(articles, ClusterConfig(window_days=30))
    assert together(wide, articles, "wire-early", "wire-late")
    assert together(wide, articles, "report-early", "report-late")


def test_undated_article_joins_its_story_by_text() -> None:
    articles = mixed_corpus() + [
        art("undated-chile", CHILE_REPORTS[1][1] + "\nMore in our Americas section.", when=None),
        art("undated-other", "Lunar rover contracts awarded by Nasa to three firms.", when=None),
    ]
    groups = cluster_articles(articles, ClusterConfig())
    assert together(groups, articles, "undated-chile", "chile0", "chile2")
    assert apart(groups, articles, "undated-chile", "taiwan0")
    assert apart(groups, articles, "undated-other", "chile0")


def test_the_two_sample_articles_form_one_story(sample_content: Path) -> None:
    ingest = pytest.importorskip("digest.ingest")
    clean = pytest.importorskip("digest.clean")
    if not hasattr(ingest, "read_article") or not hasattr(clean, "clean_article"):
        pytest.skip("ingest.read_article / clean.clean_article not written yet")
    paths = sorted(sample_content.glob("*.txt"))
    samples = [
        clean.clean_article(ingest.read_article(p, sample_content, UTC).article) for p in paths
    ]
    assert len(samples) == 2 and sum(a.published is None for a in samples) == 1
    articles = [*samples, *unrelated()]
    groups = cluster_articles(articles, ClusterConfig())
    assert [0, 1] in groups
    assert len(groups) == len(articles) - 1


def test_row_sums_of_groups_match_dense_sums() -> None:
    from digest.cluster import Rows, _row_sums

    rng = np.random.default_rng(4)
    dense = rng.random((9, 12)) * (rng.random((9, 12)) < 0.4)
    indptr = np.concatenate([[0], np.cumsum((dense > 0).sum(axis=1))]).astype(np.int64)
    rows = Rows(indptr, np.nonzero(dense)[1].astype(np.int32), dense[dense > 0], dense.shape)
    groups = [[4], [0, 7, 2], [1], [8, 3], [5], [6]]
    sums = _row_sums(rows, groups)
    for g, group in enumerate(groups):
        a, b = sums.indptr[g], sums.indptr[g + 1]
        got = np.zeros(12)
        got[sums.indices[a:b]] = sums.data[a:b]
        assert np.allclose(got, dense[group].sum(axis=0))
        assert list(sums.indices[a:b]) == sorted(sums.indices[a:b])
    assert np.array_equal(sums.data[: sums.indptr[1]], dense[4][dense[4] > 0])  # copied as is


def test_pair_codes_are_32_bit_only_while_every_code_fits() -> None:
    import numpy as np

    from digest.cluster import pair_code_type

    assert pair_code_type(46340) is np.int32 and pair_code_type(46341) is np.int64
    n = 46340  # the largest code, (n - 1) * n + (n - 1), still fits
    assert (n - 1) * n + (n - 1) <= np.iinfo(np.int32).max < 46341 * 46341 - 1


@pytest.mark.parametrize("bound", [1, 300, 1 << 16, (1 << 16) + 1, 1 << 40])
def test_stable_order_is_a_stable_argsort(bound: int) -> None:
    from digest.cluster import lists_of, stable_order

    rng = np.random.default_rng(bound % 1000)
    values = rng.integers(0, bound, size=5000, dtype=np.int64)
    assert np.array_equal(stable_order(values, bound), np.argsort(values, kind="stable"))
    if bound <= 1 << 20:
        i = rng.integers(0, bound, size=3000)
        j = rng.integers(0, bound, size=3000)
        ptr, partners = lists_of(i, j, bound)
        order = np.lexsort((j, i))
        assert np.array_equal(partners, j[order])
        assert np.array_equal(ptr, np.searchsorted(i[order], np.arange(bound + 1)))


def test_sorted_unique_is_numpys_unique_without_numpy_ma() -> None:
    from digest.arrayops import sorted_unique

    rng = np.random.default_rng(4)
    for size in (0, 1, 2, 50, 5000):
        for dtype in (np.int32, np.int64, np.uint64):
            values = rng.integers(0, 40, size=size).astype(dtype)
            found = sorted_unique(values)
            assert found.dtype == values.dtype
            assert np.array_equal(found, np.unique(values))
    run = (
        "import sys, numpy as np\n"
        "from digest.arrayops import sorted_unique\n"
        "sorted_unique(np.array([3, 1, 3]))\n"
        "assert 'numpy.ma' not in sys.modules\n"
    )
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", run], check=True)
