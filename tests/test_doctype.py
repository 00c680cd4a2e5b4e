"""crawler.doctype: the document type of a post, from its body first (hand-written posts)."""

from __future__ import annotations

import pytest

from crawler import fact_rules
from crawler.doctype import classify, scores

CASES = [
    # (expected, title, body)
    ("land_notice", "金山区2025年第3期国有建设用地使用权出让公告",
     "经金山区人民政府批准，上海市金山区规划和自然资源局决定以挂牌方式出让1宗国有建设用地使用权。现将有关事项公告如下：\n"
     "一、挂牌出让地块的基本情况和规划指标要求\n二、竞买申请人须在挂牌截止前交纳竞买保证金。\n"
     "三、本次挂牌出让按照价高者得原则确定竞得人。\n四、挂牌时间为2025年4月8日至2025年4月21日。"),
    ("land_result", "滁州市国有建设用地使用权出让结果公示",
     "根据《招标拍卖挂牌出让国有建设用地使用权规定》，现将2025年第5批国有建设用地使用权挂牌出让结果公示如下：\n"
     "来工2025-03号地块，竞得人：滁州华锐汽车零部件有限公司，成交价2160万元。\n公示期10个工作日。"),
    # the title reads like project news; the body reports a land deal
    ("land_result", "项目为王！山阳镇再添优质产业项目",
     "近日，山阳镇JS-0504单元47-09地块通过上海市土地交易市场公开挂牌出让，经过16轮激烈竞价，"
     "最终由上海雅创新能源科技有限公司以1.26亿元竞得。\n该地块出让面积约5.2万平方米，土地用途为工业用地。\n"
     "项目计划明年一季度开工建设。"),
    ("listing", "松江九亭独栋厂房",
     "九亭镇独栋三层厂房出租，建筑面积4800平方米，一楼层高7.5米，二三楼承重800公斤/平方米。\n"
     "配电400KVA，可办环评，租金1.3元/平方米/天，价格可谈。"),
    ("planning", "关于《金山区亭林镇TL-0302单元控制性详细规划局部调整》的公示",
     "《金山区亭林镇TL-0302单元控制性详细规划局部调整》草案已编制完成，根据《中华人民共和国城乡规划法》，现予以公示，"
     "征求公众意见。\n公示时间：2025年5月6日至2025年6月5日。\n公示地点：亭林镇人民政府一楼大厅。"),
    ("planning", "上海某新材料有限公司扩建项目环境影响评价第二次信息公开",
     "根据《环境影响评价公众参与办法》，现对上海某新材料有限公司年产2万吨功能膜扩建项目环境影响报告书征求意见稿进行公示。\n"
     "公众可在公示期内通过信函、电子邮件等方式提出意见。"),
    ("project", "总投资12亿元！嘉善5个重点项目集中开工",
     "3月18日，嘉善县2025年一季度重大项目集中开工活动举行，5个重点项目集中开工，总投资12亿元。\n"
     "其中，嘉善凯盛精密机械有限公司年产300万套精密部件项目占地60亩，建成后预计年产值8亿元。\n"
     "县领导出席开工仪式并为项目培土奠基。"),
    ("policy", "滁州市关于印发《支持制造业高质量发展若干政策》的通知",
     "各县（市、区）人民政府，市政府各部门：\n现将《支持制造业高质量发展若干政策》印发给你们，请认真贯彻执行。\n"
     "一、支持企业技术改造。对年度设备投资超过1000万元的技术改造项目，按设备投资额的10%给予奖补。\n"
     "二、鼓励企业上规升级。对首次纳入规上统计的工业企业给予一次性奖励。\n三、本政策自印发之日起施行。"),
    ("statistics", "前三季度金山区规上工业总产值增长6.8%",
     "记者从金山区统计局获悉，前三季度，全区规模以上工业总产值达1568.2亿元，同比增长6.8%。\n"
     "其中，新材料产业产值同比增长12.3%，生物医药产业产值同比增长9.6%，增速分别高于全区平均5.5个和2.8个百分点。\n"
     "全区规上工业企业实现营业收入1702.4亿元，同比增长5.9%。"),
    ("other", "国庆节放假通知", "根据国务院办公厅通知，国庆节放假时间为10月1日至7日，共7天。\n节日期间请注意安全。"),
]


@pytest.mark.parametrize("expected, title, body", CASES, ids=[c[0] + "-" + c[1][:8] for c in CASES])
def test_hand_written_posts(expected, title, body):
    assert classify(title, body) == expected


def test_every_type_is_in_the_vocabulary():
    assert {c[0] for c in CASES} == set(fact_rules.DOC_TYPES)


def test_body_outweighs_a_misleading_title():
    body = CASES[0][2]
    assert classify("金山区招商引资再传捷报 3个项目集中签约", body) == "land_notice"


def test_a_notice_naming_how_the_winner_is_chosen_is_not_a_result():
    # "确定竞得人" is a rule of the sale, not a winner
    s = scores("", CASES[0][2])
    assert s["land_result"] < s["land_notice"]


def test_a_result_table_decides_for_a_result():
    table = {"caption": None, "header": ["地块编号", "出让面积（平方米）", "成交价（万元）", "竞得人"],
             "rows": [["A-1", "12000", "860", "上海星辰环保科技有限公司"]]}
    assert classify("土地出让", "现将出让情况公示如下：", [table]) == "land_result"
    empty = dict(table, rows=[["A-1", "12000", "", ""]])
    assert classify("土地出让", "现将出让地块情况公告如下：", [empty]) == "land_notice"


def test_empty_post_is_other():
    assert classify(None, None) == "other"
    assert classify("", "") == "other"


def test_a_zoning_notice_with_a_plot_table_stays_planning():
    table = {"caption": None, "header": ["地块编号", "用地性质", "用地面积（公顷）", "容积率"],
             "rows": [["TL-0302-05", "工业用地", "3.2", "≤2.0"], ["TL-0302-06", "研发用地", "1.8", "≤2.5"]]}
    body = ("《金山区亭林镇TL-0302单元控制性详细规划局部调整》草案已形成，现予公示，征求公众意见。\n"
            "调整后地块指标如下表。\n公示时间为2025年5月6日至6月5日。")
    assert classify("亭林镇控规局部调整公示", body, [table]) == "planning"
