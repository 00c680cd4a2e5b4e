"""The Aho-Corasick name scan and the local-stem index give what the Python scan gave (crawler.places).

The reference (tests/places_helpers.PythonScanGazetteer) is the matcher before the automaton, run
side by side on replica articles, the vendored real pages, the labelled places set and texts made
of names run together, under every registered subsite's region and a few others.
"""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from crawler import places, sites
from tests.places_helpers import EXTRA_REGIONS, PythonScanGazetteer, gold_texts, name_soup, page_texts, replica_texts


@pytest.fixture(scope="module")
def both():
    g = places.gazetteer()
    return g, PythonScanGazetteer(g)


@pytest.fixture(scope="module")
def regions():
    return sorted({s.region_code for s in sites.load_registry().values() if s.region_code}) + list(EXTRA_REGIONS)


def _assert_same(g, old, texts, regions):
    differ, named = [], 0
    for text in texts:
        for region in regions:
            new_c, old_c = g._candidates(text, region), old._candidates(text, region)
            new_f, old_f = g.find(text, region), old.find(text, region)
            if new_c != old_c or new_f != old_f:
                differ.append((region, text[:80], old_f, new_f))
            named += bool(new_f[0])
    assert not differ, differ[:5]
    return named


def test_replica_articles_give_the_same_places(both, regions):
    texts = [t for _, t in replica_texts(posts=60)]
    named = _assert_same(*both, texts, regions)
    assert len(texts) >= 300 and named >= len(texts) * len(regions) // 2  # the set does name places


def test_real_pages_and_the_labelled_set_give_the_same_places(both, regions):
    texts = page_texts()
    gold = gold_texts()
    assert len(texts) >= 40 and len(gold) >= 50
    named = _assert_same(*both, texts + [t for _, t in gold], regions)
    named += _assert_same(*both, [t for _, t in gold], sorted({r for r, _ in gold if r}))
    assert named >= len(texts)


def test_names_run_together_give_the_same_candidates_and_places(both, regions):
    """Overlapping, nested and straddling names, park suffixes, roads and astral characters."""
    g, old = both
    texts = name_soup(g, count=200)
    _assert_same(g, old, texts, regions[:3] + [None])
    # the texts are dense in names, so the candidate lists being equal is a strong check
    assert sum(len(g._candidates(t, None)) for t in texts) > 10 * len(texts)


def test_local_stems_are_the_ones_the_comprehension_gave(both, regions):
    g, _ = both
    counties = sorted(c for c, u in g.units.items() if u.level == "county")
    sample = regions + random.Random(3).sample(counties, 120)
    nonempty = 0
    for region in sample:
        ref = PythonScanGazetteer(g).local_stems(region)  # fresh: the comprehension for this region
        got = g.local_stems(region)
        assert got == ref, region
        assert list(got) == list(ref), region  # and in the same order
        nonempty += bool(got)
    assert nonempty >= 60
    assert g.local_stems(None) == {} and g.local_stems("") == {}


def test_a_gazetteer_without_names_finds_nothing():
    g = places.Gazetteer([])
    assert g.find("上海市金山区枫泾镇", "310116") == ([], [])
    g = places.Gazetteer([("310000", "province", "上海市", "上海")])
    assert g.find("😀上海市金山区", None) == (["310000"], ["上海市"])


def test_the_fork_servers_warm_up_builds_the_automaton_and_the_local_stems():
    """crawler.warm (imported once by the extraction pool's fork server) leaves both built, so
    forked workers share them instead of each building them on its first page."""
    probe = ("import crawler.warm; from crawler.places import gazetteer; g = gazetteer(); "
             "print('_automaton' in g.__dict__, '_local_index' in g.__dict__)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "True"]
