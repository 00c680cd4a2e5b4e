"""What changed between stored versions of a post, field by field (pure; no file access).

A version is one stored row of a post (see docs/schema.md, "Versions and history").
`diff_versions(old, new)` compares two rows of the same post; `changes(versions)` walks every
post's versions in fetch order and returns one entry per new version, so a researcher can see that
an edit only moved a date in the text, changed a price, or retitled the post. Everything returned
is JSON-ready (timestamps as ISO 8601 strings in UTC).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from crawler.dates import CST

#: Fields compared value by value, in the order they are reported. Fetch metadata (fetched_at,
#: run_id, http_status ...) and links to *other* posts (related, prev/next) are left out: they
#: change when the site publishes something else, not when this post is edited.
SCALAR_FIELDS = ("title", "published", "category", "category_url", "author", "source", "reporter")
LIST_FIELDS = ("tags",)
TEXT_FIELD = "text"
COMPARED = (*SCALAR_FIELDS[:1], TEXT_FIELD, *SCALAR_FIELDS[1:], *LIST_FIELDS)

#: A date the page shows only approximately ("3天前" resolved against the fetch time) moves a
#: little between fetches without an edit; such moves below this are not reported.
APPROXIMATE_SLACK = dt.timedelta(days=2)

#: Caps that keep one entry readable when a whole body was rewritten.
MAX_LINES = 40
MAX_FRAGMENTS = 20
FRAGMENT_CHARS = 80

_VERSION_KEYS = ("content_hash", "record_hash", "fetched_at", "extracted_at", "run_id", "extractor_version")

#: The stored columns `changes` reads: ``load(out, history=True, columns=COLUMNS)``.
COLUMNS = ("site", "post_id", "url", *COMPARED, "published_precision", *_VERSION_KEYS)


def _get(row: Any, name: str) -> Any:
    value = row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)
    if value is not None and hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy arrays (pandas list cells), numpy scalars
    try:
        if value != value:  # NaN / NaT from pandas
            return None
    except (TypeError, ValueError):
        pass
    return value


def _ts(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, (int, float)):  # epoch microseconds, as Table.to_pylist never gives but numpy may
        return dt.datetime.fromtimestamp(value / 1e6, dt.timezone.utc)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
    raise TypeError(f"not a timestamp: {value!r}")


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def _clip(s: str) -> str:
    return s if len(s) <= FRAGMENT_CHARS else s[: FRAGMENT_CHARS - 1] + "…"


def text_diff(old: str, new: str) -> dict[str, Any]:
    """Summary of a text edit: characters added/removed, the changed lines, and the changed fragments.

    Lines are compared first (difflib on the paragraph lines) and characters only inside replaced
    lines, so a long body costs little. ``lines`` holds ``"-old line"``/``"+new line"`` in text
    order; ``fragments`` the smallest changed pieces (``{"old", "new"}``), e.g. a price 120→150.
    """
    a, b = (old or "").split("\n"), (new or "").split("\n")
    added = removed = 0
    lines: list[str] = []
    fragments: list[dict[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        lines.extend("-" + line for line in a[i1:i2])
        lines.extend("+" + line for line in b[j1:j2])
        old_part, new_part = "\n".join(a[i1:i2]), "\n".join(b[j1:j2])
        if op != "replace":
            removed += len(old_part)
            added += len(new_part)
            fragments.append({"old": _clip(old_part), "new": _clip(new_part)})
            continue
        chars = difflib.SequenceMatcher(None, old_part, new_part, autojunk=False)
        for cop, k1, k2, m1, m2 in chars.get_opcodes():
            if cop == "equal":
                continue
            removed += k2 - k1
            added += m2 - m1
            fragments.append({"old": _clip(old_part[k1:k2]), "new": _clip(new_part[m1:m2])})
    out: dict[str, Any] = {
        "chars_added": added,
        "chars_removed": removed,
        "lines_removed": sum(1 for line in lines if line.startswith("-")),
        "lines_added": sum(1 for line in lines if line.startswith("+")),
        "lines": lines[:MAX_LINES],
        "fragments": fragments[:MAX_FRAGMENTS],
    }
    if len(lines) > MAX_LINES or len(fragments) > MAX_FRAGMENTS:
        out["truncated"] = True
    return out


def _published_moved(old_row: Any, new_row: Any) -> bool:
    old, new = _ts(_get(old_row, "published")), _ts(_get(new_row, "published"))
    if old is None or new is None:
        return (old is None) != (new is None)
    if old == new:
        return False
    approx = "approximate" in (_get(old_row, "published_precision"), _get(new_row, "published_precision"))
    return not (approx and abs(new - old) < APPROXIMATE_SLACK)


def diff_versions(old_row: Any, new_row: Any) -> dict[str, Any]:
    """Field-by-field difference of two versions of one post (rows as dicts, namedtuples or Series).

    Returns ``{"site", "post_id", "url", "from": {...}, "to": {...}, "fields": [names],
    "changes": {name: {"old", "new"}}}``; tags also carry ``added``/``removed`` and text carries the
    `text_diff` summary instead of both bodies. ``from``/``to`` identify the versions
    (content_hash, record_hash when stored, fetched_at, extracted_at, run_id, extractor_version).
    """
    changes: dict[str, Any] = {}
    for name in COMPARED:
        old, new = _get(old_row, name), _get(new_row, name)
        if name == TEXT_FIELD:
            if (old or "") != (new or ""):
                changes[name] = text_diff(old or "", new or "")
        elif name == "published":
            if _published_moved(old_row, new_row):
                o, n = _ts(old), _ts(new)
                entry = {"old": _json(o), "new": _json(n)}
                if o is not None and n is not None:
                    entry["moved_seconds"] = int((n - o).total_seconds())
                changes[name] = entry
        elif name in LIST_FIELDS:
            o, n = list(old or []), list(new or [])
            if o != n:
                changes[name] = {"old": o, "new": n, "added": [t for t in n if t not in o],
                                 "removed": [t for t in o if t not in n]}
        elif old != new and (old or new):  # None and "" are the same absence
            changes[name] = {"old": old, "new": new}

    def ident(row: Any) -> dict[str, Any]:
        return {k: _json(_ts(_get(row, k)) if k in ("fetched_at", "extracted_at") else _get(row, k))
                for k in _VERSION_KEYS if _get(row, k) is not None}

    return {
        "site": _get(new_row, "site"),
        "post_id": int(_get(new_row, "post_id")),
        "url": _get(new_row, "url"),
        "from": ident(old_row),
        "to": ident(new_row),
        "fields": list(changes),
        "changes": changes,
    }


def _rows(versions: Any) -> list[dict[str, Any]]:
    """Rows of posts with more than one stored row, from a pyarrow Table, a pandas or Polars
    DataFrame, or an iterable of dicts (a corpus has few edited posts: skip the rest early)."""
    if hasattr(versions, "to_pylist"):  # pyarrow.Table
        import pyarrow as pa
        import pyarrow.compute as pc

        if versions.num_rows == 0:
            return []
        keys = pc.binary_join_element_wise(versions.column("site"),
                                           pc.cast(versions.column("post_id"), pa.string()), "\x1f")
        counts = pc.value_counts(keys)
        multi = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
        return versions.filter(pc.is_in(keys, value_set=multi)).to_pylist()
    if hasattr(versions, "to_dicts"):  # polars.DataFrame
        import polars as pl

        return versions.filter(pl.len().over(["site", "post_id"]) > 1).to_dicts()
    if hasattr(versions, "to_dict") and hasattr(versions, "columns"):  # pandas.DataFrame
        return versions[versions.duplicated(["site", "post_id"], keep=False)].to_dict("records")
    return [dict(r) for r in versions]


def since_instant(since: Any) -> dt.datetime | None:
    """`since` as an aware UTC instant; 'YYYY-MM-DD' or a date is the start of that China day."""
    from crawler.clock import parse_day

    if since is None or since == "":
        return None
    if isinstance(since, dt.datetime) or hasattr(since, "to_pydatetime"):
        return _ts(since)
    if isinstance(since, str) and len(since.strip()) > 10:  # an instant: 2026-11-20T02:00:00+00:00
        try:
            return _ts(dt.datetime.fromisoformat(since.strip().replace("Z", "+00:00")))
        except ValueError:
            pass
    # a day is a China day (crawler.clock: the one parser; UsageError for a bad date)
    day = parse_day(since, "--since")
    return day.astimezone(dt.timezone.utc) if day is not None else None


def _order(row: dict[str, Any]) -> tuple:
    # the store's rule for "newer": later fetch, then later extraction (a reextract of the same fetch)
    epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return (_ts(_get(row, "fetched_at")) or epoch, _ts(_get(row, "extracted_at")) or epoch,
            _get(row, "content_hash") or "")


def changes(versions: Any, since: Any = None, site: str | Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One `diff_versions` entry per new version of each (site, post_id), oldest change first.

    `versions` holds every stored version (``load(out, history=True)``, a pyarrow Table, a Polars
    DataFrame or dicts) with at least site, post_id, fetched_at and the compared fields. A post's
    first version is not a change. `since` keeps entries whose new version was fetched at or after
    it (the version before may be older); `site` keeps one site or several. The same version read
    twice (same content_hash, fetched_at and extracted_at) counts once.
    """
    start = since_instant(since)
    sites = {site} if isinstance(site, str) else (set(site) if site is not None else None)
    posts: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in _rows(versions):
        if sites is not None and row.get("site") not in sites:
            continue
        posts.setdefault((row["site"], int(row["post_id"])), []).append(row)
    out = []
    for rows in posts.values():
        rows.sort(key=_order)
        unique = [r for i, r in enumerate(rows) if i == 0 or _order(r) != _order(rows[i - 1])]
        for old, new in zip(unique, unique[1:]):
            fetched = _ts(_get(new, "fetched_at"))
            if start is not None and (fetched is None or fetched < start):
                continue
            out.append(diff_versions(old, new))
    out.sort(key=lambda e: (e["to"].get("fetched_at") or "", e["site"], e["post_id"]))
    return out
