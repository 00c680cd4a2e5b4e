"""Cleaning rules: each boilerplate rule removes its lines, and no rule eats article text."""

from __future__ import annotations

import pytest

from crawler import rules
from crawler.clean import Block, boilerplate_rule, clean_blocks, clean_line, is_teaser_line, keep_rule

ARTICLE = [
    "镇江近日出台了培育发展新质生产力的指导性文件，明确重点从产业体系、绿色发展、内生动力等五个方面发力。",
    "根据《实施意见》，到2026年，镇江新质生产力发展取得阶段性成效。(记者朱婕通讯员仲楠徐若鹏)",
]
TEASERS = ["镇江市区2025年度城乡居民医保参保缴...", "镇江市人民代表大会常务委员会公告", "冷空气“来势汹汹” 明晨蕞低气温跌...",
           "市管退休干部考察调研重大项目建设情...", "宁滁城际铁路滁州段建设进展顺利"]


def _p(*texts, **kw):
    return [Block("p", t, **kw) for t in texts]


@pytest.mark.parametrize(
    "line, rule",
    [
        ("葛毅明微信号", "wechat-caption"),
        ("来安招商专员微信号", "wechat-caption"),
        ("产业招商/厂房土地租售：400 0123 021", "hotline"),
        ("或微信/手机：135246785151356468684613391219793", "wechat-phone"),
        ("请说明您的需求、用途、税收、公司、联系人、手机号，以便快速帮您对接资源。", "needs-prompt"),
        ("长按/扫一扫加葛毅明的微信号", "qr-prompt"),
        ("扫一扫关注公众号", "qr-follow"),
        ("扫描二维码推送至手机访问。", "qr-push"),
        ("版权声明：本文由中国产业园区招商网发布，如需转载请注明出处。", "copyright"),
        ("本文链接：http://jinshan.021cf.cn/index.php/post/3756.html", "permalink"),
        ("分享给朋友：", "share"),
        ("微博 QQ 微信 豆瓣 QQ空间 领英", "share"),
        ("标签: 新质生产力 镇江 产业政策", "tags"),
        ("上一篇：扬州前7个月规上工业增加值增长10.2%", "prevnext"),
        ("13524678515 13564686846", "phone-run"),
        ("电话：13524678515", "phone-run"),
    ],
)
def test_each_boilerplate_rule_catches_its_line(line, rule):
    assert boilerplate_rule(line) == rule


@pytest.mark.parametrize(
    "line",
    [
        "项目咨询可拨打园区服务热线021-57123456或联系招商专员13524678515，园区将提供全程代办服务。",
        "五、联系方式：联系地址：滁州市公共资源交易中心；联系电话：0550-8440904；联系人：何先生。",
        "企业负责人给记者算了一笔账：订单增长三成、产能利用率超过九成、新增就业岗位620余个...",
        "记者在项目现场看到，塔吊林立、机器轰鸣，工人们正抢抓工期加紧施工……",
        "据悉，园区已开通企业服务微信号，企业可随时在线咨询政策和办理业务，平均响应时间不超过两小时。",
        "来源：中国滁州网",
        "2026年10月16日",
        "地块名称 出让面积（平方米） 容积率 土地用途",
    ],
)
def test_article_lines_match_no_boilerplate_rule(line):
    assert boilerplate_rule(line) is None


def test_keep_rules_protect_bylines_sources_captions():
    assert keep_rule("来源：中国滁州网") == "source"
    assert keep_rule("责任编辑：尹敏") == "source"
    assert keep_rule("原标题：园区跑出高质量发展“加速度”") == "source"
    assert keep_rule("（记者朱婕通讯员仲楠徐若鹏）") == "byline"
    assert keep_rule("图为签约仪式现场") == "caption"
    assert keep_rule("2026年10月16日") == "date-line"
    for line in ("来源：中国滁州网", "图为签约仪式现场", "2026年10月16日"):
        assert not is_teaser_line(line)


def test_clean_line_strips_indents():
    assert clean_line("\u3000\u3000金山网讯 踏上新征程\xa0") == "金山网讯 踏上新征程"
    assert clean_line("  10月产量继续超8000辆   北汽蓝谷 ") == "10月产量继续超8000辆 北汽蓝谷"


def test_trailing_teaser_run_is_removed_after_the_article():
    blocks = _p(*ARTICLE, "来源：中国滁州网", *TEASERS)
    assert [b.text for b in clean_blocks(blocks)] == [*ARTICLE, "来源：中国滁州网"]


def test_teaser_run_with_no_truncated_title_is_still_removed():
    whole = [t for t in TEASERS if not t.endswith("...")] + ["来安花红产业园年产值突破亿元"]
    assert len(whole) >= rules.TEASER_MIN_RUN
    assert [b.text for b in clean_blocks(_p(*ARTICLE, *whole))] == ARTICLE


def test_short_runs_and_short_lines_inside_the_article_stay():
    # Two short lines at the end (a signature and its date) are not a teaser run.
    sig = ["上海市金山区规划和自然资源局", "2026年10月16日"]
    assert [b.text for b in clean_blocks(_p(*ARTICLE, *sig))] == ARTICLE + sig
    # Subheads between paragraphs stay whatever their number.
    heads = ["优化营商环境 提升服务效能", "强化要素保障 推动项目落地", "聚焦主导产业 精准招商引资"]
    mixed = _p(ARTICLE[0], *heads, ARTICLE[1])
    assert [b.text for b in clean_blocks(mixed)] == [ARTICLE[0], *heads, ARTICLE[1]]
    # A page made only of short lines is left alone (nothing to tell them from).
    assert [b.text for b in clean_blocks(_p(*TEASERS))] == TEASERS


def test_captions_lists_and_tables_are_not_teasers():
    blocks = (_p(*ARTICLE) + [Block("image", "", True, "厂房实拍"), Block("p", "厂房外景", True)]
              + [Block("item", "推动生产性服务业提质赋能"), Block("item", "优化生产力布局"), Block("row", "项目 参数")]
              + _p("规划范围示意图", aligned=True))
    assert [b.text for b in clean_blocks(blocks)] == [*ARTICLE, "厂房外景", "推动生产性服务业提质赋能", "优化生产力布局", "项目 参数", "规划范围示意图"]


def test_contact_block_and_qr_images_are_removed():
    contact = [Block("image", "", True, "葛毅明微信 http://x/upload/1.jpg"), *_p(
        "葛毅明微信号", "产业招商/厂房土地租售：400 0123 021", "或微信/手机：135246785151356468684613391219793",
        "请说明您的需求、用途、税收、公司、联系人、手机号，以便快速帮您对接资源。", "长按/扫一扫加葛毅明的微信号", "扫一扫关注公众号")]
    blocks = _p(*ARTICLE) + _p(*TEASERS) + contact
    assert [b.text for b in clean_blocks(blocks)] == ARTICLE


def _sample_lines() -> list[str]:
    """Every text line of the real site samples (post pages and feed bodies), as written."""
    from pathlib import Path

    import lxml.html

    lines = []
    for path in sorted((Path(__file__).parent / "samples").glob("*.*ml")):
        root = lxml.html.fromstring(path.read_bytes())
        for el in root.iter():
            for piece in (el.text, el.tail):
                lines.extend(clean_line(t) for t in (piece or "").splitlines() if t.strip())
    return lines


def test_union_of_rules_names_the_same_rule_as_each_rule_alone():
    # clean.py rules most lines out with one regex per rule list; it must say exactly what the
    # rules say one by one, on real lines (the samples' boilerplate included) and traditional twins
    from crawler import clean

    def one_by_one(text):
        if not text:
            return None
        lines = clean._scripts(text)
        for line in lines:
            for name, pattern in rules.KEEP_LINE_PATTERNS:
                if pattern.search(line):
                    return None
        for name, pattern in rules.CONTACT_LINE_PATTERNS:
            if any(pattern.fullmatch(line) for line in lines):
                return name
        return "phone-run" if any(clean._is_phone_run(line) for line in lines) else None

    lines = _sample_lines()
    assert len(lines) > 200
    named = [boilerplate_rule(line) for line in lines]
    assert named == [one_by_one(line) for line in lines]
    assert len({n for n in named if n}) >= 5  # the samples do carry several kinds of boilerplate
