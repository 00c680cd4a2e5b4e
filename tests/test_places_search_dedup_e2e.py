"""Places, search and syndication groups end to end: a CLI crawl of a replica with syndicated copies."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3

import pytest

from crawler.replica import Faults, Network, ReplicaServer
from crawler.replica.syndication import Syndication, gold_groups, gold_pairs

NOW = dt.datetime(2026, 11, 30, 4, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """(net, out): three subsites of 70 posts, 15 % syndicated copies, crawled through the CLI."""
    from click.testing import CliRunner

    from cli import main
    from tests.conftest import FAST_ARGS

    net = Network(seed=2026, sites=3, posts=70, now=NOW)
    Syndication(0.15).attach(net)
    out = tmp_path_factory.mktemp("syn") / "data"
    with ReplicaServer(net, faults=Faults()) as srv:
        res = CliRunner().invoke(main, ["crawl", *net.hosts, "--out", str(out), "--proxy", srv.proxy_url,
                                        *FAST_ARGS], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return net, out


def _cli(*args):
    from click.testing import CliRunner

    from cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_every_article_has_its_subsites_region(crawled):
    from crawler.api import load
    from crawler.sites import registered

    net, out = crawled
    df = load(str(out), columns=["site", "post_id", "region_code", "region_name", "places", "place_names"])
    assert len(df) == sum(len(net.site(h).post_ids()) for h in net.hosts)
    for r in df.itertuples():
        site = registered(r.site)
        assert (r.region_code, r.region_name) == (site.region_code, site.region_name)
        assert len(r.places) == len(r.place_names)
    # a subsite's own county is what most of its posts name
    share = df.apply(lambda r: r.region_code in list(r.places), axis=1).mean()
    assert share > 0.5


def test_syndication_groups_against_gold(crawled):
    from crawler.dedup import pairs, read_duplicates

    net, out = crawled
    got = pairs(read_duplicates(out).to_pylist())
    gold = gold_pairs(net)
    assert len(gold) >= 20  # the replica really carries copies
    tp = len(got & gold)
    assert tp / len(got) >= 0.98
    assert tp / len(gold) >= 0.95
    # template siblings (two listings, two land results of one template, other numbers) never grouped
    kinds = {}
    for h in net.hosts:
        for pid in net.site(h).post_ids():
            kinds[(h, pid)] = net.site(h).gold(pid)["kind"]
    templated = {"factory", "land_result", "land_notice"}
    siblings = {p for p in got - gold if len({kinds[k] for k in p}) == 1 and kinds[next(iter(p))] in templated}
    assert not siblings


def test_stats_and_export_by_region_and_dedup(crawled, tmp_path):
    from crawler.api import load

    net, out = crawled
    res = _cli("stats", "--out", out, "--json")
    data = json.loads(res.output)
    assert {r["region_code"] for r in data["regions"]} == {"310116", "341122", "310117"}
    copies = sum(len(g) - 1 for g in gold_groups(net))
    assert data["syndication"]["groups"] > 0
    assert data["syndication"]["top"][0]["posts"] >= 2
    text = _cli("stats", "--out", out).output
    assert "Articles per county" in text and "Top syndicated stories" in text

    target = tmp_path / "sh.jsonl"
    res = _cli("export", "--out", out, "--to", target, "--region", "310000", "--dedup")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert {r["site"] for r in rows} == {"jinshan.021cf.cn", "songjiang.021cf.cn"}
    expect = load(str(out), region="上海市", dedup=True, columns=["site", "post_id"])
    assert sorted((r["site"], r["post_id"]) for r in rows) == sorted(zip(expect.site, expect.post_id))
    everything = load(str(out), columns=["site", "post_id"])
    one_each = load(str(out), dedup=True, columns=["site", "post_id"])
    assert abs((len(everything) - len(one_each)) - copies) <= max(1, copies // 20)
    assert len(load(str(out), region="来安", columns=["site"])) == len(net.site("laian.021cf.cn").post_ids())


def _containing(out, phrase):
    from crawler.api import load
    from crawler.search import normalize_search

    df = load(str(out), columns=["site", "post_id", "title", "text"])
    q = normalize_search(phrase).lower()
    return {(r.site, r.post_id) for r in df.itertuples()
            if q in normalize_search(r.title).lower() or q in normalize_search(r.text).lower()}


def _hits(out, *args):
    res = _cli("search", *args, "--out", out, "--limit", 1000, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_search_finds_exactly_the_posts_with_the_phrase(crawled):
    from crawler.api import load
    from crawler.replica.content import opencc

    net, out = crawled
    df = load(str(out), columns=["text"])
    company = next(m for t in df.text for m in re.findall(r"[\u4e00-\u9fff]{6}有限公司", t))
    phrases = [company, "枫泾镇", "半塔镇", "工业用地，", "（记者"]  # full-width input finds half-width text
    for phrase in phrases:
        hits = _hits(out, phrase)
        assert hits, phrase
        assert {(h["site"], h["post_id"]) for h in hits} == _containing(out, phrase), phrase
        published = [h["published"] for h in hits if h["published"]]
        assert published == sorted(published, reverse=True)
        assert all(set(h) >= {"url", "site", "post_id", "title", "published", "snippet"} for h in hits)
    trad = opencc("s2t").convert("产业园区")
    assert trad != "产业园区"
    assert {(h["site"], h["post_id"]) for h in _hits(out, trad)} == _containing(out, "产业园区")
    only = _hits(out, "工业", "--site", "laian.021cf.cn")
    assert only and {h["site"] for h in only} == {"laian.021cf.cn"}


def test_search_bad_input_and_a_missing_or_corrupt_index(crawled, tmp_path):
    from crawler.items import ARTICLE_SCHEMA

    net, out = crawled
    for query, code in (("", 2), ("，。！", 2)):
        res = _cli("search", query, "--out", out)
        assert res.exit_code == code and res.output.startswith("Error: ") and "Traceback" not in res.output
    res = _cli("search", "园区", "--out", tmp_path / "nothing")
    assert res.exit_code == 1 and res.output.startswith("Error: ")
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    expected = _containing(copy, "枫泾镇")
    shutil.rmtree(copy / "index")  # a dataset without an index: built on first use
    assert {(h["site"], h["post_id"]) for h in _hits(copy, "枫泾镇")} == expected
    (copy / "index" / "search.sqlite").write_bytes(b"not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (copy / "index" / f"search.sqlite{suffix}").unlink(missing_ok=True)
    res = _cli("search", "枫泾镇", "--out", copy, "--limit", 1000, "--json")
    assert res.exit_code == 0
    assert {(h["site"], h["post_id"]) for h in json.loads(res.stdout)} == expected
    res = _cli("search", "园区", "--out", out, "--doc-type", "land_result")
    if "doc_type" in ARTICLE_SCHEMA.names:
        assert res.exit_code == 0
    else:
        assert res.exit_code == 2 and res.output.startswith("Error: ") and "doc_type" in res.output


def test_validate_checks_the_search_index(crawled, tmp_path):
    net, out = crawled
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    res = _cli("validate", "--out", copy)
    assert res.exit_code == 0 and "search index" not in res.output
    db = sqlite3.connect(copy / "index" / "search.sqlite")
    rid = db.execute("SELECT id FROM docs LIMIT 1").fetchone()[0]
    db.execute("DELETE FROM docs WHERE id=?", (rid,))
    db.execute("DELETE FROM fts WHERE rowid=?", (rid,))
    db.commit()
    db.close()
    res = _cli("validate", "--out", copy)
    assert "missing from the search index" in res.output


def test_reextract_rebuilds_the_groups(crawled, tmp_path):
    from crawler.dedup import pairs, read_duplicates

    net, out = crawled
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = pairs(read_duplicates(copy).to_pylist())
    shutil.rmtree(copy / "duplicates")
    shutil.rmtree(copy / "index")
    res = _cli("reextract", "--out", copy)
    assert res.exit_code == 0, res.output
    assert pairs(read_duplicates(copy).to_pylist()) == before
    assert (copy / "index" / "search.sqlite").exists()


def _precision_recall(pairs):
    tp = npred = ngold = 0
    for pred, gold in pairs:
        tp += len(set(pred) & gold)
        npred += len(set(pred))
        ngold += len(gold)
    return tp / npred, tp / ngold


def test_places_against_the_replicas_gold_mentions(crawled):
    from crawler.api import load
    from crawler.replica.placegold import gold_places

    net, out = crawled
    df = load(str(out), columns=["site", "post_id", "places"])
    pairs = []
    for r in df.itertuples():
        gold = net.site(r.site).gold(r.post_id)
        pairs.append((list(r.places), gold_places(gold["title"] + "\n" + gold["text"])))
    precision, recall = _precision_recall(pairs)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)


def test_places_on_all_six_replica_regions():
    from crawler.places import find_places
    from crawler.replica.placegold import gold_places
    from crawler.sites import registered

    net = Network(seed=5, sites=6, posts=60, now=NOW)
    Syndication(0.12).attach(net)
    pairs = []
    for host in net.hosts:
        site = net.site(host)
        for pid in site.post_ids():
            text = site.gold(pid)["title"] + "\n" + site.gold(pid)["text"]
            pairs.append((find_places(text, registered(host).region_code)[0], gold_places(text)))
    precision, recall = _precision_recall(pairs)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)


def test_unknown_subsite_has_no_region_and_sites_shows_regions(tmp_path):
    from crawler.record import Page, page_to_record
    from tests.paths import SAMPLES

    body = (SAMPLES / "laian-post-1414.html").read_bytes()
    known = page_to_record(Page.of("http://laian.021cf.cn/index.php/post/1414.html", body))
    unknown = page_to_record(Page.of("http://newpark.021cf.cn/index.php/post/1414.html", body))
    assert (known["region_code"], known["region_name"]) == ("341122", "安徽省滁州市来安县")
    assert unknown["region_code"] is None and unknown["region_name"] is None
    assert "341122" in known["places"]  # 来安县半塔工业园 is named in the text
    res = _cli("sites", "--out", tmp_path, "--json")
    rows = {r["host"]: r for r in json.loads(res.output)["sites"]}
    assert rows["jinshan.021cf.cn"]["region_code"] == "310116"
    assert "310116 上海市金山区" in _cli("sites", "--out", tmp_path).output


def test_search_by_doc_type(crawled):
    from crawler.api import load
    from crawler.items import ARTICLE_SCHEMA

    if "doc_type" not in ARTICLE_SCHEMA.names:
        pytest.skip("this version writes no doc_type column")
    net, out = crawled
    df = load(str(out), columns=["site", "post_id", "doc_type"])
    doc_type = df.doc_type.dropna().value_counts().index[0]
    typed = {(r.site, r.post_id) for r in df.itertuples() if r.doc_type == doc_type}
    hits = _hits(out, "园区", "--doc-type", doc_type)
    assert hits and {h["doc_type"] for h in hits} == {doc_type}
    assert {(h["site"], h["post_id"]) for h in hits} == _containing(out, "园区") & typed


def test_duplicates_command_lists_the_groups(crawled):
    from crawler.api import load
    from crawler.dedup import read_duplicates

    net, out = crawled
    res = _cli("duplicates", "--out", out, "--json", "--limit", 1000)
    assert res.exit_code == 0, res.output
    groups = json.loads(res.output)
    stored = {}
    for r in read_duplicates(out).to_pylist():
        stored.setdefault(r["dup_group"], set()).add((r["site"], r["post_id"]))
    listed = {g["group"]: {(p["site"], p["post_id"]) for p in [g["first"], *g["copies"]]} for g in groups}
    assert listed == stored and len(listed) >= 10
    titles = load(str(out), columns=["site", "post_id", "title"])
    title = {(s, p): t for s, p, t in zip(titles.site, titles.post_id, titles.title)}
    sizes = [g["size"] for g in groups]
    assert sizes == sorted(sizes, reverse=True)
    for g in groups:
        posts = [g["first"], *g["copies"]]
        assert g["size"] == len(posts) and g["sites"] == sorted({p["site"] for p in posts})
        assert all(p["title"] == title[(p["site"], p["post_id"])] for p in posts)
        # the first post is the earliest of its group; the copies share most of its text
        assert g["first"]["similarity"] == 1.0 and all(0.5 <= c["similarity"] <= 1.0 for c in g["copies"])
        assert all(g["first"]["published"] <= c["published"] for c in g["copies"])

    site = net.hosts[1]
    res = _cli("duplicates", "--out", out, "--site", site, "--json", "--limit", 1000)
    assert [g["group"] for g in json.loads(res.output)] == [g["group"] for g in groups if site in g["sites"]]

    text = _cli("duplicates", "--out", out, "--limit", 2)
    lines = text.output.splitlines()
    assert lines[0].startswith(f"{groups[0]['size']} posts on ") and groups[0]["first"]["title"] in lines[0]
    assert groups[0]["first"]["url"] in lines[1] and "first" in lines[1]
    assert sum(1 for line in lines if " posts on " in line) == 2


@pytest.mark.parametrize("args, message", [
    (["--min-size", "1"], "--min-size must be at least 2"),
    (["--limit", "0"], "--limit must be at least 1"),
    (["--site", "nosuch.example.com"], "nosuch.example.com"),
])
def test_duplicates_command_bad_input(crawled, args, message):
    from click.testing import CliRunner

    from cli import main

    _net, out = crawled
    res = CliRunner().invoke(main, ["duplicates", "--out", str(out), *args])
    assert res.exit_code in (1, 2) and "Traceback" not in res.output
    assert res.output.startswith("Error: ") and message in res.output
