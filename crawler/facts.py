"""Facts of a post as rows: land parcels (notices and deals) and property listings.

Pure functions over what extraction already has (the record's title/text and the body's tables
from `crawler.tables`). Values come only from what the post states: a figure that cannot be read
stays null, and every row keeps the table row or sentence it came from in ``raw``. Vocabulary
and patterns are data in `crawler.fact_rules`.

    tables, doc_type, parcels, listings, warnings = derive(record, body_element)
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date

from crawler import fact_rules as fr

PARCEL_FIELDS = (
    "site post_id url doc_type stage parcel_name parcel_key location area_m2 land_use plot_ratio_min "
    "plot_ratio_max term_years start_price_yuan deal_price_yuan unit_price_yuan_m2 floor_price_yuan_m2 "
    "buyer method deal_date source raw"
).split()
LISTING_FIELDS = (
    "site post_id url kind property area_m2 area_raw height_m floor_load_t_m2 power_kva price_value "
    "price_unit location raw"
).split()
#: Doc types whose posts carry parcels / listings (a project report mentioning spare
#: factory space is not an ad, a policy quoting a land sale is not a deal).
PARCEL_DOC_TYPES = ("land_notice", "land_result")
LISTING_DOC_TYPES = ("listing",)


# ------------------------------------------------------------------------------------------
# Numbers and units
# ------------------------------------------------------------------------------------------
def _nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s or "")


def parse_number(s: str | None) -> float | None:
    """A figure as written (full-width digits, thousands commas, Chinese numerals) as a float."""
    if not s:
        return None
    t = _nfkc(s).replace(",", "").replace("，", "").replace("．", ".").strip()
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        pass
    if not re.fullmatch(r"[零〇一二两三四五六七八九十百千万亿点0-9.]+", t) and not re.fullmatch(
            f"[{fr.CAPITAL_DIGITS}万亿]+", t):
        return None
    import cn2an  # a maintained parser for 一千二百五十 / 三点五 (loaded only when needed)

    try:
        return float(cn2an.cn2an(t, "smart"))
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def _unit_in(text: str, units: dict[str, float]) -> str | None:
    t = _nfkc(text).replace(" ", "")
    for u in sorted(units, key=len, reverse=True):
        if _nfkc(u) in t:
            return u
    return None


def parse_area(text: str | None, default_unit: str | None = None) -> float | None:
    """Square metres of an area as written ("35.2亩", "2.5公顷", "12,345.6" under a 平方米 header)."""
    if not text:
        return None
    t = _nfkc(text)
    m = fr.RE_AREA.search(text) or fr.RE_AREA.search(t)
    if m:
        n = parse_number(m.group(1))
        unit = m.group(2)
        factor = fr.AREA_UNITS.get(unit) or fr.AREA_UNITS.get(_unit_in(unit, fr.AREA_UNITS) or "", None)
        return None if n is None or factor is None else round(n * factor, 2)
    m = _BARE.fullmatch(_bare_text(t))
    if m and default_unit:
        n = parse_number(m.group(1))
        return None if n is None else round(n * fr.AREA_UNITS[default_unit], 2)
    return None


#: A bare figure of a cell ("12,345.6"), its unit in the column label.
_BARE = re.compile(r"\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*")
#: What a figure cell may carry besides its figure: a note in brackets ("801（底价成交）",
#: "26678.00（合40.02亩）") and, under a two-unit label, the second figure ("40013.6/60.02").
_CELL_NOTE = re.compile(r"\s*[（(][^（）()]*[）)]\s*$|\s*/\s*[0-9][0-9,.]*\s*$")


def _bare_text(t: str) -> str:
    """t without thousands spaces and without a trailing note or second figure."""
    t = _SPACED_THOUSANDS.sub("", t)
    return _CELL_NOTE.sub("", t) if not _BARE.fullmatch(t) else t


_YUAN_SIGN = re.compile(r"\s*(?:人民币)?\s*[¥￥]\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(?:元)?\s*")
#: "31 008.6": Word tables separate thousands with a (non-breaking) space.
_SPACED_THOUSANDS = re.compile(r"(?<=\d)\s(?=\d{3}(?!\d))")


def parse_money(text: str | None, default_unit: str | None = None) -> float | None:
    """Yuan of a price as written ("1,500万元", "2.3亿元", "860" under a 万元 header)."""
    if not text:
        return None
    t = _nfkc(text)
    m = fr.RE_MONEY.search(t)
    if m and not re.match(r"\s*/", t[m.end():]):
        n = parse_number(m.group(1))
        return None if n is None else n * fr.MONEY_UNITS[m.group(2)]
    m = _BARE.fullmatch(_bare_text(t))
    if m and default_unit:
        n = parse_number(m.group(1))
        return None if n is None else n * fr.MONEY_UNITS[default_unit]
    m = _YUAN_SIGN.fullmatch(t)  # "￥6,850,000.00": the sign says yuan
    if m:
        return parse_number(m.group(1))
    return None


def parse_unit_price(text: str | None, header: str | None = None) -> float | None:
    """Yuan per m² of a unit price cell ("860元/平方米", "57.6万元/亩" -> per m²); a bare figure
    takes the unit of its column header ("成交单价（万元/亩）")."""
    if not text:
        return None
    t = _nfkc(text)
    if header and re.fullmatch(r"\s*[0-9][0-9,]*(?:\.[0-9]+)?\s*", t):
        unit = re.search(r"(万元|元)\s*/\s*(平方米|㎡|m2|亩)", _nfkc(header))
        if unit:
            t = t.strip() + unit.group(0)
    m = re.search(r"([0-9][0-9,]*(?:\.[0-9]+)?)\s*(万元|元)\s*/\s*(平方米|㎡|m2|m²|亩)", t)
    if m:
        n = parse_number(m.group(1))
        if n is None:
            return None
        n *= fr.MONEY_UNITS[m.group(2)]
        return round(n / fr.AREA_UNITS["亩"], 2) if m.group(3) == "亩" else n
    return parse_number(t) if re.fullmatch(r"\s*[0-9][0-9,]*(?:\.[0-9]+)?\s*", t) else None


_OTHER_INDICATOR = re.compile(r"建筑密度|密度|绿地率|限高|系数|高度")


def parse_plot_ratio(text: str | None) -> tuple[float | None, float | None]:
    """(min, max) of a plot ratio as written: "≤2.0", "1.0-2.0", "大于1.0且不大于2.0", "1.5"."""
    if not text:
        return None, None
    t = text.replace(" ", "")
    if "容积率" in t and _OTHER_INDICATOR.search(t):
        # several conditions in one cell ("建筑密度≥40% 容积率≥1.0 绿地率≤15%"): from the figure
        # written before 容积率 ("1.0≤容积率…") to the next indicator or separator
        i = t.index("容积率")
        start = i
        while start > 0 and t[start - 1] in "0123456789.．≤<＜≦≥>＞≧=":
            start -= 1
        end = _OTHER_INDICATOR.search(t, i + 3)
        t = re.split(r"[，,；;、%％]", t[start:end.start() if end else len(t)])[0]
    elif _OTHER_INDICATOR.search(t):
        return None, None  # a conditions cell without a plot ratio: its figures are other indicators
    for form, pattern in fr.PLOT_RATIO_FORMS:
        m = pattern.search(t)
        if not m:
            continue
        nums = [parse_number(g) for g in m.groups()]
        if form == "both":
            lo, hi = nums
            return (lo, hi) if lo is not None and hi is not None and lo <= hi else (None, None)
        if form == "max":
            return None, nums[0]
        if form == "min":
            return nums[0], None
        return nums[0], nums[0]
    return None, None


def parse_term(text: str | None) -> int | None:
    """Years of a use term ("50年", "五十年", "50")."""
    if not text:
        return None
    m = re.search(r"([0-9０-９]+|[一二三四五六七八九十]+)\s*年?", text)
    n = parse_number(m.group(1)) if m else None
    return int(n) if n and 0 < n <= 99 else None


def parse_date(text: str | None, *, numeric: bool = False) -> date | None:
    """A full date as written (2025年3月5日; with numeric=True, a date cell 2025-03-05 or
    2025/3/5 too: in prose such figures are parcel codes like 姚庄2025-11-03地块); None without a year."""
    if not text:
        return None
    t = _nfkc(text)
    m = fr.RE_DATE.search(t)
    if m is None and numeric:
        m = re.fullmatch(r"\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*", t)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


#: Distinct parcel names and column labels remembered per process (parcel_key, header_field): a
#: post compares each name several times, and labels (出让面积, 起始价) repeat from post to post.
FACT_CACHE_SIZE = 4096


@functools.lru_cache(maxsize=FACT_CACHE_SIZE)
def parcel_key(name: str | None) -> str | None:
    """A parcel name normalised for joins: no spaces or punctuation, upper case, no 地块 suffix,
    and a coded name (JS-0504单元47-09) without the place words in front of its code."""
    if not name:
        return None
    t = _nfkc(name).upper()
    t = re.sub(r"[\s\-_—–－()（）\[\]【】#＃“”\"'·.、,，:：]", "", t)
    t = re.sub(r"(?:号)?(?:地块|宗地)$", "", t)
    m = re.search(r"[A-Z0-9]", t)
    if m and re.search(r"[0-9]", t[m.start():]) and len(t) - m.start() >= 3:
        t = t[m.start():]
    return t or None


# ------------------------------------------------------------------------------------------
# Parcel tables
# ------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=FACT_CACHE_SIZE)
def header_field(label: str) -> str | None:
    """The parcel field a column label names (fact_rules.PARCEL_HEADER_RULES), or None."""
    t = re.sub(r"\s+", "", _nfkc(label))
    if not t:
        return None
    for field, pattern in fr.PARCEL_HEADER_RULES:
        if pattern.search(t):
            return field
    return None


def header_fields(header: list[str]) -> dict[int, str]:
    """{column: field} of a table header; the first column of a field wins."""
    out: dict[int, str] = {}
    seen: set[str] = set()
    for i, label in enumerate(header):
        f = header_field(label or "")
        if f == "area" and "area" in seen and fr.RE_TRANSFER_AREA.search(label or ""):
            # 总用地面积 | 出让面积: the transferred area is the parcel's
            out = {k: v for k, v in out.items() if v != "area"}
            out[i] = f
        elif f and f not in seen:
            out[i] = f
            seen.add(f)
    return out


_PARCEL_SIGNS = {"area", "start_price", "deal_price", "buyer", "land_use", "plot_ratio"}
_TOTAL_ROW = re.compile(r"^(?:合计|总计|小计|共计)")


def _is_parcel_table(fields: dict[int, str]) -> bool:
    names = set(fields.values())
    return bool({"parcel_name", "location"} & names) and len(_PARCEL_SIGNS & names) >= 2


def _transpose_if_vertical(table: dict) -> dict | None:
    """A label column ("地块名称 | A地块" rows) as a normal table with one row per parcel column."""
    rows = ([table["header"]] if table.get("header") else []) + list(table.get("rows") or [])
    if len(rows) < 3 or any(len(r) < 2 or len(r) != len(rows[0]) for r in rows):
        return None
    labels = [r[0] for r in rows]
    fields = header_fields(labels)
    if not _is_parcel_table(fields):
        return None
    ncols = len(rows[0])
    parcels = [[r[c] for r in rows] for c in range(1, ncols)]
    parcels = [p for p in parcels if any(p)]
    return {"caption": table.get("caption"), "header": labels, "rows": parcels}


def _kv_grid(table: dict) -> dict | None:
    """A label|value|label|value grid (the national 供地结果 form, one-parcel notices laid out in
    four columns) as a normal table with one row per parcel; a field named again starts the next
    parcel. None unless the third column holds labels of other fields than the first's on the
    same rows (a vertical table of several parcels repeats one field across a row)."""
    rows = ([table["header"]] if table.get("header") else []) + list(table.get("rows") or [])
    width = len(rows[0]) if rows else 0
    if width < 4 or width % 2 or len(rows) < 2 or any(len(r) != width for r in rows):
        return None
    second = 0
    for r in rows:
        f0, f2 = header_field(r[0] or ""), (header_field(r[2] or "") if r[2] != r[1] else None)
        if f0 is not None and f0 == f2:
            return None
        second += f2 is not None
    if second < 2:
        return None
    parcels: list[dict[str, tuple[str, str]]] = [{}]
    for r in rows:
        for i in range(0, width, 2):
            label, value = r[i], r[i + 1]
            if not label or label == value or len(label) > fr.MAX_LABEL_CHARS:
                continue  # a colspan value repeated into a label position
            f = header_field(label)
            if f is None or not value:
                continue
            if f in parcels[-1]:
                parcels.append({})
            parcels[-1][f] = (label, value)
    parcels = [p for p in parcels if p]
    header: list[str] = []
    order: list[str] = []
    for p in parcels:
        for f, (label, _) in p.items():
            if f not in order:
                order.append(f)
                header.append(label)
    if not _is_parcel_table(dict(enumerate(order))):
        return None
    return {"caption": table.get("caption"), "header": header,
            "rows": [[p.get(f, ("", ""))[1] for f in order] for p in parcels]}


def parcel_view(table: dict) -> tuple[dict, dict[int, str]] | None:
    """(table with one parcel per row, {column: field}) of a parcel table in any of its layouts:
    a header row, a label|value|label|value grid, or a label column; None for other tables."""
    fields = header_fields(table.get("header") or [])
    if _is_parcel_table(fields):
        return table, fields
    for view in (_kv_grid(table), _transpose_if_vertical(table)):
        if view is not None:
            return view, header_fields(view["header"])
    return None


def _caption_units(caption: str | None) -> tuple[str | None, str | None]:
    """(area unit, money unit) a table's note row states for all its figures, or Nones."""
    if not caption or "单位" not in caption and "：" not in caption:
        return None, None
    a = fr.RE_CAPTION_AREA_UNIT.search(caption)
    m = fr.RE_CAPTION_MONEY_UNIT.search(caption)
    area = next((g for g in a.groups() if g), None) if a else None
    money = next((g for g in m.groups() if g), None) if m else None
    return area, money


def _header_unit(label: str, units: dict[str, float]) -> str | None:
    """The unit a column label names; with two ("土地面积（平方米/亩）") the first, as the cells
    write their figures in that order ("40013.6/60.02")."""
    t = _nfkc(label).replace(" ", "")
    best = None
    for u in units:
        i = t.find(_nfkc(u))
        if i >= 0 and (best is None or i < best[0] or i == best[0] and len(u) > len(best[1])):
            best = (i, u)
    return best[1] if best else None


class _Warn:
    def __init__(self, sink: list | None):
        self.sink = sink if sink is not None else []

    def __call__(self, msg: str) -> None:
        self.sink.append(msg)


def _parcel_from_cells(cell: dict[str, str], labels: dict[str, str], doc_method: str | None,
                       units: tuple[str | None, str | None] = (None, None)) -> tuple[dict, int, int]:
    """A parcel from {field: cell text} with {field: label} (units in labels apply to bare
    figures, else the table's `units` (area, money) from its note row); returns (parcel, figures
    tried, figures unreadable)."""
    area_unit = _header_unit(labels.get("area", ""), fr.AREA_UNITS) or units[0]
    money_units = {f: _header_unit(labels.get(f, ""), fr.MONEY_UNITS) or units[1] for f in ("start_price", "deal_price")}
    p = _empty_parcel()
    p["parcel_name"] = cell.get("parcel_name") or None
    p["location"] = cell.get("location") or None
    p["land_use"] = cell.get("land_use") or None
    p["buyer"] = _buyer_cell(cell.get("buyer"))
    tried = bad = 0
    for f, key, fn in (("area", "area_m2", lambda v: parse_area(v, area_unit or "平方米")),
                       ("start_price", "start_price_yuan", lambda v: parse_money(v, money_units["start_price"])),
                       ("deal_price", "deal_price_yuan", lambda v: parse_money(v, money_units["deal_price"]))):
        v = cell.get(f)
        if v and not re.fullmatch(r"[/／—\-－无\s]*", v):
            tried += 1
            p[key] = fn(v)
            if p[key] is None:
                bad += 1
    if "底价" in (cell.get("deal_price") or "") and p["start_price_yuan"] is not None:
        p["deal_price_yuan"] = p["start_price_yuan"]
    p["plot_ratio_min"], p["plot_ratio_max"] = parse_plot_ratio(cell.get("plot_ratio"))
    for f, key in (("plot_ratio_lo", "plot_ratio_min"), ("plot_ratio_hi", "plot_ratio_max")):
        if cell.get(f) and p[key] is None and _BARE.fullmatch(_nfkc(cell[f])):
            p[key] = parse_number(cell[f])
    p["term_years"] = parse_term(cell.get("term"))
    p["unit_price_yuan_m2"] = parse_unit_price(cell.get("unit_price"), labels.get("unit_price"))
    p["floor_price_yuan_m2"] = parse_unit_price(cell.get("floor_price"), labels.get("floor_price"))
    p["method"] = _method(cell.get("method")) or doc_method
    p["deal_date"] = parse_date(cell.get("deal_date"), numeric=True)
    return p, tried, bad


def _table_parcels(tables: list[dict], doc_method: str | None, warn: _Warn) -> list[dict]:
    out: list[dict] = []
    side: list[dict] = []
    for ti, table in enumerate(tables or []):
        view = parcel_view(table)
        if view is None:
            side.append(table)
            continue
        table, fields = view
        header = table["header"]
        units = _caption_units(table.get("caption"))
        labels = {f: header[i] for i, f in fields.items()}
        rows, bad, tried = [], 0, 0
        for row in table.get("rows") or []:
            if not any(row) or _TOTAL_ROW.match(row[0] or "") or [c for c in row] == list(header):
                continue
            if len(row) > 2 and len({c for c in row if c}) == 1:
                continue  # a row spanning the table: a note (注：…) or a subtitle, not a parcel
            cell = {f: (row[i].strip() if i < len(row) else "") for i, f in fields.items()}
            p, t, b = _parcel_from_cells(cell, labels, doc_method, units)
            tried, bad = tried + t, bad + b
            p["source"] = "table"
            p["raw"] = " | ".join(f"{h}：{c}" if h else c for h, c in zip(header, row) if c)
            if p["parcel_name"] or p["location"]:
                rows.append(p)
        if tried and bad * 2 > tried:
            warn(f"table {ti + 1}: parcel columns hold unreadable figures ({bad} of {tried}); no parcel rows")
            continue
        if not rows and table.get("rows"):
            warn(f"table {ti + 1}: parcel header without parcel rows")
        out.extend(rows)
    for table in side if out else []:
        _join_side_table(table, out, doc_method)
    return out


def _join_side_table(table: dict, parcels: list[dict], doc_method: str | None) -> None:
    """Fill parcels from a table keyed by their names that is no parcel table on its own (the
    "出让地块规划指标要求" table after the parcel table: 地块编号 | 容积率 | 建筑密度 …)."""
    fields = header_fields(table.get("header") or [])
    names = [i for i, f in fields.items() if f == "parcel_name"]
    if not names or len(fields) < 2:
        return
    header = table["header"]
    labels = {f: header[i] for i, f in fields.items()}
    by_key = {parcel_key(p["parcel_name"]): p for p in parcels if p.get("parcel_name")}
    for row in table.get("rows") or []:
        key = parcel_key(row[names[0]]) if names[0] < len(row) else None
        target = by_key.get(key)
        if target is None:
            continue
        cell = {f: (row[i].strip() if i < len(row) else "") for i, f in fields.items() if f != "parcel_name"}
        vals, _, _ = _parcel_from_cells(cell, labels, None)
        _fill(target, vals)
        target["raw"] = f"{target['raw']} | " + " | ".join(f"{h}：{c}" for h, c in zip(header, row) if c)


#: "label：value" pieces of prose; a piece starts after a line break or punctuation, before a label.
_LABEL_PIECES = re.compile(r"[\n，,；;。]\s*(?=(?:[(（]?[0-9一二三四五六七八九十]+[)）、.．])?\s*[^\n，,；;。：:]{2,10}[：:])")
_LABEL_PIECE = re.compile(r"^\s*(?:[(（]?[0-9一二三四五六七八九十]+[)）、.．])?\s*([^：:]{2,10})[：:]\s*(.+?)\s*$", re.S)


def _labelled_parcels(text: str, doc_method: str | None) -> list[dict]:
    """Parcels written as labelled fields in prose ("地块编号：A；土地坐落：…；出让面积：…"): a
    parcel-name label starts a parcel, the labels after it fill it (notices without tables)."""
    out: list[dict] = []
    cell: dict[str, str] = {}
    labels: dict[str, str] = {}
    raw: list[str] = []

    def close():
        if cell.get("parcel_name") and len(cell) >= 3:
            p, tried, bad = _parcel_from_cells(cell, labels, doc_method)
            if not (tried and bad * 2 > tried):
                p["source"] = "text"
                p["raw"] = "；".join(raw)
                out.append(p)

    for piece in _LABEL_PIECES.split(text or ""):
        m = _LABEL_PIECE.match(piece)
        if not m:
            continue
        label, value = m.group(1).strip(), m.group(2).strip().rstrip("。；;，,")
        field = header_field(label)
        if field is None or not value:
            continue
        if field == "parcel_name" and re.search(r"编号|名称|宗地|地块", label):
            close()
            cell, labels, raw = {}, {}, []
        elif not cell:
            continue  # fields before any parcel name belong to no parcel
        if field not in cell:
            cell[field], labels[field] = value, label
            raw.append(f"{label}：{value}")
    close()
    return out


_BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "div")
#: A labelled parcel name ("宗地编号：", "地块名称:"): only then are the body's own lines read.
_PARCEL_LABEL = re.compile(r"(?:宗地|地块|土地)(?:编号|名称|号)\s*[：:]")


def body_lines(element, options=None) -> str:
    """Text of the body's blocks outside tables, one line each (``br`` breaks too), normalised
    like the body, repeated lines kept."""
    from crawler.normalize import DEFAULT_OPTIONS, normalize_field

    out = []
    for el in element.iter(*_BLOCKS):
        if el.tag == "div" and any(True for _ in el.iter("p", "div", "li", "table") if _ is not el):
            continue  # a wrapper: its blocks are read on their own
        if any(a.tag in ("table", "li", "p") for a in el.iterancestors()):
            continue
        parts = []
        for node in el.iter():
            if not isinstance(node.tag, str):  # a comment or processing instruction: no text
                if node.tail:
                    parts.append(node.tail)
                continue
            if node.tag == "br":
                parts.append("\n")
            elif node.tag == "table":
                break
            if node.text and node.tag != "br":
                parts.append(node.text)
            if node.tail and node is not el:
                parts.append(node.tail)
        for ln in "".join(parts).split("\n"):
            ln = " ".join(ln.split())
            if ln:
                out.append(normalize_field(ln, options or DEFAULT_OPTIONS) or "")
    return "\n".join(out)


def _buyer_cell(v: str | None) -> str | None:
    if not v or re.fullmatch(r"[/／—\-－无\s]*|流拍|终止|中止|暂无", v):
        return None
    return v


def _method(v: str | None) -> str | None:
    if not v:
        return None
    for m in fr.METHODS:
        if m in v:
            return m
    return None


def _empty_parcel() -> dict:
    return {k: None for k in PARCEL_FIELDS}


# ------------------------------------------------------------------------------------------
# Parcels in prose
# ------------------------------------------------------------------------------------------
_SENT = re.compile(r"[^。；;\n！!？?]+[。；;！!？?]?")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT.findall(text or "") if s.strip()]


def _parcel_names(sentence: str) -> list[str]:
    if "地块" not in sentence and "宗地" not in sentence:
        # both patterns end (RE_PARCEL_NAME) or start (RE_PARCEL_CODE) with one of these words; the
        # lazy name pattern is tried at every position, most of a post's sentences name no parcel
        return []
    names = []
    for m in fr.RE_PARCEL_NAME.finditer(sentence):
        if m.start(1) and sentence[m.start(1) - 1] in "“\"'‘「":
            continue  # an alias: （以下简称“18-04地块”）
        name = fr.PARCEL_NAME_LEAD.sub("", m.group(1))
        name = re.sub(r"^(?:本次|此次|该|这|一|1|出让|挂牌|拍卖|推出|成交|位于|其中|共)+", "", name)
        # "…用地，为苏吴国土2025-WG-52号地块": a copula before a coded name (not 为民路北侧地块)
        name = re.sub(r"^为(?=[^，,。]*[0-9A-Za-z])", "", name)
        # a name needs more than a generic word ("该地块", "工业用地地块", "2宗地块")
        core = re.sub(r"(?:地块|宗地)$", "", name)
        if len(core) < 2 or re.fullmatch(r"[0-9一二三四五六七八九十两几多]+宗?|本宗|该宗|此宗|上述|以上|工业用地|出让|部分", core):
            continue
        names.append(name)
    if not names:
        names = [m.group(1) for m in fr.RE_PARCEL_CODE.finditer(sentence)]
    return names


def _doc_method(text: str) -> str | None:
    """The sale method the post states for all its parcels (fact_rules.RE_DOC_METHOD)."""
    m = fr.RE_DOC_METHOD.search(text or "")
    return next((g for g in m.groups() if g), None) if m else None


def _prose_values(s: str) -> dict:
    """What one sentence states about a parcel (only the fields it names)."""
    v: dict = {}
    # a word each match must hold, checked first where the pattern has no literal start for the
    # regex engine to skip ahead by (it would try every position of every sentence)
    m = fr.RE_AREA_LABEL.search(s) if "面积" in s else None
    if m:
        a = fr.RE_AREA.match(s, m.end()) or fr.RE_AREA.match(_nfkc(s), m.end())
        if a:
            v["area_m2"] = parse_area(a.group(0))
    m = fr.RE_LAND_USE.search(s) if "用地" in s else None
    if m:
        v["land_use"] = m.group(1)
    m = fr.RE_PLOT_RATIO.search(s)
    if m:
        lo, hi = parse_plot_ratio(m.group(1))
        if lo is not None or hi is not None:
            v["plot_ratio_min"], v["plot_ratio_max"] = lo, hi
    m = fr.RE_TERM.search(s)
    if m:
        v["term_years"] = parse_term(m.group(1) + "年")
    m = fr.RE_BOUNDARY.search(s + "。")
    if m:
        v["location"] = m.group(1).rstrip("，,")
    else:
        m = fr.RE_SITED.search(s)
        if m:
            v["location"] = m.group(1).strip()
    m = fr.RE_START_PRICE.search(s)
    if m:
        v["start_price_yuan"] = parse_money(m.group(1) + m.group(2))
    for pattern in fr.RE_BUYER:
        if pattern is fr.RE_BUYER_FIRM and "公司" not in s and "集团" not in s:
            continue  # its lazy name is tried at every position; the name must end in one of these
        m = pattern.search(s)
        if m:
            v["buyer"] = m.group(1)
            break
    m = fr.RE_DEAL_PRICE.search(s)
    if m and ("buyer" in v or re.search(r"成交|竞得|摘得|斩获|拍得", s)):
        v["deal_price_yuan"] = parse_money(m.group(1) + m.group(2))
    if fr.RE_AT_RESERVE.search(s):
        v["at_reserve"] = True
    m = fr.RE_UNIT_PRICE.search(s) if "价" in s else None
    if m:
        v["unit_price_yuan_m2"] = parse_unit_price(m.group(1))
    m = fr.RE_FLOOR_PRICE.search(s)
    if m:
        v["floor_price_yuan_m2"] = parse_number(m.group(1))
    if "buyer" in v or "deal_price_yuan" in v:
        d = parse_date(s)
        if d:
            v["deal_date"] = d
    return v


def _deal_clauses(sentences: list[str]) -> list[tuple[str, list[str]]]:
    """(sentence, parcel names) pairs, a sentence naming several parcels split where each parcel's
    clause starts ("A地块由甲公司以1200万元竞得，B地块由乙公司以860万元竞得"); a clause without a
    name stays with the one before."""
    out = []
    for s in sentences:
        names = _parcel_names(s)
        if len({parcel_key(n) for n in names}) < 2:
            out.append((s, names))
            continue
        groups: list[list] = []
        for clause in re.split(r"(?<=[，,])", s):
            found = _parcel_names(clause)
            if not groups or found:
                groups.append([clause, found])
            else:
                groups[-1][0] += clause
        out.extend((c, n) for c, n in groups)
    return out


def _text_parcels(text: str) -> tuple[list[dict], dict]:
    """Parcels named in prose with what their sentences state, plus facts of unnamed sentences."""
    named: dict[str, dict] = {}
    loose: dict = {}
    loose_raw: list[str] = []
    for s, names in _deal_clauses(_sentences(text)):
        vals = _prose_values(s)
        if len(set(map(parcel_key, names))) == 1 and (vals or re.search(r"出让|成交|竞得|挂牌|拍卖", s)):
            key = parcel_key(names[0])
            p = named.setdefault(key, {"parcel_name": names[0], "_raw": []})
            if len(names[0]) > len(p["parcel_name"]):
                p["parcel_name"] = names[0]
            for k, val in vals.items():
                p.setdefault(k, val)
            if vals:
                p["_raw"].append(s)
        elif vals and len(set(map(parcel_key, names))) <= 1:
            for k, val in vals.items():
                loose.setdefault(k, val)
            loose_raw.append(s)
    loose["_raw"] = loose_raw
    return list(named.values()), loose


_VALUE_KEYS = [k for k in PARCEL_FIELDS if k not in ("site", "post_id", "url", "doc_type", "stage", "parcel_name",
                                                      "parcel_key", "source", "raw", "method")]


def _fill(p: dict, vals: dict) -> None:
    """Fill p's empty fields from vals (the first source wins on conflict)."""
    for k in _VALUE_KEYS:
        if p.get(k) is None and vals.get(k) is not None:
            p[k] = vals[k]
    if vals.get("at_reserve") and p.get("deal_price_yuan") is None and p.get("start_price_yuan") is not None:
        p["deal_price_yuan"] = p["start_price_yuan"]
    # "以3240万元底价竞得": the figure is both the start and the deal price
    if vals.get("at_reserve") and p.get("start_price_yuan") is None and p.get("deal_price_yuan") is not None:
        p["start_price_yuan"] = p["deal_price_yuan"]


def _same(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return a == b or (min(len(a), len(b)) >= 4 and (a in b or b in a))


def parcels(record: dict, tables: list[dict], text: str | None = None, *, doc_type: str | None = None,
            warnings: list | None = None, lines: str | None = None) -> list[dict]:
    """Parcel rows (PARCEL_FIELDS) of a post: table rows first, prose merged in (the table wins).

    `lines` is the body's text line by line as the markup has it (`body_lines`): extraction drops
    a paragraph repeated word for word, and a notice listing parcels as labelled lines repeats
    "出让年限：50年" for each of them."""
    warn = _Warn(warnings)
    text = text if text is not None else record.get("text") or ""
    doc_type = doc_type or record.get("doc_type")
    if doc_type is not None and doc_type not in PARCEL_DOC_TYPES:
        return []
    method = _doc_method(text)
    rows = _table_parcels(tables, method, warn)
    for lp in _labelled_parcels(lines or text, method):
        key = parcel_key(lp["parcel_name"])
        match = next((r for r in rows if _same(parcel_key(r["parcel_name"]), key)), None)
        if match is not None:
            _fill(match, lp)
        else:
            rows.append(lp)
    named, loose = _text_parcels(text)
    for tp in named:
        key = parcel_key(tp["parcel_name"])
        match = next((r for r in rows if _same(parcel_key(r["parcel_name"]), key)), None)
        if match is None and len(rows) == 1 and len(named) == 1 and not rows[0]["parcel_name"]:
            match = rows[0]
        if match is not None:
            _fill(match, tp)
            continue
        if not any(tp.get(k) is not None for k in ("area_m2", "buyer", "deal_price_yuan", "start_price_yuan")):
            continue  # a parcel merely mentioned (a planning reference), no facts
        p = _empty_parcel()
        p["parcel_name"] = tp["parcel_name"]
        _fill(p, tp)
        p["method"] = method
        p["source"] = "text"
        p["raw"] = " ".join(tp["_raw"])
        rows.append(p)
    has_loose = any(loose.get(k) is not None for k in ("buyer", "deal_price_yuan", "area_m2"))
    if has_loose:
        if len(rows) == 1:
            _fill(rows[0], loose)  # one parcel in the post: unnamed sentences are about it
        elif not rows and (loose.get("buyer") or loose.get("deal_price_yuan")):
            p = _empty_parcel()
            _fill(p, loose)
            p["method"] = method
            p["source"] = "text"
            p["raw"] = " ".join(loose["_raw"])
            rows.append(p)
    base = {"site": record.get("site"), "post_id": record.get("post_id"), "url": record.get("url"),
            "doc_type": doc_type}
    out = []
    for p in rows:
        p.update(base)
        p["parcel_key"] = parcel_key(p["parcel_name"])
        p["stage"] = "result" if (p.get("buyer") or p.get("deal_price_yuan") is not None) else "notice"
        out.append({k: p.get(k) for k in PARCEL_FIELDS})
    return out


# ------------------------------------------------------------------------------------------
# Listings
# ------------------------------------------------------------------------------------------
_PRICE_UNITS = [
    (re.compile(rf"元/{fr.SQM}/(?:天|日)|元/(?:天|日)/{fr.SQM}|元/{fr.SQM}[·.](?:天|日)"), "元/㎡/天"),
    (re.compile(rf"元/{fr.SQM}/月|元/月/{fr.SQM}|元/{fr.SQM}[·.]月"), "元/㎡/月"),
    (re.compile(rf"元/{fr.SQM}"), "元/㎡"),
    (re.compile(r"万元|万"), "万元"),
]


def parse_price(text: str | None) -> tuple[float | None, str | None]:
    """(value, unit) of a listing price; unit one of 元/㎡/天, 元/㎡/月, 元/㎡, 万元, 面议."""
    if not text:
        return None, None
    t = _nfkc(text).replace(" ", "")
    m = fr.RE_PRICE_PER_MU.search(t)
    if m and fr.RE_RENT_PER_MU.search(t):
        return None, None  # a yearly land rent per 亩: no unit of the schema fits
    if m:
        n = parse_number(m.group(1))
        return (None if n is None else round(n * fr.MONEY_UNITS[m.group(2)] / fr.AREA_UNITS["亩"], 2)), "元/㎡"
    m = fr.RE_PRICE_WAN_PER_M2.search(t)
    if m:
        n = parse_number(m.group(1))
        return (None if n is None else n * 10_000), "元/㎡"
    m = fr.RE_PRICE.search(t)
    if m:
        unit_text = m.group(2).replace(" ", "")
        if unit_text.startswith("万") and re.search(r"(?:月租|年租|租金)[^，。；,;]{0,6}$", t[: m.start()]):
            return None, None  # "月租金2万元": a total rent per month or year fits no unit of the schema
        for pattern, unit in _PRICE_UNITS:
            if pattern.fullmatch(unit_text):
                # "月租金25元/平方米": the period is named before the figure
                if unit == "元/㎡" and re.search(r"月租|每月", t[: m.start()]):
                    unit = "元/㎡/月"
                elif unit == "元/㎡" and re.search(r"日租|每天|每日", t[: m.start()]):
                    unit = "元/㎡/天"
                return parse_number(m.group(1)), unit
    m = fr.RE_PRICE_WORDS.search(t)
    if m:
        per = m.group(1) or m.group(4)
        value = m.group(2) or m.group(3)
        return parse_number(value), "元/㎡/月" if per == "月" else "元/㎡/天"
    if fr.RE_NEGOTIABLE.search(t):
        return None, "面议"
    return None, None


def _lines_of(text: str, tables: list[dict]) -> list[str]:
    # "【面积】3000㎡【层高】9米【价格】面议": bracket labels run together are lines of their own
    text = re.sub(r"(?<=[^\n])(?=【)", "\n", text or "") if "【" in (text or "") else text
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    for table in tables or []:
        rows = ([table["header"]] if table.get("header") else []) + list(table.get("rows") or [])
        if rows and all(len(r) == 2 for r in rows):
            lines.extend(f"{k}：{v}" for k, v in rows if k and v)
        elif rows and all(len(r) == 4 for r in rows) and all(
                len(r[0]) <= 8 and len(r[2]) <= 8 and r[2] != r[1] for r in rows):
            # a label|value|label|value spec grid ("仓库面积 | 5000㎡ | 净高 | 9米")
            lines.extend(f"{r[i]}：{r[i + 1]}" for r in rows for i in (0, 2) if r[i] and r[i + 1])
    return lines


_LABEL_LINE = re.compile(
    r"^[\s\u3000◆●■★▲◇○·•\-*]*(?:[0-9一二三四五六七八九十]+[、.．)）]\s*)?"
    r"(?:【([^】]{1,8})】|\[([^\]]{1,8})\]|([^：:，。]{1,8})[：:])\s*(.+)$"
)


def _labelled(lines: list[str]) -> dict[str, str]:
    """Values of labelled spec lines ("层高：8米", "【层高】8米") by listing field.

    For the area, the building's (建筑面积, 厂房面积) wins over the plot's (占地面积, 土地面积):
    an ad for a factory with its land states both, and the rent is per m² of building.
    """
    out: dict[str, str] = {}
    plot_area = False
    for ln in lines:
        m = _LABEL_LINE.match(ln)
        if not m:
            continue
        label = (m.group(1) or m.group(2) or m.group(3)).strip()
        value = m.group(4).strip()
        for field, pattern in fr.LISTING_LABELS.items():
            if not pattern.search(label):
                continue
            if field == "area" and "area" in out and plot_area and not re.search(r"占地|土地", label):
                # the building's area after the plot's: the building's is the listing's
                out["area"], plot_area = value, False
            elif field not in out:
                # "月租金：60元/平方米": the label names the period the figure is for
                out[field] = f"{label}：{value}" if field == "price" else value
                if field == "area":
                    plot_area = bool(re.search(r"占地|土地", label))
            break
    return out


def _kind(s: str) -> str | None:
    m = fr.RE_LISTING_KIND.search(s or "")
    if not m:
        return None
    w = m.group(0)
    if w in ("出租出售", "租售", "出租或出售", "可租可售"):
        return "rent_or_sale"
    return "rent" if w in ("出租", "招租") else "sale"


def _property(s: str) -> str | None:
    """The property the text names first ("工业土地出租…可建钢结构厂房" offers 土地)."""
    found = [(i, p) for p in fr.PROPERTIES if (i := (s or "").find(p)) >= 0]
    if not found:
        return None
    p = min(found)[1]
    return {"写字楼": "办公", "车间": "厂房", "库房": "仓库", "用地": "土地"}.get(p, p)


def _area(value: str | None, default_unit: str | None = None) -> tuple[float | None, str | None]:
    """(largest m² figure, figure as written) of an area text, ranges "800-1600平方米" included;
    a bare figure takes default_unit (the column header's)."""
    if not value:
        return None, None
    m = fr.RE_LISTING_AREA.search(value)
    if not m:
        bare = re.fullmatch(r"\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*", _nfkc(value))
        if bare and default_unit:
            n = parse_number(bare.group(1))
            return (None if n is None else round(n * fr.AREA_UNITS[default_unit], 2)), value.strip()
        return None, None
    hi = m.group(2) or m.group(1)
    n = parse_number(hi)
    factor = fr.AREA_UNITS.get(m.group(3), 1.0)
    return (None if n is None else round(n * factor, 2)), m.group(0)


def _listing_row(values: dict, lines_text: str, kind: str | None, prop: str | None,
                 area_unit: str | None = None) -> dict:
    row = {k: None for k in LISTING_FIELDS}
    row["kind"], row["property"] = kind, prop
    row["area_m2"], row["area_raw"] = _area(values.get("area"), area_unit)
    h = fr.RE_HEIGHT.search("层高：" + values["height"]) if values.get("height") else None
    h = h or fr.RE_HEIGHT.search(lines_text) or fr.RE_HEIGHT_PROSE.search(lines_text)
    row["height_m"] = parse_number(h.group(1)) if h else None
    src = "承重：" + values["load"] if values.get("load") else lines_text
    ld = fr.RE_LOAD.search(src) or fr.RE_LOAD_AFTER.search(src)
    row["floor_load_t_m2"] = parse_number(ld.group(1)) if ld else None
    pw = fr.RE_POWER.search(values.get("power") or lines_text)
    row["power_kva"] = parse_number(pw.group(1)) if pw else None
    row["price_value"], row["price_unit"] = parse_price(values.get("price") or "")
    if row["price_unit"] is None:
        row["price_value"], row["price_unit"] = parse_price(_price_sentence(lines_text))
    row["location"] = values.get("location")
    return row


_BARE_FIGURE = re.compile(r"\s*[0-9０-９]+(?:[.．][0-9０-９]+)?\s*")
_HEADER_UNIT = re.compile(r"[（(]([^（）()]{1,8})[）)]\s*$")


def _with_unit(cell: str, label: str) -> str:
    """A bare figure of a listing table with the unit its column label states ("层高（米）" over
    "10" -> "10米", "承重（吨/㎡）" over "5" -> "5吨/㎡"); any other cell as it is."""
    if not cell or not _BARE_FIGURE.fullmatch(cell):
        return cell
    m = _HEADER_UNIT.search(label or "")
    return cell.strip() + m.group(1) if m else cell


def _price_sentence(text: str) -> str:
    for s in _sentences(text):
        # "每平方米每天0.8元": a price in words has none of the price labels
        if re.search(r"租金|售价|价格|单价|元/|万/|面议|万元|每(?:平方米|平米|㎡|平)|元每", s) and not re.search(r"注册资本|总投资|产值", s):
            return s
    return ""


_UNIT_AREA_TOTAL = re.compile(r"(?:共计?|合计|总)\s*(?:建筑面积)?\s*[约为：:]?\s*" + fr.RE_LISTING_AREA.pattern)
_UNIT_AREA_LABEL = re.compile(r"面积\s*[约为：:]*\s*" + fr.RE_LISTING_AREA.pattern)


def _unit_lines(text: str, kind: str | None, prop: str | None) -> list[dict]:
    """One listing per building when an ad gives each its own line ("1号厂房：…，2600平方米，…；"
    "2号厂房：…"); the line's total (共5400平方米) or labelled area wins over a per-floor figure.
    Needs two such lines with an area each: a single "1号楼：" line is just the ad."""
    if "：" not in text and ":" not in text:
        return []
    units = []
    rest = []
    for ln in text.splitlines():
        ln = ln.strip()
        # "厂房出租：1号厂房3000平方米，…；2号厂房2000平方米，…。": numbered buildings inside one line
        # start pieces of their own (a 号/#/房源 label only, so "共有3栋厂房" is no building)
        pieces = [x for x in fr.RE_UNIT_CUT.split(ln) if x] if fr.RE_UNIT_CUT.search(ln) else [ln]
        for piece in pieces:
            m = None
            if fr.RE_UNIT_LINE.match(piece) or fr.RE_UNIT_LABEL.match(piece):
                head, _, tail = piece.partition("。")  # a sentence after the unit's own is the post's
                m = _UNIT_AREA_TOTAL.search(head) or _UNIT_AREA_LABEL.search(head) or fr.RE_LISTING_AREA.search(head)
                if tail:
                    rest.append(tail)
            if m:
                units.append((head, m.group(0)))
            else:
                rest.append(piece)
    if len(units) < 2:
        return []
    shared = parse_price(_price_sentence("\n".join(rest)))  # "租金均为1.0元/平方米/天": one for all
    out = []
    for ln, area in units:
        label = re.split(r"[：:，,]", ln, maxsplit=1)[0]
        # "A栋：…出售价格…；B栋：…出租价格…": each building says how it is offered
        row = _listing_row({"area": area}, ln, _kind(ln) or kind, _property(label) or _property(ln) or prop)
        if row["price_unit"] is None:
            row["price_value"], row["price_unit"] = shared
        if row["area_m2"] is not None:
            row["raw"] = ln
            out.append(row)
    return out


def listings(record: dict, tables: list[dict], text: str | None = None, *, doc_type: str | None = None,
             warnings: list | None = None) -> list[dict]:
    """Listing rows (LISTING_FIELDS) of a post: one per row of a multi-property table, else one."""
    warn = _Warn(warnings)
    text = text if text is not None else record.get("text") or ""
    doc_type = doc_type or record.get("doc_type")
    if doc_type is not None and doc_type not in LISTING_DOC_TYPES:
        return []
    title = record.get("title") or ""
    sentences = _sentences(text)
    head = sentences[:2]
    # the sentence that offers something with its size says how ("现有…厂房出租，面积2800平方米"),
    # not a broker's opener ("专业提供厂房出租出售服务")
    offer = next((x for x in sentences[:6] if fr.RE_LISTING_AREA.search(x) and fr.RE_LISTING_KIND.search(x)), "")
    kind = _kind(offer) or _kind(" ".join(head)) or _kind(title) or _kind(text)
    prop = _property(" ".join(head)) or _property(title)
    base = {"site": record.get("site"), "post_id": record.get("post_id"), "url": record.get("url")}
    rows: list[dict] = []
    # a table with one property per row (位置 | 面积 | 层高 | 租金)
    for ti, table in enumerate(tables or []):
        header = table.get("header") or []
        cols = {}
        for i, h in enumerate(header):
            for field, pattern in fr.LISTING_LABELS.items():
                if pattern.search(h or "") and field not in cols:
                    cols[field] = i
                    break
        data = table.get("rows") or []
        if "area" in cols and len(cols) >= 2 and len(header) > 2 and data:
            unit = _unit_in(header[cols["area"]], fr.AREA_UNITS)
            for r in data:
                # the area keeps its cell as written (area_raw); its unit comes from the header below
                vals = {f: (r[i] if f == "area" else _with_unit(r[i], header[i])) if i < len(r) else ""
                        for f, i in cols.items()}
                raw = " | ".join(c for c in r if c)
                # a row that says how and what it offers ("出租 | 仓库") overrides the post's words
                row = _listing_row(vals, raw, _kind(raw) or kind, _property(raw) or prop, unit)
                if row["area_m2"] is None:
                    continue
                row["raw"] = raw
                rows.append(row)
            if not rows:
                warn(f"table {ti + 1}: listing table without readable areas")
            elif all(r["price_unit"] is None for r in rows):
                # one price for all units, stated outside the table ("两栋厂房出租，价格面议")
                cells = {" ".join(c for c in r if c) for r in data}
                outside = "\n".join(ln for ln in text.splitlines() if ln.strip() not in cells)
                value, unit_ = parse_price(_price_sentence(outside))
                for r in rows:
                    r["price_value"], r["price_unit"] = value, unit_
    if not rows:
        rows = _unit_lines(text, kind, prop)
    if not rows:
        lines = _lines_of(text, tables)
        values = _labelled(lines)
        if "area" not in values:
            m = re.search(r"(?:建筑面积|占地面积|面积|共计|约)\s*[约为：:]?\s*" + fr.RE_LISTING_AREA.pattern, text)
            if m:
                values["area"] = m.group(0)
            else:
                m = fr.RE_LISTING_AREA.search(" ".join(head) + " " + title)
                if m:
                    values["area"] = m.group(0)
        row = _listing_row(values, "\n".join(lines), kind, prop)
        if row["area_m2"] is not None or row["price_unit"] is not None:
            row["raw"] = "\n".join(ln for ln in lines if re.search(
                r"面积|层高|承重|电力|KVA|价格|租金|售价|位置|元/|面议|出租|出售", ln))[:2000]
            rows.append(row)
    for r in rows:
        r.update(base)
    return [{k: r.get(k) for k in LISTING_FIELDS} for r in rows]


# ------------------------------------------------------------------------------------------
# One call for extraction
# ------------------------------------------------------------------------------------------
def derive(record: dict, body_element=None, *, options=None, tables: list[dict] | None = None):
    """(tables, doc_type, parcels, listings, warnings) of an extracted record and its body element.

    `body_element` is the post body (``div.single`` after pruning); `tables` may be passed
    instead when they were extracted already. Never raises on bad markup: problems become
    warnings (strings) and the facts they concern are left out.
    """
    from crawler import doctype
    from crawler.tables import extract_tables

    warnings: list[str] = []
    if tables is None:
        try:
            tables = extract_tables(body_element, options) if options else extract_tables(body_element)
        except Exception as exc:  # noqa: BLE001 - broken markup must never lose the article
            warnings.append(f"tables: {type(exc).__name__}: {exc}")
            tables = []
    text = record.get("text") or ""
    try:
        dt = doctype.classify(record.get("title"), text, tables, record.get("category"))
    except Exception as exc:  # noqa: BLE001 - a table no rule foresaw must not lose the article
        warnings.append(f"doc_type: {type(exc).__name__}: {exc}")
        dt = doctype.classify(record.get("title"), text, None, record.get("category"))
    rec = dict(record, doc_type=dt)
    try:
        lines = None
        if dt in PARCEL_DOC_TYPES and body_element is not None and _PARCEL_LABEL.search(text):
            lines = body_lines(body_element, options)  # labelled parcels, repeated lines kept
        p = parcels(rec, tables, text, doc_type=dt, warnings=warnings, lines=lines)
    except Exception as exc:  # noqa: BLE001
        warnings.append(f"parcels: {type(exc).__name__}: {exc}")
        p = []
    try:
        li = listings(rec, tables, text, doc_type=dt, warnings=warnings)
    except Exception as exc:  # noqa: BLE001
        warnings.append(f"listings: {type(exc).__name__}: {exc}")
        li = []
    return tables, dt, p, li, warnings
