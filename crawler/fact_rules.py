"""Knowledge about land notices, deal announcements and property listings, as data.

Nothing here runs; `crawler.tables`, `crawler.doctype` and `crawler.facts` read these constants.
The wordings are those of 国有建设用地使用权挂牌/拍卖/招标出让公告, 成交公示/结果公示, 中指研究院
土地数据 posts and 厂房/仓库出租出售 ads as the park sites and the land exchanges they copy from
write them (see the hand-written cases in tests/test_facts.py for one example of each).
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------------------
# Tables: limits (hostile or broken markup must not blow up memory)
# --------------------------------------------------------------------------------------
#: A rowspan/colspan above this is a typo (``colspan="1000"`` seen in Word exports): capped.
MAX_SPAN = 50
#: Columns and rows kept per table, tables kept per body: far beyond any real notice.
MAX_COLS = 40
MAX_ROWS = 1000
MAX_TABLES = 50
#: A header cell is a label; longer cells are data (a parcel's boundaries, a buyer's name).
MAX_LABEL_CHARS = 24
#: Words of column labels in land and listing tables: a first row holding one of them (and no
#: long figures) is the header even when the editor used ``td`` for it.
RE_HEADER_WORD = re.compile(
    r"序号|编号|名称|地块|宗地|位置|坐落|四至|面积|用途|性质|容积率|密度|绿地率|高度|年限|年期|起始价|起拍价|起价|"
    r"成交价|成交|价格|价款|单价|楼面价|保证金|竞得|受让|竞买|出让方式|方式|时间|日期|备注|项目|参数|层高|承重|"
    r"荷载|电力|租金|售价|地址|类型|单位|万元|平方米|公顷|亩"
)

#: A cell that is only a unit, as some notices put the units in a row of their own under the
#: labels ("（平方米）", "万元", "年", "%", "元/平方米").
RE_UNIT_CELL = re.compile(
    r"\s*[（(]?\s*(?:单位[:：]?)?\s*(?:平方米|㎡|m2|m²|亩|公顷|万平方米|万元|亿元|元|年|%|％|米|元/(?:平方米|㎡|亩))\s*[）)]?\s*"
)
#: Units stated once for a whole table in a note row over it ("面积单位：平方米　金额单位：万元"):
#: they apply to bare figures in columns whose label names no unit.
RE_CAPTION_AREA_UNIT = re.compile(r"面积(?:单位)?[:：]\s*(平方米|㎡|亩|公顷|万平方米)|单位[:：]\s*(平方米|㎡|亩|公顷)")
RE_CAPTION_MONEY_UNIT = re.compile(r"(?:金额|价格|价款|出让金)(?:单位)?[:：]\s*(万元|亿元|元)|单位[:：][^。]{0,12}?(万元|亿元)")
#: Cells that are data even when they hold a label word: a figure of 3+ digits, a parcel name
#: ("枫泾镇新农路北侧地块"), an address ("兴工路88号"), a company.
RE_DATA_CELL = re.compile(r"[0-9０-９]{3,}|[0-9０-９]+号$|.{3,}(?:地块|宗地|路|公司|集团)$")

# --------------------------------------------------------------------------------------
# Parcel tables: header synonyms -> field, FIRST match wins (specific before general)
# --------------------------------------------------------------------------------------
#: (field, pattern on the header cell with spaces removed). ``None`` fields are recognised
#: and ignored, so that e.g. 建筑面积 (floor area) is never read as the parcel's area and
#: 竞买保证金 never as a price.
PARCEL_HEADER_RULES: list[tuple[str | None, re.Pattern[str]]] = [
    (None, re.compile(r"^序号$|^No\.?$")),
    # deposits and increments are prices of something else
    (None, re.compile(r"保证金|增价幅度|加价幅度|竞价阶梯")),
    # the notice's own number (上海 "地块公告号") and the national supervision code name no parcel
    (None, re.compile(r"公告号|公告编号|监管号")),
    # 标准地 conditions in 万元/亩 (投资强度, 亩均税收, 亩均产值) are no price of the land
    (None, re.compile(r"投资强度|亩均|税收|产值|能耗")),
    # one column for both ("地块名称及位置"): its cell names the parcel
    ("parcel_name", re.compile(r"(?:名称|编号)(?:及|和|与|/)(?:位置|坐落|四至)")),
    # floor area and building height are planning indicators, not the parcel's area; land taken
    # for roads or green belts beside the parcel (代征道路面积, 代征绿地面积) is not transferred
    (None, re.compile(r"建筑面积|建筑限高|建筑高度|建筑密度|绿地率|代征|代建")),
    ("floor_price", re.compile(r"楼面(地)?价|楼面单价")),
    ("unit_price", re.compile(r"(成交|出让)?单价|地面(地)?价|亩均(价|单价)|元/(平方米|㎡|m2|亩)")),
    # 起始总价 beside 起始单价 (Zhejiang residential notices): the total is the start price
    ("start_price", re.compile(r"起始价|起始总价|起拍价|起价|起叫价|底价|出让价(格)?(起|$)|挂牌价")),
    ("deal_date", re.compile(r"成交(时间|日期)|竞得(时间|日期)|签约(时间|日期)|合同签订")),
    ("buyer", re.compile(r"竞得人|竞得单位|竞得者|竞得企业|受让人|受让单位|受让方|买受人|竞得方|土地使用权人|"
                         r"成交(单位|人|企业|方)|中标人|中标单位")),
    # 中标价 is the deal price of a tender (招标出让)
    ("deal_price", re.compile(r"成交(总)?价|成交金额|成交价款|出让价款|出让金|总价|出让价格|中标价|中标金额|成交")),
    # a column of all the planning conditions ("规划条件": "建筑密度≥40%，容积率≥1.0…"): its plot ratio
    # is read from the clause naming 容积率 only (facts.parse_plot_ratio)
    # the bounds in rows or columns of their own ("容积率下限 | 1.2", "容积率上限 | 2.0")
    ("plot_ratio_lo", re.compile(r"容积率下限|最小容积率|容积率\(?（?下限")),
    ("plot_ratio_hi", re.compile(r"容积率上限|最大容积率|容积率\(?（?上限")),
    ("plot_ratio", re.compile(r"容积率|规划(?:条件|指标|要求)$|规划(?:设计)?条件")),
    ("term", re.compile(r"年限|年期")),
    ("land_use", re.compile(r"用途|用地性质|土地性质|用地类型|土地类型")),
    ("method", re.compile(r"出让方式|供地方式|交易方式")),
    # 座落 is the older spelling of 坐落, still in many county notices ("土地座落")
    ("location", re.compile(r"位置|坐落|座落|四至|地址|地点|所在")),
    ("area", re.compile(r"面积")),
    ("parcel_name", re.compile(r"地块|宗地|名称|编号|地号|项目")),
]

# --------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------
#: The transferred area: a table that also states a total (总用地面积) or gross area takes this one.
RE_TRANSFER_AREA = re.compile(r"出让(?:土地|宗地)?面积|出让用地面积")
# --------------------------------------------------------------------------------------
#: Area units -> square metres. 亩 is 10000/15 m² (the issue's 666.67).
AREA_UNITS: dict[str, float] = {
    "万平方米": 10_000.0, "万㎡": 10_000.0, "万m2": 10_000.0, "万m²": 10_000.0,
    "平方米": 1.0, "平米": 1.0, "㎡": 1.0, "m2": 1.0, "m²": 1.0, "平方": 1.0,
    "公顷": 10_000.0, "亩": 666.67,
}
#: Money units -> yuan.
MONEY_UNITS: dict[str, float] = {"亿元": 1e8, "亿": 1e8, "万元": 1e4, "万": 1e4, "元": 1.0}

_NUM = r"(?:[0-9０-９]+(?:[.．][0-9０-９]+)?|[零〇一二两三四五六七八九十百千万亿点]+)"
#: A figure with thousands separators ("12,600.5") or a plain/Chinese figure.
_NUMC = rf"(?:[0-9０-９]{{1,3}}(?:[,，][0-9０-９]{{3}})+(?:[.．][0-9０-９]+)?|{_NUM})"
_AREA_UNIT = "|".join(sorted(map(re.escape, AREA_UNITS), key=len, reverse=True))
#: A figure with an area unit ("23,456.7平方米", "35.2亩", "2.5公顷").
RE_AREA = re.compile(rf"({_NUMC})\s*({_AREA_UNIT})")
#: Capital numerals (大写) as deal confirmations and result notices write amounts: "人民币壹仟贰佰陆拾万元整".
CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖拾佰仟"
#: A money figure ("1,500万元", "2.3亿元", "860元", "壹仟贰佰陆拾万元整").
RE_MONEY = re.compile(r"([0-9０-９][0-9０-９,，]*(?:[.．][0-9０-９]+)?|[零〇一二两三四五六七八九十百千点"
                      + CAPITAL_DIGITS + r"]+)\s*(亿元|万元|元|亿|万(?![平㎡亩m]))")

# --------------------------------------------------------------------------------------
# Plot ratio wordings (容积率), each an interval; a single value fills both ends
# --------------------------------------------------------------------------------------
#: A plot-ratio figure: digits, or a decimal in Chinese numerals as prose notices write it
#: ("容积率不低于一点二"); whole Chinese numerals are left out, so "一类工业" never reads as 1.
_F = r"([0-9０-９]+(?:[.．][0-9０-９]+)?|[零〇一二三四五六七八九]点[零〇一二三四五六七八九]+)"
PLOT_RATIO_FORMS: list[tuple[str, re.Pattern[str]]] = [
    # the national 供地结果 form "约定容积率 下限：1.2 上限：2.0" (both labels present, so no other
    # figure of the cell can be taken for an end)
    ("both", re.compile(rf"下限\s*[:：]?\s*{_F}.{{0,8}}?上限\s*[:：]?\s*{_F}")),
    # "1.0≤容积率≤2.0", "1.0<容积率≤2.0"; notices in Jiangsu and Anhui write the ratio as R
    # ("1.5≤R≤3.0", "1.0＜R≤2.2"): a lone letter between two comparisons
    ("both", re.compile(rf"{_F}\s*[≤<＜≦]=?\s*(?:容积率|FAR|R|r)?\s*[≤<＜≦]=?\s*{_F}")),
    # "大于1.0且不大于2.0", "不小于1.0不大于2.0", "大于等于1.2小于等于2.0", "大于1.0且小于或等于2.5"
    ("both", re.compile(rf"(?:不小于|不低于|大于或等于|大于等于|大于|≥|>=|>|＞|≧)\s*{_F}\s*[,，、且并]?\s*(?:且|并且)?\s*"
                        rf"(?:不大于|不超过|不高于|小于或等于|小于等于|小于|≤|<=|<|＜|≦)\s*{_F}")),
    # "1.0-2.0", "1.0～2.0", "1.0至2.0"
    ("both", re.compile(rf"{_F}\s*(?:-|－|—|~|～|〜|至|到)\s*{_F}")),
    # "2.0以下", "2.0及以下"
    ("max", re.compile(rf"{_F}\s*(?:及|或)?以下")),
    # "≤2.0", "不大于2.0", "不超过2.0"
    ("max", re.compile(rf"(?:≤|<=|<|＜|≦|不大于|不超过|不高于|小于或等于|小于等于|(?<!不)小于)\s*{_F}")),
    # "≥1.0", "不小于1.0"
    ("min", re.compile(rf"(?:≥|>=|>|＞|≧|不小于|不低于|大于或等于|大于等于|(?<!不)大于)\s*{_F}")),
    ("one", re.compile(_F)),
]

#: Land transfer methods as the notices name them.
METHODS = ("挂牌", "拍卖", "招标", "协议")

# --------------------------------------------------------------------------------------
# Prose: how deals are reported in text (中指研究院 style and local news style)
# --------------------------------------------------------------------------------------
#: A parcel name in prose: a code or a place name ending in 地块/宗地 (山阳镇JS-0504单元47-09地块).
RE_PARCEL_NAME = re.compile(
    r"((?:[\u4e00-\u9fa5]{1,12}?(?:镇|街道|区|县|市|乡|园区|开发区|工业区|新城))?"
    # 〔〕 and [] hold the year of a reserve code ("来自然资储〔2025〕28号地块")
    r"[A-Za-z0-9\u4e00-\u9fa5\-－—()（）#＃号、〔〕\[\]［］]{1,40}?(?:地块|宗地))"
)
#: A parcel named by its code in prose without 地块 after it: "该宗地编号为明自然资挂〔2025〕19号，位于…".
RE_PARCEL_CODE = re.compile(r"(?:宗地|地块)编号(?:为|是|：|:)\s*([A-Za-z0-9\u4e00-\u9fa5\-－〔〕\[\]［］()（）#]{3,30}?号?)(?=[，,。；;\s]|$)")
#: Words that stop a parcel-name match from the left (the name starts after them).
#: Greedy: the name starts after the LAST of them ("本次出让的宗地位于山阳镇的JS-0504…地块").
#: "该宗地为奉贤区…地块": 为 introduces the name after 宗地/地块/编号/名称 only (为民路, 有为路 are
#: road names).
#: "XX公司以总价2,316万元摘得平湖…地块": the verb of a deal (and an ASCII comma) ends what went before.
PARCEL_NAME_LEAD = re.compile(r"^.*(?:近日|日前|今天|今日|目前|此次|本次|该|位于|其中|的|(?:宗地|地块|编号|名称)为|摘得|竞得|拍得|斩获|拿下|，|,|、|：|:)")
#: A firm named before its bid ("绍兴城投集团以总价8.26亿元、楼面价12,100元/平方米竞得…": the price
#: phrase may be long); one of RE_BUYER, a name of its own so that facts can skip sentences
#: without 公司/集团 (its lazy name is tried at every position).
RE_BUYER_FIRM = re.compile(r"([\u4e00-\u9fa5A-Za-z0-9（）()·]{2,40}?(?:公司|集团))(?:以|用)[^，。；]{0,36}?(?:竞得|摘得|斩获|拍得|拿下|获得)")
#: The winner of a deal: "由XX公司以1500万元竞得", "被XX公司竞得", "XX公司以底价竞得", "竞得人为XX".
RE_BUYER = [
    re.compile(r"(?:由|被)([\u4e00-\u9fa5A-Za-z0-9（）()·]{2,40}?(?:公司|集团|厂|中心|合伙企业|研究院|研究所|有限合伙\)?|银行))"
               r"(?:以|通过|竞得|摘得|斩获|拍得|获得|成功)"),
    # 竞得方/受让方 are the wording of 中指 and exchange news ("竞得方为上海奉祥精密机械有限公司")
    re.compile(r"(?:竞得人|受让人|竞得单位|受让单位|竞得者|竞得方|受让方|竞得企业|买受人)(?:为|是|：|:)\s*([\u4e00-\u9fa5A-Za-z0-9（）()·]{2,40}?(?:公司|集团|厂|中心|合伙企业|研究院|研究所))"),
    # "绍兴城投集团以总价8.26亿元、楼面价12,100元/平方米竞得…": the price phrase may be long
    RE_BUYER_FIRM,
    re.compile(r"(?:花落|落户)([\u4e00-\u9fa5A-Za-z0-9（）()·]{2,40}?(?:公司|集团))"),
]
#: The deal price in prose: "以1500万元竞得", "成交价1500万元", "成交价格为2.3亿元".
#: A money figure in prose: digits, or Chinese numerals ("起始价为五百四十万元"), capitals included.
_MONEY_FIG = r"([0-9０-９][0-9０-９,，]*(?:[.．][0-9０-９]+)?|[零〇一二两三四五六七八九十百千点" + CAPITAL_DIGITS + r"]+)"
RE_DEAL_PRICE = re.compile(
    # "以底价3.1亿元竞得", "以起始价1860万元成交": the reserve word sits between 以 and the figure
    r"(?:以(?:底价|起始价|起拍价|挂牌起始价)?|成交价(?:格|款)?(?:为|是|：|:)?|成交总价(?:为|：|:)?|总价|斩获价)\s*(?:人民币)?\s*"
    + _MONEY_FIG + r"\s*(亿元|万元|元)(?!/)"
)
#: "底价竞得"/"底价成交": the deal price is the start price.
RE_AT_RESERVE = re.compile(r"底价(?:竞得|成交|摘得|出让)|以起始价(?:竞得|成交)|以底价[0-9０-９.．,，]+\s*(?:亿元|万元|元)(?:竞得|成交|摘得)")
RE_START_PRICE = re.compile(
    r"(?:起始价|起始总价|起拍价|起价|挂牌起始价|出让起始价)(?:为|是|：|:)?\s*(?:人民币)?\s*" + _MONEY_FIG + r"\s*(亿元|万元|元)(?!/)"
)
#: The land unit price with its unit ("成交单价37.8万元/亩", "地面价1080元/平方米"); per 亩 is converted.
RE_UNIT_PRICE = re.compile(
    r"(?:成交)?(?:单价|地面价|地面地价)(?:为|：|:)?\s*([0-9０-９][0-9０-９,，]*(?:[.．][0-9]+)?\s*(?:万元|元)\s*/\s*(?:平方米|㎡|m2|m²|亩))"
)
RE_FLOOR_PRICE = re.compile(r"楼面(?:地)?价(?:为|：|:)?\s*([0-9０-９][0-9０-９,，]*(?:[.．][0-9]+)?)\s*元\s*/\s*(?:平方米|㎡|m2|m²)")
#: The parcel's area in prose; never 建筑面积 (floor area, 1-3× the land for a factory).
RE_AREA_LABEL = re.compile(r"(?:出让面积|土地面积|用地面积|宗地面积|出让土地面积|占地面积|(?<!建筑)面积)(?:为|约|：|:|共)*\s*")
#: Also a clause of its own "…，为工业用地" (the parcel's sentence says what it is).
RE_LAND_USE = re.compile(r"(?:(?:土地用途|规划用途|用途|用地性质)(?:为|是|：|:)|(?:^|[，,])\s*(?:为|属))\s*([\u4e00-\u9fa5（）()]{2,14}?用地)")
RE_PLOT_RATIO = re.compile(r"容积率(?:为|：|:)?\s*([^，。；;,]{1,24})")
RE_TERM = re.compile(r"(?:出让年限|使用年限|出让年期|使用年期|年限)(?:为|：|:)?\s*([0-9０-９一二三四五六七八九十]+)\s*年")
RE_BOUNDARY = re.compile(r"(东至[^。；;]{1,40}?[，,]\s*(?:南至|西至|北至)[^。；;]{1,120})[。；;]")
#: Where a parcel lies in prose: "该地块位于姚庄镇银河路南侧，…". Only after 地块/宗地, so a company
#: or project "位于" sentence is never taken; stops at the first comma (the next clause is a figure).
#: One clause may stand between ("该宗地编号为…号，位于…").
RE_SITED = re.compile(r"(?:地块|宗地)[：:]?(?:[^，,。；;]{0,30}[，,])?(?:位于|坐落于|地处)([^，,。；;]{4,40})")
#: How a notice says the parcels are sold: "以挂牌方式出让", "以网上挂牌方式", "通过公开拍卖",
#: "经…公开挂牌", "挂牌出让公告"; not "挂牌出让文件" (a link to the rules of any sale).
RE_DOC_METHOD = re.compile(
    r"(?:以|通过|采取|采用)(?:公开|网上|线上|现场|公开网上)?(挂牌|拍卖|招标|协议)(?:方式|出让)"
    r"|(挂牌|拍卖|招标|协议)出让(?!文件)|(?:公开|网上)(挂牌|拍卖|招标)(?:出让|交易|，|,)"
    # "举行国有建设用地使用权拍卖会", "一场激烈的土地拍卖": an auction is held
    r"|使用权(拍卖)会|土地(拍卖)"
)
RE_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")

# --------------------------------------------------------------------------------------
# Document types: scored rules, decided from the body first
# --------------------------------------------------------------------------------------
DOC_TYPES = ("land_notice", "land_result", "listing", "planning", "project", "policy", "statistics", "other")

#: (doc_type, pattern, weight[, "lead"]). Every match in the body adds the weight (at most 3 matches
#: per rule count, so one repetitive post cannot swamp the rest); the title adds a third of it.
#: A post whose best score stays below DOC_TYPE_MIN_SCORE is ``other``.
#: A rule marked "lead" counts only in the body's first LEAD_CHARS characters and the title.
DOC_TYPE_RULES: list[tuple] = [
    # --- land_result: a winner or a deal price is stated (not "确定竞得人", a notice's rule)
    ("land_result", re.compile(r"(?:由|被)[^，。；]{2,40}?(?:以[^，。；]{0,20})?(?:竞得|摘得|斩获|拍得|受让)"), 4),
    # 买受人 is the auction word for the winner
    ("land_result", re.compile(r"(?:竞得人|受让人|竞得单位|竞得方|受让方|竞得企业|竞得者|买受人)(?:为|是|：|:)\s*[\u4e00-\u9fa5]{2}"), 4),
    # "最终以1.68亿元成交": a price the parcel was sold at
    # "以9,800万元落槌成交": the hammer falls
    ("land_result", re.compile(r"以(?:总价|总额)?[0-9０-９.．,，]+\s*(?:亿元|万元)(?:的价格)?(?:落槌|顺利|成功)?(?:成交|竞得|摘得|拍得)"), 3),
    ("land_result", re.compile(r"底价(?:竞得|成交)|溢价率|成交楼面价|成交价(?<!平均成交价)(?:格)?(?:为|：|:)?\s*[0-9０-９]"), 3),
    # "竞得" but not "竞得人" alone: every notice says how its 竞得人 is chosen and what they must
    # sign ("按照价高者得原则确定竞得人", "竞得人须在…"); a named winner is the rule above.
    # 供地结果 is the national land-supply result form (landchina) the sites repost.
    ("land_result", re.compile(r"成交(?:结果|确认)?公示|成交确认书|出让结果|成交结果|结果公告|供地结果|使用权(?:出让)?结果公示|花落|斩获|摘得|拍得|竞得(?!人|者|单位|企业)"), 2),
    ("land_result", re.compile(r"签订了?(?:国有建设用地使用权)?出让合同"), 1.5),
    # the lead of a result post: "具体成交情况如下", "结果公示如下", "3宗地块全部成交" (not a survey's
    # "各区成交情况如下" or "平均成交价格")
    # (written to start with 成 or 结, so the regex engine skips ahead cheaply on news posts)
    ("land_result", re.compile(r"成交(?:(?<=具体成交|地块成交)情况如下|结果如下|(?<=全部成交|均已成交|现已成交))|结果(?:公示|公告|公布)如下"), 2),
    # --- land_notice: parcels offered, the rules of the sale
    # (each branch starts with its own literal, so the regex engine skips ahead to 挂/拍/招/出/决
    # instead of trying the group at every position)
    ("land_notice", re.compile(r"挂牌出让(?:国有建设用地使用权)?公告|拍卖出让(?:国有建设用地使用权)?公告|"
                               r"招标出让(?:国有建设用地使用权)?公告|出让公告|决定以(?:网上|公开)?(?:挂牌|拍卖|招标)方式"), 5),
    ("land_notice", re.compile(r"挂牌(?:时间|期限|地点)|拍卖(?:时间|地点)|竞买(?:申请|保证金|人)|起始(?:总)?价|起拍价|申请人可以单独申请|价高者得"), 2),
    # a parcel's sale facts ("出让面积48,006平方米"): a sentence stating them is about a parcel, not
    # a statistic, even under a "数据显示" opener (中指 deal briefs); results outvote it (classify)
    ("land_notice", re.compile(r"出让(?:土地)?面积(?:为|约|：|:)?\s*[0-9０-９]"), 1),
    ("land_notice", re.compile(r"现将有关事项公告如下|出让文件|报名时间"), 1.5),
    # --- listing: a property offered for rent or sale
    # the offer itself counts in the opening (and title) only: a park report saying spare
    # factory space "可供出租" somewhere in the middle is not an ad
    # "工业用地转让" is how brokers offer a plot (a notice's 用地 is 出让, never 转让/出售)
    ("listing", re.compile(r"(?:厂房|仓库|车间|办公楼|写字楼|土地|用地|库房|园区)[^。]{0,12}(?:出租|出售|租售|转让)"), 3, "lead"),
    ("listing", re.compile(r"元\s*/\s*(?:平方米|平米|㎡|m2)\s*/\s*(?:天|日|月)|租金|售价|面议"), 2.5),
    ("listing", re.compile(r"层高|承重|荷载|行车|变压器|KVA|kva|kVA|可分租|产证齐全|独门独院|可分割|环评"), 1.5),
    # --- planning: planning, zoning or EIA notices for public comment
    # 规划(资源)验收 / 规划核实: the completion check of a building against its permit (批后公示)
    # land acquisition plans and notices (成片开发方案, 征收土地预公告) are public notices of land planning
    ("planning", re.compile(r"控制性详细规划|控规|规划(?:局部)?调整|规划方案|详细规划|规划许可|选址意见|规划(?:资源)?验收|规划核实|批前公示|批后公示|"
                            r"成片开发方案|征收土地(?:预)?公告|征地补偿安置方案"), 3),
    ("planning", re.compile(r"环境影响(?:评价|报告)|环评(?:公示|报告|信息公开)|公众参与|征求(?:广大|社会)?公众意见|公示时间|公示期"), 2.5),
    # --- project: signings, groundbreakings, completions, production starts, visits
    ("project", re.compile(r"开工|签约|奠基|竣工|投产|封顶|落地|落户|入驻|开业|揭牌"), 1.5),
    ("project", re.compile(r"项目(?:总投资|建成|开工|签约|落地|现场|推进|建设)|总投资(?:约|超|达)?[0-9０-９.]+亿元|考察|调研|观摩"), 1.5),
    ("project", re.compile(r"招商(?:引资|推介)|重点项目"), 1),
    # --- policy: policy documents and their interpretation
    # a title cited as the basis of a notice ("根据《上海市城乡规划条例》有关规定") is not the post's subject
    ("policy", re.compile(r"实施意见|实施方案|管理办法|暂行办法|若干措施|若干政策|政策解读|印发|"
                          r"《(?<!根据《|依据《|按照《|依照《)(?<![和及、]《)[^》]{2,40}(?:意见|办法|方案|规定|措施|通知|条例)》"), 3),
    ("policy", re.compile(r"提出|强调|部署|要坚持|着力|推动|深化|改革|营商环境|标准地|承诺制|新质生产力|高质量发展|体系"), 1),
    # plans in the future tense ("X将深化…", "下一步，X将…") are what policy news is made of
    ("policy", re.compile(r"将(?:深化|推进|加快|围绕|聚焦|持续|积极|进一步|着力|大力)|下一步|力争|到20[0-9]{2}年"), 1),
    # --- statistics: economic figures as the main subject
    ("statistics", re.compile(r"统计局|统计数据|数据显示|规上工业(?:增加值|总产值|企业)|同比(?:增长|下降)|增速|百分点"), 2),
    ("statistics", re.compile(r"增加值|产值|营收|税收|增长[0-9０-９.]+%|位列第|位居|排名"), 1),
    # market surveys: averages, vacancy, month-on-month changes
    ("statistics", re.compile(r"平均(?:租金|售价|价格|地价)|空置率|环比(?:增长|下降|上涨|持平)"), 1.5),
    # figures are what a statistics story is made of: each percentage or 亿元 amount counts
    # (possessive: a shorter run of the figure is followed by a digit, never by the unit, so
    # giving digits back cannot make a match)
    ("statistics", re.compile(r"[0-9０-９.]++\s*(?:%|％|亿元|个百分点)"), 0.5),
]
#: An ad offers something: a post that never says 出租/出售/招租/转让/租售 (a rent survey
#: quoting 元/平方米/天 figures) is not a listing, whatever its price words score.
RE_LISTING_OFFER = re.compile(r"出租|出售|招租|租售|转让|可租|可售")
#: Below this best score a post is ``other`` (an image post, a notice of a holiday).
DOC_TYPE_MIN_SCORE = 3.0
#: A title counts for this share of its rules' weight: titles on these sites do not always
#: match their bodies (a land deal headed like a project report).
TITLE_WEIGHT = 0.35
#: Types decided by sentence votes (what most of the post is about), not by single matches.
NEWS_TYPES = ("project", "policy", "statistics")
#: A news type's score is NEWS_SCALE times its share of the sentences (the opening counts twice).
NEWS_SCALE = 15.0
#: Votes of the opening sentence: a news report's lead says what it is about (导语).
NEWS_LEAD_VOTES = 3
#: Lines that are not the article's own statement (original title, source, editor).
NOT_BODY_LINES = ("原标题", "来源", "编者按", "责任编辑", "编辑", "(记者", "（记者")
#: The body's opening (this many characters) counts LEAD_WEIGHT once more per rule it matches.
LEAD_CHARS = 160
LEAD_WEIGHT = 1.0
#: At most this many matches per rule count.
MAX_RULE_HITS = 3

# --------------------------------------------------------------------------------------
# Listings
# --------------------------------------------------------------------------------------
#: What is offered: the first of these in the title/body names the property.
PROPERTIES = ("厂房", "仓库", "办公", "写字楼", "车间", "土地", "商铺", "宿舍", "库房", "用地")
#: One building of a multi-building ad, as its line starts: "1号厂房：", "2#楼：", "A栋：", "3号楼，".
#: Weekly broker lists number their properties instead: "房源一：", "房源2：". A bare number before
#: 楼 is a floor of one building ("一楼：1500平方米", "2楼："), not a building of its own.
RE_UNIT_LINE = re.compile(
    r"^[\s\u3000◆●■★▲◇○·•\-*]*(?:(?:[0-9一二三四五六七八九十]+|[A-Za-z])\s*(?:号|#|＃)\s*(?:厂房|仓库|楼|栋|幢|车间|库)"
    r"|(?:[0-9一二三四五六七八九十]+|[A-Za-z])\s*(?:厂房|仓库|栋|幢|车间)|房源\s*[0-9一二三四五六七八九十]+)[：:，,]"
)
#: A strong building label (号/#/房源) that starts a piece of a line: where one line lists several.
_UNIT_LABEL = r"(?:[0-9一二三四五六七八九十]+|[A-Za-z])\s*(?:号|#|＃)\s*(?:厂房|仓库|楼|栋|幢|车间|库)|房源\s*[0-9一二三四五六七八九十]+"
RE_UNIT_LABEL = re.compile(_UNIT_LABEL)
RE_UNIT_CUT = re.compile(rf"(?<=[：:；;。])\s*(?={_UNIT_LABEL})")
RE_LISTING_KIND = re.compile(r"出租出售|租售|出租或出售|可租可售|出租|招租|出售|转让")
#: Labelled spec lines: "层高：8米", "承重：3吨/平方米", "电力：630KVA".
#: "层高：8米", "层高一层8米" (the first figure after the label: the ground floor's).
#: 滴水 (滴水高度) and 檐口 are the brokers' words for the eaves height of a single-storey shed.
RE_HEIGHT = re.compile(r"(?:层高|檐高|净高|高度|滴水|檐口)[^0-9０-９。；;\n]{0,6}?([0-9０-９]+(?:[.．][0-9]+)?)\s*(?:米|m|M)")
RE_HEIGHT_PROSE = re.compile(r"([0-9０-９]+(?:[.．][0-9]+)?)\s*米(?:层高|高)")
RE_LOAD = re.compile(r"(?:承重|荷载|楼面荷载|地坪承重)[^0-9０-９。；;\n]{0,6}?([0-9０-９]+(?:[.．][0-9]+)?)\s*(?:吨|t|T)")
RE_LOAD_AFTER = re.compile(r"([0-9０-９]+(?:[.．][0-9]+)?)\s*(?:吨|t|T)\s*/\s*(?:平方米|平米|㎡|m2)")
RE_POWER = re.compile(r"([0-9０-９]+(?:[.．][0-9]+)?)\s*(?:KVA|kva|kVA|Kva|千伏安)")
#: Brokers write areas as "2000平" and "1200平方" too: 平 counts only when no CJK word follows
#: (not 平湖, 平台), or 起/左右 (a minimum or an estimate figure).
#: "2000方" is broker slang for m² too (only before punctuation or the end, never 方案/方式).
_LISTING_SQM = r"万平方米|平方米|平米|平方(?![\u4e00-\u9fa5])|平(?![\u4e00-\u9fa5])|平(?=起|左右)|(?<=[0-9])方(?![\u4e00-\u9fa5])|㎡|m2|m²"
RE_LISTING_AREA = re.compile(
    rf"({_NUMC})\s*(?:(?:{_LISTING_SQM})?\s*(?:-|－|—|~|～|至|到)\s*({_NUMC}))?\s*({_LISTING_SQM}|亩)"
)
#: Square metres as the ads write them in a price: 平方米, 平米, 平方 ("0.75元/平方/天"), ㎡, m2, 平.
SQM = r"(?:平方米|平米|平方|㎡|m2|m²|平)"
#: Price forms: per m² per day/month, per m² (sale), 万元 total, 面议.
RE_PRICE = re.compile(
    r"([0-9０-９]+(?:[.．][0-9０-９]+)?)\s*(?:-|~|～|至)?\s*(?:[0-9]+(?:\.[0-9]+)?)?\s*"
    rf"(元\s*/\s*{SQM}\s*/\s*(?:天|日)|元\s*/\s*{SQM}\s*/\s*月|"
    rf"元\s*/\s*{SQM}(?:\s*[·.]\s*(?:天|日|月))?|元\s*/\s*(?:天|日)\s*/\s*{SQM}|"
    rf"元\s*/\s*月\s*/\s*{SQM}|万元|万)"
)
#: The price in words: "每平方米每天1.2元", "1.2元每平方米每天".
RE_PRICE_WORDS = re.compile(
    r"每(?:平方米|平米|㎡|平)每(天|日|月)\s*([0-9]+(?:\.[0-9]+)?)\s*元|"
    r"([0-9]+(?:\.[0-9]+)?)\s*元\s*每(?:平方米|平米|㎡|平)(?:每)?(天|日|月)"
)
#: Land offered per 亩 ("价格：35万/亩", "28万元/亩"): a price per m² once converted, not a total.
#: A price in 万元 per m² ("售价：1.2万元/平方米"): 元/㎡ once multiplied, not a 1.2万元 total.
RE_PRICE_WAN_PER_M2 = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*万元?\s*/\s*" + SQM + r"(?![/·.]?\s*(?:天|日|月))")
#: A rent per 亩 per year ("年租金：2万元/亩") fits none of the price units: it gives no price.
RE_RENT_PER_MU = re.compile(r"年租|每年|/年|租金[^，。；]{0,6}?[0-9.]+\s*(?:万元|万|元)\s*/\s*亩")
RE_PRICE_PER_MU = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(万元|万|元)\s*/\s*亩")
RE_NEGOTIABLE = re.compile(r"面议|价格详谈|价格面谈")
#: Labels of the spec lines and of two-column spec tables.
LISTING_LABELS: dict[str, re.Pattern[str]] = {
    # short labels of broker ads: "占地：20亩", "建筑：12000平方" (the building's wins, facts._labelled);
    # not 厂房/仓库, which head the name column of a unit table
    "area": re.compile(r"面积|^(?:建筑|占地|建面)$"),
    "height": re.compile(r"层高|檐高|净高|高度|滴水|檐口"),
    "load": re.compile(r"承重|荷载|地坪"),
    "power": re.compile(r"电力|电量|变压器|用电|配电"),
    "price": re.compile(r"价格|租金|售价|租价|单价"),
    "location": re.compile(r"位置|地址|地点|坐落|区位"),
}
