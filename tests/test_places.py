"""Place mentions as GB/T 2260 codes (crawler.places) and the subsites' regions (crawler.sites)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler import places, sites
from crawler.replica import Network

GOLD = Path(__file__).parent / "cases" / "places_gold.tsv"


def _gold_rows():
    for line in GOLD.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        region, codes, text = line.split("\t")
        yield (None if region == "-" else region), (set() if codes == "-" else set(codes.split(","))), text


def test_precision_and_recall_on_the_labelled_set():
    tp = fp = fn = 0
    wrong = []
    rows = list(_gold_rows())
    for region, gold, text in rows:
        got = set(places.find_places(text, region)[0])
        tp += len(got & gold)
        fp += len(got - gold)
        fn += len(gold - got)
        if got != gold:
            wrong.append((text, sorted(gold), sorted(got)))
    assert len(rows) >= 80 and tp >= 80
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.95 and recall >= 0.95, (precision, recall, wrong)


@pytest.mark.parametrize("text,region,codes", [
    # the subsite's region resolves short and ambiguous names
    ("金山区召开2025年重大工程建设推进会", "310116", ["310116"]),
    ("来安招商引资再传捷报", "341122", ["341122"]),
    ("嘉兴港区与金山签署跨省域合作框架协议", "310116", ["330400", "310116"]),
    ("新安镇召开重点项目推进会", "341122", ["341122"]),
    # towns and parks map to their county
    ("山阳镇“田园综合体”项目完成规划设计", "310116", ["310116"]),
    ("山阳镇“田园综合体”项目完成规划设计", None, []),  # 山阳镇 of 金山区 and of 宝应县
    ("金山区山阳镇“田园综合体”", None, ["310116"]),
    ("半塔镇“红色+生态”文旅融合项目", None, ["341122"]),  # the only 半塔镇
    ("枫泾工业区一幢厂房出租", None, ["310116"]),
    ("车墩影视基地新项目签约落地", "310117", ["310117"]),
    # a parent written before its child gives the child, named as written
    ("上海市金山区枫泾镇单层厂房出租", None, ["310116"]),
    ("江苏省昆山市花桥镇", None, ["320583"]),
    # never a code from inside a longer word
    ("东方美谷产业园招商", None, []),
    ("项目位于中山路与建设路交叉口", "310116", []),
    ("通州湾示范区新签约项目8个", None, []),
    ("杭州湾开发区新增注册企业36家", "310120", []),
    ("企业负责人表示，将来安排专人对接", "341122", []),
    ("带来安全隐患的企业限期整改", "341122", []),
    ("本次出让地块东至规划三路，南至建设路", "341122", []),
    ("双方签署合作框架协议，各位来宾出席", None, []),
    ("上海市土地交易市场", None, ["310000"]),
    # a county-level city's short name that is a person's name in the sentence
    ("园区相关负责人邹平表示，将继续加大招商力度", "310117", []),
    ("邹平市召开招商推介会", "310117", ["371681"]),
    # overlapping candidates: the province wins over a county's short name (来|安徽)
    ("越来越多的企业前来安徽投资", "341122", ["340000"]),
    # namesakes without context are left out rather than guessed
    ("普陀区召开推进会", None, []),
    ("普陀区召开推进会", "310116", ["310107"]),
    ("南通市通州区举办招商推介会", None, ["320612"]),
    ("北京市通州区城市副中心建设加快推进", None, ["110112"]),
])
def test_find_places_cases(text, region, codes):
    assert places.find_places(text, region)[0] == codes


def test_names_are_as_written_and_parallel_to_codes():
    codes, names = places.find_places("上海市金山区枫泾镇厂房出租，距嘉兴约30公里，滁州来安县也有", "310116")
    assert codes == ["310116", "330400", "341122"]
    assert names == ["上海市金山区枫泾镇", "嘉兴", "滁州来安县"]


def test_the_most_specific_code_wins_over_its_parents():
    codes, _ = places.find_places("上海将推进产业转型，金山区率先试点", None)
    assert codes == ["310116"]
    assert places.find_places("上海将推进产业转型", None)[0] == ["310000"]


def test_empty_and_placeless_text():
    assert places.find_places("", "310116") == ([], [])
    assert places.find_places(None) == ([], [])
    assert places.find_places("会议强调，要坚持把发展经济的着力点放在实体经济上。", "310116") == ([], [])


def test_full_name_and_vintage():
    assert places.full_name("341122") == "安徽省滁州市来安县"
    assert places.full_name("310116") == "上海市金山区"
    assert places.full_name("999999") is None
    assert "2023" in places.vintage()


def test_every_registered_subsite_has_a_region_that_matches_the_gazetteer():
    reg = sites.load_registry()
    assert reg["jinshan.021cf.cn"].region_code == "310116"
    assert reg["laian.021cf.cn"].region_code == "341122"
    for site in reg.values():
        assert site.region_code is not None, site.host
        assert site.region_name == places.full_name(site.region_code), site.host


def test_unregistered_or_unknown_region_is_none():
    got, _ = sites.resolve_sites(["pinghu.021cf.cn"])
    assert got[0].region_code is None and got[0].region_name is None
    reg = sites.load_registry('[[site]]\nhost = "x.021cf.cn"\nname = "x"\n')
    assert reg["x.021cf.cn"].region_code is None


def test_replica_posts_name_their_own_county():
    """Land results name city, district and town: every one must give the subsite's county."""
    net = Network(seed=11, sites=6, posts=40)
    reg = sites.load_registry()
    checked = 0
    for host in net.hosts:
        site = net.site(host)
        region = reg[host].region_code
        for pid in site.post_ids():
            gold = site.gold(pid)
            if gold["kind"] not in ("land_result", "planning"):
                continue
            codes, _ = places.find_places(gold["title"] + "\n" + gold["text"], region)
            assert region in codes, (host, pid, codes)
            checked += 1
    assert checked >= 10
