"""HTML tables of an article body as data: caption, header and rows of normalised cell text.

`extract_tables` is pure: an lxml element in, plain lists out. Row/colspan are expanded (capped,
see crawler.fact_rules), so every row has the header's width; the header is the first row of
``th`` cells or a first row of labels (地块名称, 出让面积（平方米）...). Editors paste tables from
Word and Excel: nested layout tables, empty spacer rows, a title row spanning the whole table and
two-row headers are all common on land notices, so each is handled here rather than downstream.
"""

from __future__ import annotations

import re

from crawler import fact_rules
from crawler.normalize import DEFAULT_OPTIONS, ExtractOptions, normalize_field

_WS = re.compile(r"[\s\u3000\xa0]+")


def _span(value: str | None, cap: int) -> int:
    """A rowspan/colspan attribute as a count in 1..cap (junk and 0 count as 1)."""
    if value is None:
        return 1  # most cells have no span: no int("None") and its exception per cell
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return 1
    return min(max(n, 1), cap)


def _own(el, tag_names: tuple[str, ...], table) -> list:
    """Descendants of el with one of tag_names whose nearest enclosing table is `table`."""
    out = []
    for node in el.iter(*tag_names):
        if node is el:
            continue
        anc = node.getparent()
        while anc is not None and anc is not table and _tag(anc) != "table":
            anc = anc.getparent()
        if anc is table:
            out.append(node)
    return out


def _tag(el) -> str:
    tag = el.tag
    return tag.lower() if isinstance(tag, str) else ""


def cell_text(cell, options: ExtractOptions = DEFAULT_OPTIONS) -> str:
    """Text of a cell without nested tables, whitespace collapsed, normalised like the body."""
    if len(cell) == 0 and _tag(cell) != "table":
        # most cells hold plain text: no walk (a Python call per node)
        text = _WS.sub(" ", cell.text or "").strip()
        return normalize_field(text, options) or ""
    parts: list[str] = []

    def walk(node):
        if node.text and _tag(node) != "table":
            parts.append(node.text)
        for child in node:
            t = _tag(child)
            if t == "table":
                pass  # a nested table is a table of its own
            elif t == "br":
                parts.append(" ")
            elif t:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(cell)
    text = _WS.sub(" ", "".join(parts)).strip()
    return normalize_field(text, options) or ""


def _grid(table, options: ExtractOptions) -> tuple[list[list[str]], list[bool], list[int]]:
    """Cells of a table as a rectangular grid: (rows, row is all-th, max colspan in the row)."""
    cap = fact_rules.MAX_SPAN
    rows: list[list[str]] = []
    th_rows: list[bool] = []
    spans: list[int] = []
    pending: dict[tuple[int, int], str] = {}  # (row, col) -> text carried down by a rowspan
    trs = _own(table, ("tr",), table)[: fact_rules.MAX_ROWS]
    for r, tr in enumerate(trs):
        row: list[str] = []
        cells = [c for c in tr if _tag(c) in ("td", "th")]
        all_th = bool(cells) and all(_tag(c) == "th" for c in cells)
        in_thead = tr.getparent() is not None and _tag(tr.getparent()) == "thead"
        widest = 1
        col = 0

        def fill_pending():
            nonlocal col
            while (r, col) in pending and col < fact_rules.MAX_COLS:
                row.append(pending.pop((r, col)))
                col += 1

        for c in cells:
            fill_pending()
            text = cell_text(c, options)
            cs, rs = _span(c.get("colspan"), cap), _span(c.get("rowspan"), cap)
            widest = max(widest, cs)
            for _ in range(cs):
                if col >= fact_rules.MAX_COLS:
                    break
                row.append(text)
                for k in range(1, rs):
                    if r + k < len(trs):
                        pending[(r + k, col)] = text
                col += 1
        fill_pending()
        rows.append(row)
        th_rows.append(all_th or in_thead)
        spans.append(widest)
    return rows, th_rows, spans


def _labelish(cell: str) -> bool:
    """A cell that reads like a column label: short, known vocabulary or no figures at all."""
    if not cell or len(cell) > fact_rules.MAX_LABEL_CHARS or fact_rules.RE_DATA_CELL.search(cell):
        return False
    if fact_rules.RE_HEADER_WORD.search(cell):
        return True
    return not re.search(r"\d", cell)


def _is_header(row: list[str]) -> bool:
    """A first row of labels: every filled cell label-like and at least one known label word."""
    filled = [c for c in row if c]
    if len(filled) < 2:
        return False
    if not all(_labelish(c) for c in filled):
        return False
    return sum(1 for c in filled if fact_rules.RE_HEADER_WORD.search(c)) >= 1


def extract_tables(element, options: ExtractOptions = DEFAULT_OPTIONS) -> list[dict]:
    """Every <table> under element as {"caption", "header", "rows"} (cells normalised text)."""
    if element is None:
        return []
    tables = [element] if _tag(element) == "table" else []
    tables += list(element.iter("table"))
    out = []
    for table in tables[: fact_rules.MAX_TABLES]:
        try:
            out_table = _one_table(table, options)
        except (ValueError, TypeError):  # lxml oddities in broken markup: skip the table only
            out_table = None
        if out_table is not None:
            out.append(out_table)
    return out


def _one_table(table, options: ExtractOptions) -> dict | None:
    rows, th_rows, spans = _grid(table, options)
    keep = [i for i, row in enumerate(rows) if any(c for c in row)]
    rows = [rows[i] for i in keep]
    th_rows = [th_rows[i] for i in keep]
    spans = [spans[i] for i in keep]
    if not rows:
        return None
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    captions = [cell_text(c, options) for c in _own(table, ("caption",), table)]
    caption = " ".join(c for c in captions if c) or None
    # a title row: one text spread over the whole width ("2024年第3期挂牌出让地块一览表")
    if width > 1 and len(rows) > 1 and len(set(rows[0])) == 1:
        caption = caption or rows[0][0]
        rows, th_rows, spans = rows[1:], th_rows[1:], spans[1:]
    header: list[str] = []
    if rows and (th_rows[0] or _is_header(rows[0])):
        header = rows[0]
        rows, th_rows, spans_first = rows[1:], th_rows[1:], spans[0]
        spans = spans[1:]
        # a two-row header: "出让面积" spanning "平方米 | 亩" below it
        if rows and spans_first > 1 and (th_rows[0] or _is_header(rows[0]) or all(_labelish(c) for c in rows[0] if c)):
            sub = rows[0]
            if any(c and c != h for c, h in zip(sub, header)) and not any(re.search(r"\d{3,}", c) for c in sub):
                header = [h if (not s or s == h) else (f"{h}（{s}）" if len(s) <= 6 else s) for h, s in zip(header, sub)]
                rows, th_rows = rows[1:], th_rows[1:]
        # a row of units under a header without spans: "出让面积 | 起始价" over "（平方米）| （万元）"
        if header and rows and _is_units_row(rows[0]):
            header = [f"{h}（{s.strip('（）() ')}）" if s else h for h, s in zip(header, rows[0])]
            rows = rows[1:]
    return {"caption": caption, "header": header, "rows": rows}


def _is_units_row(row: list[str]) -> bool:
    """A row holding only units ("（平方米）", "万元", "年", "%"), at least two of them."""
    filled = [c for c in row if c]
    return len(filled) >= 2 and all(fact_rules.RE_UNIT_CELL.fullmatch(c) for c in filled)
