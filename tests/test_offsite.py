"""The fallback on hand-written pages of other Chinese/CJK sites (tests/offsite/, issue 14): how
government (TRS WCM, 政府信息公开), CMS (DedeCMS, PHPCMS, EmpireCMS, WordPress, Z-BlogPHP,
Discuz!), WeChat-mirror and portal (sina, 163, sohu, people, xinhua) article pages are built, in
UTF-8, GBK, Big5, Shift_JIS and EUC-KR. Floors are pinned constants (lowering one needs
PARKCORPUS_LOWER_FLOORS=1 and a reason in the commit message)."""

from __future__ import annotations

import importlib.util
from datetime import timedelta, timezone
from pathlib import Path

import lxml.html
import pytest

from floors import check_floors_not_lowered

from crawler import chrome, extract
from crawler.extract import extract_html

_spec = importlib.util.spec_from_file_location("bench_extract", Path(__file__).parents[1] / "bench" / "extract.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

#: What the offsite brief requires: mean F1 >= 0.95 and >= trafilatura favor_precision's, no page
#: more than 0.2 below it.
REQUIRED = {"macro_f1": 0.95, "margin_over_trafilatura": 0.0, "worst_page_gap": 0.2}
FLOORS = {"macro_f1": 0.97, "margin_over_trafilatura": 0.05, "worst_page_gap": 0.0}

#: Page families the set must keep covering (a page name starts with its family).
FAMILIES = ("trs-gov", "gov-xxgk", "gov-table-layout", "dedecms", "phpcms", "empirecms", "wordpress",
            "discuz", "wechat", "sina", "netease", "sohu", "people", "xinhua", "zblog", "taiwan", "japan",
            "korea", "city-portal-long-comments")


def _same(a: str, b: str) -> bool:
    """Equal after OpenCC t2s and with whitespace (full-width spaces too) collapsed."""
    return " ".join(bench.scored_text(a).split()) == " ".join(bench.scored_text(b).split())


@pytest.fixture(scope="module")
def scored():
    """(page, record, parkcorpus F1, trafilatura favor_precision F1) for every hand-written page."""
    return bench.score_pages(bench.offsite_pages(), lambda page: extract_html(page["html"], None, fetched_at=bench.NOW))


def test_floors_are_not_lowered():
    check_floors_not_lowered(FLOORS, REQUIRED)


def test_set_covers_the_families_and_encodings(scored):
    names = [page["name"] for page, *_ in scored]
    assert len(names) >= 16
    missing = [f for f in FAMILIES if not any(n.startswith(f) for n in names)]
    assert not missing
    codecs = {rec["encoding"] for _, rec, *_ in scored}
    assert {"utf-8", "gb18030", "big5hkscs", "cp932"} <= codecs and codecs & {"cp949", "euc_kr"}
    assert all(rec["template"] == "fallback" and rec["decode_errors"] == 0 for _, rec, *_ in scored)


def test_fallback_beats_trafilatura_on_other_sites(scored):
    ours = sum(s[2] for s in scored) / len(scored)
    theirs = sum(s[3] for s in scored) / len(scored)
    assert ours >= FLOORS["macro_f1"], sorted((round(s[2], 3), s[0]["name"]) for s in scored)[:4]
    assert ours >= theirs + FLOORS["margin_over_trafilatura"], (ours, theirs)
    behind = [(page["name"], round(o, 3), round(t, 3)) for page, _, o, t in scored
              if o < t - FLOORS["worst_page_gap"]]
    assert not behind, behind


def test_gold_chrome_is_on_the_page_and_not_in_the_gold(scored):
    """Each page's chrome lines really are on the page (so the leak test below can fail)."""
    for page, *_ in scored:
        page_text = bench.scored_text(" ".join(lxml.html.document_fromstring(page["decoded"]).text_content().split()))
        for snippet in page["snippets"]:
            assert snippet not in page["gold"]["text"], (page["name"], snippet)
            assert snippet in page_text, (page["name"], snippet)


def test_no_chrome_line_in_any_output(scored):
    leaking = {page["name"]: bench.leaks(bench.scored_text(rec["text"]), page) for page, rec, *_ in scored}
    assert not {name: found for name, found in leaking.items() if found}


def test_title_of_every_page(scored):
    wrong = [(page["name"], rec["title"]) for page, rec, *_ in scored if not _same(rec["title"], page["gold"]["title"])]
    assert not wrong
    assert all(rec["title"] not in rec["text"].split("\n") for _, rec, *_ in scored)


def _page_zone(offset: str) -> timezone:
    """The page's local time zone from the gold's ``utc_offset`` ("+09:00")."""
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = offset[1:].split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))


def test_published_day_and_time(scored):
    """The day on every page (in the page's own time zone); the minute wherever the record
    claims minute precision; and most pages that show a time get it."""
    wrong, timed, shown = [], 0, 0
    for page, rec, *_ in scored:
        gold = page["gold"]["published"]
        zone = _page_zone(page["gold"]["utc_offset"])
        got = rec["published"].astimezone(zone).strftime("%Y-%m-%d %H:%M") if rec["published"] else None
        exact = rec["published_precision"] in ("minute", "second") and len(gold) > 10
        timed += exact
        shown += len(gold) > 10
        want = gold if exact else gold[:10]
        if got is None or got[: len(want)] != want:
            wrong.append((page["name"], got, gold, rec["published_precision"]))
    assert not wrong
    assert timed >= 0.8 * shown, (timed, shown)


def _replica_paragraphs() -> list[str]:
    """Every gold paragraph of replica posts on six subsites (article text of all kinds)."""
    from crawler.replica import Network

    net = Network(seed=2026, sites=6, posts=60, now=bench.NOW)
    return [p for host in net.hosts for pid in net.site(host).post_ids() for p in net.site(host).gold(pid)["paragraphs"]]


def test_chrome_rules_never_match_article_lines(scored):
    """No fallback line rule removes a line of any gold article: these pages' and the replica's."""
    lines = [line for page, *_ in scored for line in page["gold"]["text"].split("\n")]
    lines += [line for spec in Path(bench.OFFSITE).glob("*.json")
              for line in __import__("json").loads(spec.read_text("utf-8"))["text"].split("\n")]
    lines += _replica_paragraphs()
    eaten = [(line, chrome.chrome_rule(line) or "disclosure/info/footer") for line in lines
             if chrome.chrome_rule(line) or chrome.is_disclosure_line(line) or extract.is_info_line(line)
             or extract.is_footer_line(line)]
    assert not eaten[:5]


@pytest.mark.parametrize("line, rule", [
    ("【打印本页】 【关闭窗口】", "controls"), ("字号：大 中 小", "controls"), ("分享到：微信 微博 QQ空间", "controls"),
    ("鲜花 鸡蛋 握手", "controls"), ("【纠错】", "controls"), ("点分享 点收藏 点点赞 点在看", "controls"),
    ("扫一扫在手机打开当前页", "qr"), ("长按识别二维码关注我们", "qr"), ("微信扫一扫", "qr"),
    ("特别声明：以上内容为自媒体平台用户上传并发布，本平台仅提供信息存储服务。", "statement"),
    ("本文来自投稿，不代表某某立场，如若转载，请注明出处：https://example.com/1.html", "reprint"),
    ("海量资讯、精准解读，尽在新浪财经APP", "app"), ("不用抽 不用搶 現在用APP看新聞 點我下載APP 按我看活動辦法", "app"), ("#产业园 #高新区", "hashtags"), ("阅读 3.2万", "counter"),
    ("浏览次数：1532", "counter"), ("责任编辑：", "empty-label"), ("附件：1.某某办法.docx", "attachment"),
    ("相关附件：申报表.doc", "attachment"), ("+关注", "controls"), ("举报/反馈", "controls"),
    ("【我要打印】【关闭窗口】", "controls"), ("展开剩余70%", "controls"), ("阅读原文", "controls"),
    ("上一页 1 2 3 下一页", "pagination"), ("기사입력 2024-09-20 09:05 | 최종수정 2024-09-20 10:12", "timestamps"),
    ("配信 2024年5月31日 19時10分", "timestamps"), ("共3页 第1页 尾页", "pagination"), ("您当前所在的位置：首页 > 政府信息公开", "breadcrumb"),
])
def test_chrome_rule_examples(line, rule):
    assert chrome.chrome_rule(line) == rule


@pytest.mark.parametrize("line", [
    "市民可下载“某某通”APP办理相关业务。", "扫描电镜等大型仪器设备已投入使用。", "企业可通过微信公众号在线申报。",
    "位置：东至秀州路，南至朱吕公路", "附件：申报表", "来源：某某日报", "责任编辑：郭明煜", "推荐一个好项目落地园区。",
    "分享经济在园区发展迅速，共享厂房模式受到企业欢迎。", "2024年6月17日", "下载量突破百万的国产APP",
    "扫码支付在手机上完成", "人脸识别技术取得突破", "#1号楼#2号楼均已封顶。", "2024 2025", "第3页",
    "全书共300页，分为三个部分。",
])
def test_chrome_rules_keep_article_lines(line):
    assert chrome.chrome_rule(line) is None


def test_comment_section_longer_than_the_article_is_dropped():
    """Without its heading's label the same page keeps the comments (the label is what drops them)."""
    page = next(p for p in bench.offsite_pages() if p["name"] == "city-portal-long-comments")
    rec = extract_html(page["html"], None, fetched_at=bench.NOW)
    assert bench.bigram_f1(rec["text"], page["gold"]["text"]) == 1.0
    unlabelled = page["html"].replace("网友留言（10条）".encode(), "大家说".encode())
    kept = extract_html(unlabelled, None, fetched_at=bench.NOW)
    assert "我们小区就在园区北边" in kept["text"]


def test_disclosure_metadata_table_is_dropped_and_a_data_table_kept():
    page = next(p for p in bench.offsite_pages() if p["name"] == "gov-xxgk-meta-table")
    rec = extract_html(page["html"], None, fetched_at=bench.NOW)
    assert "索" not in rec["text"].split("\n")[0] and "11330100002489376Q" not in rec["text"]
    phpcms = next(p for p in bench.offsite_pages() if p["name"] == "phpcms-v9")
    text = extract_html(phpcms["html"], None, fetched_at=bench.NOW)["text"]
    assert "设备购置补助 投资额的百分之八 二百万元" in text.split("\n")


PARAS = ["近日，某经济开发区举行重大项目集中开工仪式，共有十八个项目集中开工，总投资达到一百二十亿元，涵盖新能源、新材料和高端装备等领域。",
         "开发区相关负责人介绍，今年以来，开发区坚持项目为王，紧盯重点产业链精准招商，全年计划实施亿元以上项目六十个。",
         "下一步，开发区将强化要素保障，优化审批服务，推动项目早开工、早投产、早见效，为全市经济高质量发展作出更大贡献。"]


def _page(body: str, title: str = "某经济开发区十八个重大项目集中开工") -> bytes:
    return (f"<html><head><meta charset='utf-8'><title>{title}_新闻中心</title></head><body>"
            f"<div class='nav'><a href='/'>首页</a> | <a href='/a'>新闻</a> | <a href='/b'>政务</a> | <a href='/c'>服务</a></div>"
            f"<div class='main'><h1>{title}</h1><div class='con'>{body}</div></div></body></html>").encode("utf-8")


def _lines(html: bytes) -> list[str]:
    from crawler.normalize import ExtractOptions

    return extract_html(html, None, fetched_at=bench.NOW, options=ExtractOptions(convert="none"))["text"].split("\n")


def test_article_paragraph_with_many_links_is_kept():
    linked = ("根据<a href='/1'>《产业园区管理办法》</a>、<a href='/2'>《招商引资若干规定》</a>和<a href='/3'>《用地保障意见》</a>，"
              "开发区对入园项目实行分类审核，重点审查投资强度、亩均税收和能耗水平等指标，审核结果在十个工作日内反馈企业。")
    lines = _lines(_page("".join(f"<p>{p}</p>" for p in PARAS[:2]) + f"<p>{linked}</p>"))
    assert lines[-1].startswith("根据《产业园区管理办法》") and lines[:2] == PARAS[:2]
    # while the same links alone on a line are a link list, and the nav bar never shows
    assert "首页 | 新闻 | 政务 | 服务" not in lines


def test_data_table_with_paragraph_cells_stays_a_table():
    rows = [("项目名称", "投资额", "开工时间"), ("新能源电池材料项目", "六十亿元", "三月"), ("智能装备产业园", "四十二亿元", "五月")]
    table = "<table border='1'>" + "".join("<tr>" + "".join(f"<td><p>{c}</p></td>" for c in r) + "</tr>" for r in rows) + "</table>"
    lines = _lines(_page("".join(f"<p>{p}</p>" for p in PARAS) + table))
    assert lines[:3] == PARAS
    assert lines[3:] == [" ".join(r) for r in rows]


def test_related_heading_inside_the_body_block_does_not_drop_the_article():
    body = "".join(f"<p>{p}</p>" for p in PARAS) + "<h3>相关推荐（3）</h3><ul><li><a href='/x'>园区新闻一</a></li></ul>"
    assert _lines(_page(body))[:3] == PARAS
