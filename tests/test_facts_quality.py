"""The facts quality gate: the replica's labelled posts against pinned floors (issue 10).

Every post of the replica knows its doc_type, parcels and listings (crawler/replica/factposts.py).
Each page is rendered, extracted with `extract_html` and passed through `crawler.facts.derive`
as extraction will; the metrics are shared with bench/facts.py. Lowering a floor below what
issue 10 asks needs PARKCORPUS_LOWER_FLOORS=1 (and a reason in the commit message).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from floors import check_floors_not_lowered

_spec = importlib.util.spec_from_file_location("bench_facts", Path(__file__).parents[1] / "bench" / "facts.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

#: What issue 10 requires. FLOORS may only go lower with PARKCORPUS_LOWER_FLOORS=1.
REQUIRED = {"doc_type_accuracy": 0.97, "parcel_precision": 0.98, "parcel_recall": 0.98, "parcel_fields": 0.98,
            "listing_precision": 0.97, "listing_recall": 0.97, "listing_fields": 0.97}
FLOORS = dict(REQUIRED)

#: Labelled posts (first ids of six subsites): every land, listing and news layout occurs.
N_POSTS = 400


@pytest.fixture(scope="module")
def pages():
    return bench.labelled_posts(posts=N_POSTS)


@pytest.fixture(scope="module")
def metrics(pages):
    return bench.score([(p, bench.derive_page(p)) for p in pages])


def test_floors_are_not_lowered():
    check_floors_not_lowered(FLOORS, REQUIRED)


def test_labelled_set_has_enough_facts(metrics):
    assert metrics["posts"] == N_POSTS
    assert metrics["parcels_gold"] >= 200 and metrics["listings_gold"] >= 60


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_metric_above_floor(metrics, name):
    assert metrics[name] >= FLOORS[name], (metrics["confusions"], metrics["wrong_fields"])


def test_replica_gold_is_deterministic():
    a = bench.labelled_posts(posts=30)
    b = bench.labelled_posts(posts=30)
    assert [p["gold"]["parcels"] for p in a] == [p["gold"]["parcels"] for p in b]
    assert [p["html"] for p in a] == [p["html"] for p in b]


def test_replica_tables_are_real_table_markup_inside_the_post_body(pages):
    from crawler import rules
    from crawler.extract import parse_page

    land = [p for p in pages if p["gold"]["parcels"]]
    with_table = 0
    for p in land[:60]:
        tree, _ = parse_page(p["html"])
        single = tree.xpath(rules.XP_SINGLE)[0]
        with_table += bool(single.xpath(".//table//tr/td"))
    assert with_table >= 30
