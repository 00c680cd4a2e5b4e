"""The replica's syndicated copies: deterministic, earlier sources on other subsites, pages that show them."""

from __future__ import annotations

import datetime as dt

from crawler.replica import Network, render_post
from crawler.replica.syndication import Syndication, gold_groups, gold_pairs

NOW = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)


def _net(seed=3, rate=0.15):
    net = Network(seed=seed, sites=3, posts=80, now=NOW)
    Syndication(rate).attach(net)
    return net


def test_copies_are_deterministic_and_copy_an_earlier_post_of_another_subsite():
    a, b = _net(), _net()
    assert gold_pairs(a) == gold_pairs(b) and gold_pairs(a)
    for group in gold_groups(a):
        origs = [k for k in group if a.site(k[0]).gold(k[1])["syndicated_from"] is None]
        assert len(origs) == 1
        (oh, op), = origs
        orig = a.site(oh).gold(op)
        for h, p in group - {(oh, op)}:
            copy = a.site(h).gold(p)
            assert h != oh and copy["syndicated_from"] == orig["url"]
            assert copy["published"] > orig["published"]
            # the story's paragraphs are carried over (a paragraph may be dropped, a sentence added)
            shared = set(copy["paragraphs"]) & set(orig["paragraphs"])
            assert len(shared) >= 0.6 * len(set(orig["paragraphs"]))
            assert copy["kind"] == orig["kind"] and copy["parcels"] == orig["parcels"]


def test_the_page_and_the_list_title_show_the_copy():
    net = _net()
    group = next(iter(gold_groups(net)))
    for h, p in group:
        site = net.site(h)
        gold = site.gold(p)
        html, _ = render_post(site, p, net.now())
        page = html.decode("utf-8")
        if not gold["traditional"]:
            assert gold["paragraphs"][1][:10] in page
        assert site.post_title(p) == gold["title"]


def test_no_copies_without_syndication_and_rate_zero():
    plain = Network(seed=3, sites=3, posts=80, now=NOW)
    assert gold_groups(plain) == []
    assert "syndicated_from" not in plain.site(plain.hosts[0]).gold(plain.site(plain.hosts[0]).post_ids()[0])
    assert gold_pairs(_net(rate=0.0)) == set()
