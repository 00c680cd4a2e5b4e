"""The facts quality gate on real-style posts: tests/facts_real/ against pinned floors.

The posts are hand-written after real 出让公告, 成交公示, 供地结果, deal news, broker ads and
planning notices (tests/facts_real/README.md), not the replica generator's layouts. Each body is
placed in a real tpure post page and goes through `extract_html` and `crawler.facts.derive` as a
crawl does; the metrics are those of bench/facts.py.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("bench_facts", Path(__file__).parents[1] / "bench" / "facts.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

#: The set scores 1.0 on every metric (171 posts, 143 parcels, 73 listings; the first runs of unseen
#: batches were lower: tests/facts_real/README.md). A floor just under it leaves room for one miss
#: per metric; the task's minimum is 0.9 for doc_type accuracy and parcel/listing P/R.
FLOORS = {"doc_type_accuracy": 0.98, "parcel_precision": 0.98, "parcel_recall": 0.98, "parcel_fields": 0.98,
          "listing_precision": 0.97, "listing_recall": 0.97, "listing_fields": 0.97}
MINIMUM = {"doc_type_accuracy": 0.9, "parcel_precision": 0.9, "parcel_recall": 0.9,
           "listing_precision": 0.9, "listing_recall": 0.9}


@pytest.fixture(scope="module")
def pages():
    return bench.real_posts()


@pytest.fixture(scope="module")
def metrics(pages):
    return bench.score([(p, bench.derive_page(p)) for p in pages], listing_key=bench._area_key)


def test_floors_are_at_least_the_minimum():
    for k, v in MINIMUM.items():
        assert FLOORS[k] >= v, k


def test_the_set_covers_every_kind_of_post(pages):
    assert len(pages) >= 90
    types = [p["gold"]["doc_type"] for p in pages]
    for t in ("land_notice", "land_result", "listing", "planning", "project"):
        assert types.count(t) >= 2 or t == "project" and types.count(t) >= 1, t
    assert sum(len(p["gold"]["parcels"]) for p in pages) >= 80
    assert sum(len(p["gold"]["listings"]) for p in pages) >= 30
    # posts of other types state no facts in their gold
    for p in pages:
        if p["gold"]["doc_type"] not in ("land_notice", "land_result"):
            assert p["gold"]["parcels"] == [], p["name"]
        if p["gold"]["doc_type"] != "listing":
            assert p["gold"]["listings"] == [], p["name"]


def test_gold_uses_the_dataset_field_names():
    from crawler.facts import LISTING_FIELDS, PARCEL_FIELDS

    for path in sorted(bench.REAL_DIR.glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        assert set(gold) <= {"title", "covers", "doc_type", "parcels", "listings"}, path.name
        for row in gold["parcels"]:
            assert set(row) <= set(PARCEL_FIELDS), (path.name, set(row) - set(PARCEL_FIELDS))
        for row in gold["listings"]:
            assert set(row) <= set(LISTING_FIELDS), (path.name, set(row) - set(LISTING_FIELDS))
        assert path.with_suffix(".html").exists()


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_metric_above_floor(metrics, name):
    assert metrics[name] >= FLOORS[name], "\n".join(metrics["misses"])


def test_scoring_notices_a_wrong_figure(pages):
    """The gate can fail: a parcel price off by a tenth is counted wrong."""
    page = next(p for p in pages if p["gold"]["parcels"] and "start_price_yuan" in p["gold"]["parcels"][0]
                and p["gold"]["parcels"][0]["start_price_yuan"])
    rec, tables, doc_type, parcels, listings, warnings = bench.derive_page(page)
    good = bench.score([(page, (rec, tables, doc_type, parcels, listings, warnings))])
    bad_rows = [dict(r, start_price_yuan=(r["start_price_yuan"] or 1) * 1.1) for r in parcels]
    bad = bench.score([(page, (rec, tables, doc_type, bad_rows, listings, warnings))])
    assert bad["parcel_fields"] < good["parcel_fields"]
