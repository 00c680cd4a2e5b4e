"""The document type of a post, decided from its body first (rules in crawler.fact_rules).

Titles on these sites do not always match their bodies (a land deal headed like a project
report, a list of parcels headed "集中出让"), so the body's matches count fully, the title's
at TITLE_WEIGHT, and a table's header adds what its columns say (a 竞得人 column with names is a
result; an 起始价 column without one is a notice).
"""

from __future__ import annotations

import bisect
import re

from crawler import fact_rules as fr

#: Tie-break order: the more specific (and more useful to researchers) type first.
_PRIORITY = {t: i for i, t in enumerate(fr.DOC_TYPES)}


def opening(text: str) -> str:
    """The body's opening paragraph (skipping 原标题/short lines), at most LEAD_CHARS characters."""
    for line in text.splitlines():
        line = line.strip()
        if len(line) >= 20 and not line.startswith(fr.NOT_BODY_LINES):
            return line[: fr.LEAD_CHARS]
    return text[: fr.LEAD_CHARS]


_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
#: The types that get a score (all but "other").
_SCORED = fr.DOC_TYPES[:-1]
#: fact_rules.DOC_TYPE_RULES unpacked once: (index, doc type, pattern, weight, lead only?, news type?).
_RULES = [(k, t, p, w, scope == ["lead"], t in fr.NEWS_TYPES)
          for k, (t, p, w, *scope) in enumerate(fr.DOC_TYPE_RULES)]


def scores(title: str | None, text: str | None, tables: list[dict] | None = None) -> dict[str, float]:
    """Score of each doc type for a post.

    Specific types (land, listing, planning) add up weighted rule matches: one 竞得 sentence makes
    a deal post. News types (project, policy, statistics) are about what most of the post says:
    each sentence votes for the type whose rules it matches most (a deal or plan sentence votes
    for no news type), the opening sentence three times; the score is a share of the sentences.
    """
    out = dict.fromkeys(_SCORED, 0.0)
    text = text or ""
    title = title or ""
    lead = opening(text)
    body = "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith(fr.NOT_BODY_LINES))
    # table rows are in the text as lines of cells: they count as part of the post but vote for
    # nothing (a result table's 溢价率 cells are data, not a statistics story)
    cells = {" ".join(c for c in row if c) for t in tables for row in t.get("rows") or ()} if tables else ()
    spans = [m.span() for m in _SENTENCE.finditer(body) if len(m.group(0).strip()) > 8]
    # each rule runs once over the body; its matches are counted per sentence by position, and
    # in all (which is the specific types' count below when the body is the whole text)
    counts: list[int] = [0] * len(_RULES)
    votes: dict[int, dict[str, float]] = {}  # only sentences some rule matches vote
    if spans:
        starts = [st for st, _ in spans]
        cap = fr.MAX_RULE_HITS
        for k, doc_type, pattern, weight, _lead, _news in _RULES:
            hits: dict[int, int] | None = None  # most rules match nowhere in a post
            total = 0
            for m in pattern.finditer(body):
                total += 1
                i = bisect.bisect_right(starts, m.start()) - 1
                if i >= 0 and m.end() <= spans[i][1]:
                    if hits is None:
                        hits = {}
                    hits[i] = hits.get(i, 0) + 1
            counts[k] = total
            if hits:
                for i, n in hits.items():
                    v = votes.get(i)
                    if v is None:
                        v = votes[i] = dict.fromkeys(_SCORED, 0.0)
                    v[doc_type] += weight * min(n, cap)
    whole = body == text
    for k, doc_type, pattern, weight, lead_only, news in _RULES:
        if news:
            continue
        if not lead_only and whole and spans:
            hits_ = min(counts[k], fr.MAX_RULE_HITS)
        else:
            hits_ = 0
            for _ in pattern.finditer(lead if lead_only else text):
                hits_ += 1
                if hits_ >= fr.MAX_RULE_HITS:
                    break
        out[doc_type] += weight * hits_
        # the opening says what the post is; later sections of a long report wander off
        if pattern.search(lead):
            out[doc_type] += weight * fr.LEAD_WEIGHT
        if pattern.search(title):
            out[doc_type] += weight * fr.TITLE_WEIGHT
    if spans:
        tally = dict.fromkeys(fr.NEWS_TYPES, 0.0)
        for i, v in votes.items():
            if cells and body[spans[i][0]:spans[i][1]].strip() in cells:
                continue
            # every rule takes part, so a sentence about a deal or a plan votes for no news type
            best = max(v, key=v.get)
            if best in tally and v[best] > 0:
                tally[best] += fr.NEWS_LEAD_VOTES if i == 0 else 1
        # a share, so that a long report does not outvote the deal or ad it opens with
        for doc_type, n in tally.items():
            out[doc_type] += fr.NEWS_SCALE * n / (len(spans) + 1)
    for _k, doc_type, pattern, weight, _lead, news in _RULES:
        if news and pattern.search(title):
            out[doc_type] += weight * fr.TITLE_WEIGHT
    for table in tables or []:
        _table_votes(table, out)
    return out


def _table_votes(table: dict, out: dict[str, float]) -> None:
    """A parcel table votes for a result (a buyer or deal price column with values) or a notice."""
    from crawler.facts import _buyer_cell, header_fields, parcel_view  # one header vocabulary, in crawler.facts

    fields = header_fields(table.get("header") or [])
    if not fields and len(table.get("header") or (table.get("rows") or [[]])[0] or []) >= 2:
        # a label column or label|value grid: read it as the parcel table it is
        view = parcel_view(table)
        if view is not None:
            table, fields = view
    names = set(fields.values())
    if not {"parcel_name", "location"} & names:
        return  # totals by district or by year (成交面积, 成交金额) are statistics, not parcels

    def filled(field: str) -> bool:
        # a column with values, not an empty form or 流拍 / "—" everywhere
        return any(_buyer_cell(row[i]) for row in table.get("rows") or []
                   for i, g in fields.items() if g == field and i < len(row))

    if {"buyer", "deal_price"} & names and (filled("buyer") or filled("deal_price")):
        out["land_result"] += 6
    elif "start_price" in names or {"buyer", "deal_price"} & names or any(
        w in h for h in table.get("header") or [] for w in ("出让", "挂牌", "竞买")
    ):
        # prices to start from, an empty winner column, 出让面积: a sale still to happen
        out["land_notice"] += 4
    elif "parcel_name" in names and "area" in names:
        # a plot table without prices is also how a zoning change (控规调整) lists its plots
        out["land_notice"] += 2


def classify(title: str | None, text: str | None, tables: list[dict] | None = None, category: str | None = None) -> str:
    """One of fact_rules.DOC_TYPES for a post (category only breaks a near tie)."""
    s = scores(title, text, tables)
    if category:
        from crawler.sites import topic_of_name

        topic = topic_of_name(category)
        if topic in s:
            s[topic] += 1.0
    if s["listing"] and not (fr.RE_LISTING_OFFER.search(text or "") or fr.RE_LISTING_OFFER.search(title or "")):
        s["listing"] = 0.0  # nothing is offered: price words of a survey or a report
    best = max(s, key=lambda t: (s[t], -_PRIORITY[t]))
    if s[best] < fr.DOC_TYPE_MIN_SCORE:
        return "other"
    # a result post also names the parcels offered: notice wording does not outvote a winner
    if best == "land_notice" and s["land_result"] >= 4:
        return "land_result"
    return best
