"""Land notices, land deals and property listings for the replica, with their facts as gold.

Each body function returns ``(blocks, facts)``: the editor's blocks (as in `content`) and
``{"doc_type", "parcels", "listings"}``, exactly what a reader of the post can state. The
layouts vary the way the real notices do: column orders and header wordings, a title row over
the table, merged (rowspan) cells, cells holding spaces, 亩/公顷/㎡, 万元/亿元/元, 底价竞得,
plot ratios written as ``≤2.0``, ``1.0-2.0`` or ``大于1.0且不大于2.0``, prose-only deals, a parcel
in a table and again in prose, labelled spec lines, spec tables and prose listings.

Each function draws from its own ``random.Random`` seeded by one draw of the post's body rng,
so the replica stays deterministic.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from crawler.replica import content as C

MU = 666.67  # m² per 亩, the factor the issue fixes

# Header wordings per field (first: the common one). Units in the header apply to the cells.
_NAME_H = ["地块名称", "地块编号", "宗地编号", "宗地名称"]
_LOC_H = ["地块位置", "土地坐落", "宗地坐落", "四至范围"]
_USE_H = ["土地用途", "规划用途", "用地性质"]
_PR_H = ["容积率", "规划容积率"]
_TERM_H = ["出让年限", "使用年限（年）", "出让年期"]
_BUYER_H = ["竞得人", "受让人", "竞得单位"]
_DIRS = ["东至", "南至", "西至", "北至"]


def _num(x: float, nd: int = 2) -> str:
    s = f"{x:.{nd}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def _plot_ratio(r: random.Random) -> tuple[str, float | None, float | None]:
    """A plot ratio as written and its (min, max)."""
    lo = r.choice([0.8, 1.0, 1.2, 1.5])
    hi = r.choice([1.6, 2.0, 2.5, 3.0])
    form = r.randrange(6)
    if form == 0:
        return f"≤{hi:.1f}", None, hi
    if form == 1:
        return f"{lo:.1f}-{hi:.1f}", lo, hi
    if form == 2:
        return f"大于{lo:.1f}且不大于{hi:.1f}", lo, hi
    if form == 3:
        return f"{lo:.1f}≤容积率≤{hi:.1f}", lo, hi
    v = r.choice([1.2, 1.5, 1.6, 2.0, 2.5])
    return f"{v:.1f}", v, v


def _boundary(r: random.Random) -> str:
    return "，".join(f"{d}{r.choice(C._ROADS)}" for d in _DIRS)


def _parcel(r: random.Random, region: dict, town: str | None = None) -> dict:
    """One parcel's facts (gold values) and how its cells are written."""
    town = town or r.choice(region["towns"])
    code = f"{r.choice(region['parcel'])}{r.randrange(1, 60):02d}-{r.randrange(1, 9):02d}"
    style = r.randrange(5)
    if style == 0 and "单元" in code:
        # a cell holding a space, as pasted from Excel: "JS-0504单元 47-09地块"
        a, b = code.split("单元", 1)
        name = f"{town}{a}单元 {b}地块"
    elif style == 1:
        name = f"{town}{r.choice(C._ROADS)}{r.choice(['北侧', '南侧', '东侧', '西侧'])}地块"
    else:
        name = f"{town}{code}地块"
    area = round(r.uniform(6000, 95000), 2)
    pr_text, pr_min, pr_max = _plot_ratio(r)
    start_wan = r.randrange(300, 26000)
    return {
        "parcel_name": name, "town": town, "area_m2": area, "land_use": r.choice(C._LAND_USE + ["工业用地", "工业用地"]),
        "plot_text": pr_text, "plot_ratio_min": pr_min, "plot_ratio_max": pr_max,
        "term_years": r.choice([20, 30, 50, 50]), "start_wan": start_wan,
        "location": f"{town}，{_boundary(r)}" if r.random() < 0.5 else f"{town}{r.choice(C._ROADS)}{r.randrange(1, 999)}号",
    }


def _area_cell(r, p: dict, unit: str, spaced: bool) -> tuple[str, float]:
    """The area as a cell under a header with `unit` (None: the unit is in the cell)."""
    sp = " " if spaced else ""
    if unit == "亩":
        mu = round(p["area_m2"] / MU, 2)
        return _num(mu), mu * MU
    if unit == "公顷":
        ha = round(p["area_m2"] / 10000, 4)
        return _num(ha, 4), ha * 10000
    if unit == "㎡":
        return f"{p['area_m2']:.2f}", p["area_m2"]
    # unit in the cell
    k = r.randrange(3)
    if k == 0:
        mu = round(p["area_m2"] / MU, 1)
        return f"{_num(mu, 1)}{sp}亩", mu * MU
    if k == 1:
        return f"{p['area_m2']:.2f}{sp}平方米", p["area_m2"]
    return f"{p['area_m2']:.2f}{sp}㎡", p["area_m2"]


def _money_cell(r, wan: int, unit: str | None, spaced: bool) -> tuple[str, float]:
    """A price as a cell under a 万元 header (unit "万元") or with the unit in the cell."""
    sp = " " if spaced else ""
    if unit == "万元":
        return str(wan), wan * 1e4
    k = r.randrange(4)
    if k == 0 and wan >= 10000:
        return f"{_num(wan / 10000, 4)}{sp}亿元", wan * 1e4
    if k == 1:
        return f"{wan * 10000}{sp}元", wan * 1e4
    return f"{wan}{sp}万元", wan * 1e4


def _table_block(r, parcels: list[dict], *, result: bool) -> tuple[tuple, list[dict]]:
    """A parcel table (varying columns, order, wording, units, merges) and the gold rows it states."""
    cols = ["name", "area", "use", "plot", "start"]
    if r.random() < 0.6:
        cols.append("loc")
    if r.random() < 0.6:
        cols.append("term")
    if result:
        cols += ["deal", "buyer"]
        if r.random() < 0.3:
            cols.remove("start")
    first = cols.pop(0)
    r.shuffle(cols)
    cols.insert(0, first)
    if r.random() < 0.5:
        cols.insert(0, "seq")
    if r.random() < 0.25:
        cols.insert(r.randrange(1, len(cols) + 1), "deposit")
    area_unit = r.choice(["平方米", "㎡", "亩", "公顷", None])
    money_unit = r.choice(["万元", "万元", None])
    spaced = r.random() < 0.4
    header = []
    for c in cols:
        header.append({
            "seq": "序号", "name": r.choice(_NAME_H), "loc": r.choice(_LOC_H),
            "area": (f"{r.choice(['出让面积', '土地面积', '用地面积'])}（{area_unit}）" if area_unit
                     else r.choice(["出让面积", "土地面积", "宗地面积"])),
            "use": r.choice(_USE_H), "plot": r.choice(_PR_H), "term": r.choice(_TERM_H),
            "start": r.choice(["起始价", "起拍价", "挂牌起始价"]) + (f"（{money_unit}）" if money_unit else ""),
            "deal": r.choice(["成交价", "成交价格", "成交总价"]) + (f"(万元)" if money_unit else ""),
            "buyer": r.choice(_BUYER_H), "deposit": "竞买保证金（万元）",
        }[c])
    rows, gold = [header], []
    for i, p in enumerate(parcels):
        row, g = [], {k: p.get(k) for k in ("parcel_name", "land_use", "plot_ratio_min", "plot_ratio_max")}
        g.update({"location": None, "area_m2": None, "term_years": None, "start_price_yuan": None,
                  "deal_price_yuan": None, "buyer": None})
        for c in cols:
            if c == "seq":
                row.append(str(i + 1))
            elif c == "name":
                row.append(p["parcel_name"])
            elif c == "loc":
                row.append(p["location"])
                g["location"] = p["location"]
            elif c == "area":
                cell, g["area_m2"] = _area_cell(r, p, {"平方米": "㎡", "㎡": "㎡"}.get(area_unit, area_unit), spaced)
                row.append(cell)
            elif c == "use":
                row.append(p["land_use"])
            elif c == "plot":
                row.append(p["plot_text"])
            elif c == "term":
                row.append(f"{p['term_years']}年" if r.random() < 0.6 else str(p["term_years"]))
                g["term_years"] = p["term_years"]
            elif c == "start":
                cell, g["start_price_yuan"] = _money_cell(r, p["start_wan"], money_unit, spaced)
                row.append(cell)
            elif c == "deal":
                cell, g["deal_price_yuan"] = _money_cell(r, p["deal_wan"], money_unit, spaced)
                row.append(cell)
            elif c == "buyer":
                row.append(p["buyer"])
                g["buyer"] = p["buyer"]
            elif c == "deposit":
                row.append(str(max(1, p["start_wan"] // 5)))
        if "plot" not in cols:
            g["plot_ratio_min"] = g["plot_ratio_max"] = None
        rows.append(row)
        gold.append(g)
    # merged cells: one land use over consecutive equal rows (rowspan), a title row (colspan)
    merge = [cols.index("use")] if "use" in cols and r.random() < 0.5 else []
    title = None
    if r.random() < 0.35:
        title = r.choice(["出让地块基本情况一览表", "地块成交情况表", "宗地基本情况"])
    return ("table", rows, r.random() < 0.6, {"merge": merge, "title": title}), gold


def _company(r, region) -> str:
    return C._company(r, region)[0]


def _gold_parcel(g: dict, *, stage: str, source: str, method: str | None) -> dict:
    out = {k: g.get(k) for k in ("parcel_name", "location", "area_m2", "land_use", "plot_ratio_min", "plot_ratio_max",
                                 "term_years", "start_price_yuan", "deal_price_yuan", "buyer")}
    out.update({"stage": stage, "source": source, "method": method, "unit_price_yuan_m2": g.get("unit_price_yuan_m2"),
                "floor_price_yuan_m2": g.get("floor_price_yuan_m2"), "deal_date": g.get("deal_date")})
    return out


def land_result_body(rng, f, region, host, published):
    """A concluded land deal: a 成交公示 table, a 中指 lead + table, or prose only."""
    r = random.Random(rng.random())
    town, co = f["town"], f["company"]
    ind = f["indent"]
    variant = r.choices(["lead_table", "prose", "table_prose", "multi"], [3, 3, 3, 2])[0]
    P = lambda t: C._p(t, ind)  # noqa: E731
    blocks, parcels = [], []
    if variant == "multi":
        n = r.randrange(2, 6)
        ps = [_parcel(r, region) for _ in range(n)]
        for p in ps:
            p["buyer"] = _company(r, region)
            p["deal_wan"] = p["start_wan"] if r.random() < 0.4 else p["start_wan"] + r.randrange(10, 3000)
        table, gold = _table_block(r, ps, result=True)
        blocks.append(P(f"根据《招标拍卖挂牌出让国有建设用地使用权规定》，{region['exchange']}于{f['year']}年{f['month']}月"
                        f"组织了{n}宗国有建设用地使用权挂牌出让活动，现将出让结果公示如下："))
        blocks.append(table)
        blocks.append(P(f"公示期为{r.choice([5, 10])}个工作日。对公示内容如有异议，请以书面形式向{region['authority']}反映。"))
        blocks.append(("right", region["exchange"]))
        parcels = [_gold_parcel(g, stage="result", source="table", method="挂牌") for g in gold]
        return blocks, {"doc_type": "land_result", "parcels": parcels, "listings": []}
    p = _parcel(r, region, town)
    p["buyer"] = co
    at_reserve = r.random() < 0.35
    p["deal_wan"] = p["start_wan"] if at_reserve else p["start_wan"] + r.randrange(20, 4000)
    deal_text, deal_yuan = _money_cell(r, p["deal_wan"], None, False)
    start_text, _ = _money_cell(r, p["start_wan"], None, False)
    rounds = r.randrange(3, 40)
    name = p["parcel_name"].replace(" ", "")
    if at_reserve:
        deal_sentence = f"近日，{name}通过{region['exchange']}公开挂牌出让，起始价{start_text}，最终由{co}以底价竞得。"
    else:
        deal_sentence = (f"近日，{name}通过{region['exchange']}公开挂牌出让，经过{rounds}轮激烈竞价，"
                         f"最终由{co}以{deal_text}竞得，并于{f['month']}月{f['day']}日签订了国有建设用地使用权出让合同。")
    area_text, area_gold = _area_cell(r, p, None, False)
    boundary = _boundary(r)
    detail = (f"本次出让地块{boundary}。出让面积{area_text}，容积率{p['plot_text']}，"
              f"土地用途为{p['land_use']}，出让年限{p['term_years']}年。")
    g = {"parcel_name": name, "location": boundary, "area_m2": area_gold, "land_use": p["land_use"],
         "plot_ratio_min": p["plot_ratio_min"], "plot_ratio_max": p["plot_ratio_max"], "term_years": p["term_years"],
         "start_price_yuan": p["start_wan"] * 1e4 if at_reserve else None, "deal_price_yuan": deal_yuan, "buyer": co}
    filler = [
        f"{co}成立于{r.randrange(2000, 2021)}年，主要从事{f['domain'][1]}等业务，是{town}近年来重点引进的优质企业之一。",
        f"据了解，该地块拟建设生产厂房、研发楼及配套用房，项目总投资约{r.uniform(3, 35):.1f}亿元。",
        f"下一步，{town}将持续做好项目跟踪服务，推动项目早开工、早投产、早见效。",
        f"根据出让合同约定，该项目须在土地交付之日起12个月内开工建设，{r.choice([24, 30, 36])}个月内竣工投产。",
    ]
    r.shuffle(filler)
    if variant == "prose":
        paras = [deal_sentence, detail] + filler[: r.randrange(1, 4)]
        if r.random() < 0.4:
            blocks.append(("div", paras))
        else:
            blocks += [P(t) for t in paras]
        parcels = [_gold_parcel(g, stage="result", source="text", method="挂牌")]
    elif variant == "lead_table":
        floor = r.randrange(500, 2500)
        lead = (f"中指研究院·土地数据监测显示：{region['city']}{region['district']}{town}成交1宗工业用地，"
                f"该地块由{co}斩获，成交价{deal_text}，成交楼面价{floor}元/㎡。")
        table, tg = _table_block(r, [p], result=True)
        blocks += [P(lead), table] + [P(t) for t in filler[: r.randrange(1, 4)]]
        g = dict(tg[0], floor_price_yuan_m2=float(floor))
        # the lead states the deal price too; the table's own figure is the same
        parcels = [_gold_parcel(g, stage="result", source="table", method=None)]
    else:  # table_prose: a notice-style table of the parcel, the winner in prose (merged row)
        p2 = dict(p)
        table, tg = _table_block(r, [p2], result=False)
        g = dict(tg[0])
        g["buyer"] = co
        g["deal_price_yuan"] = deal_yuan
        if at_reserve and g["start_price_yuan"] is None:
            g["start_price_yuan"] = p["start_wan"] * 1e4  # stated in the prose sentence
        blocks += [P(deal_sentence), table] + [P(t) for t in filler[: r.randrange(1, 4)]]
        parcels = [_gold_parcel(g, stage="result", source="table", method="挂牌")]
    return blocks, {"doc_type": "land_result", "parcels": parcels, "listings": []}


def land_notice_body(rng, f, region, host, published):
    """A 挂牌/拍卖 出让公告: a table of 1-8 parcels, a vertical one-parcel table, or prose."""
    r = random.Random(rng.random())
    ind = f["indent"]
    P = lambda t: C._p(t, ind)  # noqa: E731
    auth = region["authority"]
    gov = auth.replace("规划和自然资源局", "人民政府").replace("自然资源和规划局", "人民政府")
    method = r.choice(["挂牌", "挂牌", "拍卖"])
    n = r.randrange(1, 9)
    ps = [_parcel(r, region) for _ in range(n)]
    variant = r.choices(["table", "vertical", "prose"], [7, 1, 1])[0] if n <= 2 else "table"
    sub = r.choice(["h3", "h2", "strong"])
    blocks = [P(f"经{gov}批准，{auth}决定以{method}方式出让{n}宗国有建设用地使用权。现将有关事项公告如下："),
              (sub, f"一、{method}出让地块的基本情况和规划指标要求")]
    if variant == "table":
        table, gold = _table_block(r, ps, result=False)
        blocks.append(table)
    elif variant == "vertical":
        p = ps[0]
        ps, n = ps[:1], 1
        blocks[0] = P(f"经{gov}批准，{auth}决定以{method}方式出让1宗国有建设用地使用权。现将有关事项公告如下：")
        area_text, area_gold = _area_cell(r, p, None, False)
        start_text, start_gold = _money_cell(r, p["start_wan"], None, False)
        rows = [["地块编号", p["parcel_name"]], ["土地坐落", p["location"]], ["出让面积", area_text],
                ["土地用途", p["land_use"]], ["容积率", p["plot_text"]], ["出让年限", f"{p['term_years']}年"],
                ["起始价", start_text]]
        blocks.append(("table", rows, False))
        gold = [{"parcel_name": p["parcel_name"], "location": p["location"], "area_m2": area_gold,
                 "land_use": p["land_use"], "plot_ratio_min": p["plot_ratio_min"], "plot_ratio_max": p["plot_ratio_max"],
                 "term_years": p["term_years"], "start_price_yuan": start_gold, "deal_price_yuan": None, "buyer": None}]
    else:
        gold = []
        for p in ps:
            name = p["parcel_name"].replace(" ", "")
            area_text, area_gold = _area_cell(r, p, None, False)
            start_text, start_gold = _money_cell(r, p["start_wan"], None, False)
            blocks.append(P(f"{name}，出让面积{area_text}，土地用途为{p['land_use']}，容积率{p['plot_text']}，"
                            f"出让年限{p['term_years']}年，起始价{start_text}。"))
            gold.append({"parcel_name": name, "location": None, "area_m2": area_gold, "land_use": p["land_use"],
                         "plot_ratio_min": p["plot_ratio_min"], "plot_ratio_max": p["plot_ratio_max"],
                         "term_years": p["term_years"], "start_price_yuan": start_gold, "deal_price_yuan": None,
                         "buyer": None})
    start = datetime(f["year"], f["month"], f["day"]) + timedelta(days=20)
    end = start + timedelta(days=10)
    blocks += [
        P("二、中华人民共和国境内外的法人、自然人和其他组织均可申请参加，申请人可以单独申请，也可以联合申请。"),
        P(f"三、本次国有建设用地使用权{method}出让按照价高者得原则确定竞得人。"),
        P(f"四、{method}时间为{start.year}年{start.month}月{start.day}日至{end.year}年{end.month}月{end.day}日，"
          f"{method}地点为{region['exchange']}。"),
        P(f"五、联系方式：联系地址：{region['exchange']}；联系电话：{C._landline(r, region)}；"
          f"联系人：{r.choice(C._SURNAMES)}先生。"),
        ("right", auth),
        ("right", f"{f['year']}年{f['month']}月{f['day']}日"),
    ]
    source = "text" if variant == "prose" else "table"
    parcels = [_gold_parcel(g, stage="notice", source=source, method=method) for g in gold]
    return blocks, {"doc_type": "land_notice", "parcels": parcels, "listings": []}


_KIND = {"出租": "rent", "出售": "sale", "出租出售": "rent_or_sale"}


def _price(r, deal: str) -> tuple[str, float | None, str]:
    """A listing price as written and its (value, unit)."""
    if r.random() < 0.25:
        return "面议", None, "面议"
    if deal == "出售" or (deal == "出租出售" and r.random() < 0.3):
        if r.random() < 0.5:
            v = r.randrange(30, 70) * 100
            return f"{v}元/平方米（出售）", float(v), "元/㎡"
        v = r.randrange(800, 9000)
        return f"总价{v}万元", float(v), "万元"
    if r.random() < 0.6:
        v = r.choice([0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.5])
        return f"{v}元/平方米/天", v, "元/㎡/天"
    v = r.choice([18, 22, 25, 28, 32, 35, 40])
    return f"{v}元/平方米/月", float(v), "元/㎡/月"


def factory_body(rng, f, region, host, published):
    """A factory/warehouse ad: labelled lines, a list, a spec table, a div, prose, or a table of units."""
    r = random.Random(rng.random())
    ind = f["indent"]
    P = lambda t: C._p(t, ind)  # noqa: E731
    area, town, deal = f["area"], f["town"], f["deal"]
    office = r.randrange(2, 8) * 100 - r.choice([0, 30, 60])
    prop = r.choice(["厂房", "厂房", "厂房", "仓库"])
    height = r.choice([6, 8, 9, 10, 12])
    power = r.choice([250, 400, 630, 800, 1000, 1250, 2000])
    load = r.choice([None, 3, 5, 2])
    price_text, price_value, price_unit = _price(r, deal)
    location = f"{town}{r.choice(C._ROADS)}附近，距{r.choice(C._HIGHWAYS)}出入口约{r.randrange(2, 15)}公里"
    ranged = r.random() < 0.2
    lo = (area // 4 // 100) * 100 or 200
    area_raw = f"{lo}-{area}平方米" if ranged else f"{area}平方米"
    layout = r.choice(["lines", "lines", "ul", "table", "div", "prose", "units"])
    kind = _KIND[deal]
    cert = r.choice(["产证齐全", "可分租", "产证齐全，可分割", "独立产证"])
    gold = {"kind": kind, "property": prop, "area_m2": float(area), "height_m": float(height),
            "floor_load_t_m2": float(load) if load else None, "power_kva": float(power),
            "price_value": price_value, "price_unit": price_unit, "location": location}
    if layout == "units":
        # several units in one ad, one row each
        n = r.randrange(2, 5)
        header = ["位置", "面积（平方米）", "层高", "租金" if kind == "rent" else "价格"]
        rows, listings = [header], []
        for _ in range(n):
            a = r.choice([800, 1200, 1800, 2400, 3500, 5000, 6800])
            h = r.choice([6, 8, 9, 10, 12])
            pt, pv, pu = _price(r, deal)
            loc = f"{r.choice(region['towns'])}{r.choice(C._ROADS)}{r.randrange(1, 999)}号"
            rows.append([loc, str(a), f"{h}米", pt])
            listings.append({"kind": kind, "property": prop, "area_m2": float(a), "area_raw": str(a), "height_m": float(h),
                             "floor_load_t_m2": None, "power_kva": None, "price_value": pv, "price_unit": pu,
                             "location": loc})
        blocks = [P(f"现有{f['park']}多处{prop}{deal}，具体情况如下："), ("table", rows, True),
                  P(f"以上{prop}均可随时看房，欢迎来电咨询。")]
        return blocks, {"doc_type": "listing", "parcels": [], "listings": listings}
    gold["area_raw"] = area_raw
    if layout == "prose":
        ld = f"地坪承重{load}吨/平方米，" if load else ""
        pr = "价格面议" if price_unit == "面议" else (f"租金{price_text}" if kind == "rent" else f"价格{price_text}")
        blocks = [P(f"现有{f['park']}{f['floors']}{prop}{deal}，建筑面积{area_raw}，{cert}。"),
                  P(f"该{prop}位于{location}，{height}米层高，{ld}配备{power}KVA变压器，{pr}。")]
        gold["location"] = None
        blocks.append(P(f"该{prop}适合{r.choice(C._INDUSTRIES)}等行业企业，周边配套成熟。"))
        return blocks, {"doc_type": "listing", "parcels": [], "listings": [gold]}
    ground = f"{r.choice(['混凝土地坪', '耐磨地坪'])}，承重{load}吨/平方米" if load else r.choice(["环氧地坪", "金刚砂地坪"])
    specs = [
        ("面积", f"{prop}{area_raw}，另有办公楼{office}平方米" if not ranged else f"{area_raw}，可分租"),
        ("位置", location),
        ("层高", f"{height}米，{r.choice(['带10吨行车', '可装行车', '无行车', '带5吨行车'])}"),
        ("电力", f"{power}KVA变压器"),
        ("租金" if kind == "rent" and price_unit != "面议" else "价格", price_text),
        ("地坪", ground),
        ("环评", r.choice(C._ENV)),
    ]
    r.shuffle(specs)
    blocks = [P(f"现有{f['park']}{f['floors']}{prop}{deal}，建筑面积{area_raw}，{cert}。")]
    if layout == "lines":
        blocks += [P(f"{k}：{v}") for k, v in specs]
    elif layout == "ul":
        blocks.append(P(f"{prop}基本情况如下："))
        blocks.append(("ul", [f"{k}：{v}" for k, v in specs]))
    elif layout == "table":
        blocks.append(("table", [["项目", "参数"]] + [[k, v] for k, v in specs], True))
    else:
        blocks.append(("div", [f"{k}：{v}" for k, v in specs]))
    blocks.append(P(f"该{prop}适合{r.choice(C._INDUSTRIES)}、{r.choice(C._INDUSTRIES)}等行业企业，"
                    f"周边配套成熟，{r.choice(['可随时看房', '年底前可交付使用', '现房即租即用'])}。"))
    if r.random() < 0.4:
        blocks.append(("img", C._upload(host, published, 1), "厂房实拍", 600,
                       r.choice(["图为厂房外景", "图为厂房内部", "图为园区一角"]), r.choice(["span", "br"])))
    return blocks, {"doc_type": "listing", "parcels": [], "listings": [gold]}


#: Titles that do not say what the body is (the body decides the doc_type).
MISLEADING_TITLES = {
    "land_result": ["{park}又一优质项目落地", "{park}招商引资再传捷报"],
    "land_notice": ["{town}产业用地集中推介", "{park}发展空间再拓展"],
    "factory": ["{park}招商引资持续发力", "{town}优质载体等你来"],
}
