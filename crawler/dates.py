"""Publication dates of tpure pages: relative and absolute forms, feed pubDate, precision.

tpure prints ``round(elapsed / unit)`` for the largest unit that fits (year = 360 days,
month = 30 days, week, day, hour, minute, second), counted from the server's clock, with the
absolute date in brackets from a week on: ``3天前``, ``2周前 (11-15)``, ``2年前 (2024-11-04)``.
Some subsites use absolute styles instead. Page times are China Standard Time (UTC+8); every
value returned here is a timezone-aware UTC datetime.

Precision says what the page lets us know, never more:
``second`` / ``minute`` (exact time, or a feed pubDate), ``day`` (the date is known, the time
of day is not: the value is noon China time, so its UTC and China calendar days agree),
``month`` (only a date-archive month), ``approximate`` (the centre of the interval a rounded
relative form allows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crawler import rules
from crawler.clock import SITE_TZ as CST
from crawler.clock import UTC, parse_http_date  # noqa: F401  (crawler.dates.parse_http_date is public)
from crawler.clock import to_utc as _utc

#: Units in tpure's order, largest first: (name, seconds), from crawler.rules.
_UNIT_ORDER = list(rules.RELATIVE_UNITS.items())
_UNIT_ALIASES = {**{u: u for u in rules.RELATIVE_UNITS}, **rules.RELATIVE_UNIT_ALIASES}


@dataclass(frozen=True)
class Published:
    """A resolved publication time: UTC value (or None), its precision, and the page text."""

    value: datetime | None
    precision: str | None
    raw: str | None


def _noon_cst(d: date) -> datetime:
    """Noon China time of a calendar day, in UTC: the same calendar day in both zones."""
    return datetime(d.year, d.month, d.day, 12, tzinfo=CST).astimezone(UTC)


def _day_value(d: date, reference: datetime | None) -> datetime:
    """The stored value for a date known to the day: noon CST, but never after the reference."""
    value = _noon_cst(d)
    if reference is not None and value > reference:
        # Published today before noon: the page cannot be from the future.
        value = max(reference, datetime(d.year, d.month, d.day, tzinfo=CST).astimezone(UTC))
    return value


def unit_seconds(unit: str) -> int:
    """Seconds of a tpure relative unit in any spelling (个月, 週, 小時 ...); KeyError if unknown."""
    return rules.RELATIVE_UNITS[_UNIT_ALIASES[unit]]


def relative_interval(n: int, unit: str) -> tuple[float, float]:
    """Elapsed-seconds interval [lo, hi) that tpure displays as ``n`` ``unit`` 前."""
    unit = _UNIT_ALIASES[unit]
    names = [u for u, _ in _UNIT_ORDER]
    i = names.index(unit)
    secs = _UNIT_ORDER[i][1]
    lo = max(float(secs), (n - 0.5) * secs)
    hi = (n + 0.5) * secs
    if i > 0:
        # A larger unit would have been chosen once elapsed reached it.
        hi = min(hi, float(_UNIT_ORDER[i - 1][1]))
    return lo, hi


def parse_absolute(text: str) -> tuple[datetime, str] | None:
    """``YYYY-MM-DD[ HH:MM[:SS]]`` or ``YYYY年MM月DD日`` (China time) -> (UTC datetime, precision)."""
    m = rules.RE_ABSOLUTE.search(text)
    if not m:
        return None
    y, mo, d, hh, mi, ss = m.groups()
    try:
        if hh is None:
            return _noon_cst(date(int(y), int(mo), int(d))), "day"
        local = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0), tzinfo=CST)
    except ValueError:
        return None
    return local.astimezone(UTC), ("second" if ss is not None else "minute")


def _month_day_before(month: int, day: int, reference: datetime) -> date | None:
    """The latest date with this month-day that is not after the reference day (China time)."""
    ref_day = reference.astimezone(CST).date()
    for year in range(ref_day.year, ref_day.year - 5, -1):
        try:
            cand = date(year, month, day)
        except ValueError:  # 02-29 outside a leap year
            continue
        if cand <= ref_day:
            return cand
    return None


def _interval_value(lo_dt: datetime, hi_dt: datetime) -> Published:
    """Centre of a publication-time interval and the precision its width allows."""
    centre = lo_dt + (hi_dt - lo_dt) / 2
    width = (hi_dt - lo_dt).total_seconds()
    if width <= 1:
        precision = "second"
    elif width <= 60:
        precision = "minute"
    elif lo_dt.astimezone(CST).date() == (hi_dt - timedelta(microseconds=1)).astimezone(CST).date():
        precision = "day"
    else:
        precision = "approximate"
    return Published(centre, precision, None)


def parse_tpure_date(raw: str | None, reference: datetime | None) -> Published:
    """Resolve a tpure date text against the server clock (``reference``, UTC)."""
    if not raw or not raw.strip():
        return Published(None, None, raw)
    text = " ".join(raw.split())
    reference = _utc(reference)
    rel = rules.RE_RELATIVE.search(text)
    just_now = rules.RE_JUST_NOW.search(text)
    if not rel and not just_now:
        parsed = parse_absolute(text)
        if parsed is None:
            return Published(None, None, text)
        value, precision = parsed
        if precision == "day":
            value = _day_value(value.astimezone(CST).date(), reference)
        return Published(value, precision, text)
    # Relative form: a bracketed date, when shown, fixes the day.
    full = rules.RE_BRACKET_FULL.search(text)
    if full:
        try:
            d = date(int(full.group(1)), int(full.group(2)), int(full.group(3)))
            return Published(_day_value(d, reference), "day", text)
        except ValueError:
            pass
    md = rules.RE_BRACKET_MD.search(text.split("前", 1)[-1]) if rel else None
    if md and reference is not None:
        d = _month_day_before(int(md.group(1)), int(md.group(2)), reference)
        if d is not None:
            return Published(_day_value(d, reference), "day", text)
    if reference is None:
        return Published(None, None, text)
    if just_now and not rel:
        lo, hi = 0.0, 1.0
    else:
        lo, hi = relative_interval(int(rel.group(1)), rel.group(2))
    res = _interval_value(reference - timedelta(seconds=hi), reference - timedelta(seconds=lo))
    return Published(res.value, res.precision, text)


def _month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The first instant of a China-time month and of the next one, in UTC."""
    start = datetime(year, month, 1, tzinfo=CST)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=CST)
    return start.astimezone(UTC), end.astimezone(UTC)


def resolve_published(
    raw: str | None,
    *,
    server_date: datetime | None = None,
    fetched_at: datetime | None = None,
    feed_published: datetime | None = None,
    archive_month: tuple[int, int] | None = None,
) -> Published:
    """Best publication time from the page text, the HTTP Date, a feed pubDate and an archive month.

    The feed's exact pubDate wins; relative forms count from ``server_date`` (the server's
    clock) or else ``fetched_at``; a date-archive month narrows an approximate value.
    """
    text = " ".join(raw.split()) if raw else None
    if feed_published is not None:
        return Published(_utc(feed_published), "second", text)
    reference = _utc(server_date) or _utc(fetched_at)
    pub = parse_tpure_date(text, reference)
    if archive_month is None or pub.precision in ("second", "minute", "day"):
        return pub
    m_start, m_end = _month_bounds(*archive_month)
    if pub.value is None:
        return Published(m_start + (m_end - m_start) / 2, "month", text)
    # Approximate: intersect the relative interval with the archive month.
    rel = rules.RE_RELATIVE.search(text or "")
    if rel and reference is not None:
        lo, hi = relative_interval(int(rel.group(1)), rel.group(2))
        start = max(reference - timedelta(seconds=hi), m_start)
        end = min(reference - timedelta(seconds=lo), m_end)
        if start < end:
            res = _interval_value(start, end)
            return Published(res.value, res.precision, text)
    return pub
