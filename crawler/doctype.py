"""The document type of a post, decided from its body first (rules in crawler.fact_rules).

Titles on these sites do not always match their bodies (a land deal headed like a project
report, a list of parcels headed "集中出让"), so the body's matches count fully, the title's
at TITLE_WEIGHT, and a table's header adds what its columns say (a 竞得人 column with names is a
result; an 起始价 column without one is a notice).
"""

from __future__ import annotations

from crawler import fact_rules as fr

#: Tie-break order: the more specific (and more useful to researchers) type first.
_PRIORITY = {t: i for i, t in enumerate(fr.DOC_TYPES)}


def scores(title: str | None, text: str | None, tables: list[dict] | None = None) -> dict[str, float]:
    """Score of each doc type for a post (sum of weighted rule matches)."""
    out = dict.fromkeys(fr.DOC_TYPES[:-1], 0.0)
    text = text or ""
    title = title or ""
    for doc_type, pattern, weight in fr.DOC_TYPE_RULES:
        hits = 0
        for _ in pattern.finditer(text):
            hits += 1
            if hits >= fr.MAX_RULE_HITS:
                break
        out[doc_type] += weight * hits
        if pattern.search(title):
            out[doc_type] += weight * fr.TITLE_WEIGHT
    for table in tables or []:
        _table_votes(table, out)
    return out


def _table_votes(table: dict, out: dict[str, float]) -> None:
    """A parcel table votes for a notice or a result; a spec table for a listing."""
    from crawler.facts import header_fields  # one header vocabulary, kept in crawler.facts

    fields = header_fields(table.get("header") or [])
    names = set(fields.values())
    filled = lambda f: any(  # noqa: E731 - a column with values, not an empty form
        row[i] for row in table.get("rows") or [] for i, g in fields.items() if g == f and i < len(row)
    )
    if {"buyer", "deal_price"} & names and (filled("buyer") or filled("deal_price")):
        out["land_result"] += 6
    elif "start_price" in names or ("parcel_name" in names and "area" in names):
        out["land_notice"] += 4


def classify(title: str | None, text: str | None, tables: list[dict] | None = None, category: str | None = None) -> str:
    """One of fact_rules.DOC_TYPES for a post (category only breaks a near tie)."""
    s = scores(title, text, tables)
    if category:
        from crawler.sites import topic_of_name

        topic = topic_of_name(category)
        if topic in s:
            s[topic] += 1.0
    best = max(s, key=lambda t: (s[t], -_PRIORITY[t]))
    if s[best] < fr.DOC_TYPE_MIN_SCORE:
        return "other"
    # a result post also names the parcels offered: notice wording does not outvote a winner
    if best == "land_notice" and s["land_result"] >= 4:
        return "land_result"
    return best
