"""The one clock: the sites' time zone, calendar days, HTTP dates and run ids.

A *day* is a China day everywhere (crawl --since/--until, export, load, stats per month, report
and the ``year=/month=`` partitions): the sites print China Standard Time and a reader asking
for 2026-10-16 means the day the page shows, not a UTC day that starts at 08:00 there.
Instants are stored and compared as aware UTC datetimes; naive datetimes are taken as UTC
(HTTP dates and fetch times are UTC).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from crawler.errors import UsageError

#: The sites' local time: every page date, day and month is China Standard Time (UTC+8, no DST).
SITE_TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc

_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def to_utc(value: Any) -> dt.datetime | None:
    """value (datetime, pandas Timestamp, date, None) as an aware UTC datetime; a date is its China day start."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        if value != value:  # NaT
            return None
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dt.date):
        return day_start(value).astimezone(UTC)
    raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of a China calendar day (aware, in the sites' zone: .year/.month are China's)."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=SITE_TZ)


def local(value: Any) -> dt.datetime | None:
    """value as an aware datetime in the sites' time zone (None stays None)."""
    ts = to_utc(value)
    return ts.astimezone(SITE_TZ) if ts is not None else None


def site_month(value: Any) -> tuple[int, int] | None:
    """(year, month) of an instant in China time, None for None."""
    ts = local(value)
    return (ts.year, ts.month) if ts is not None else None


def _parse(value: Any, option: str) -> tuple[dt.datetime, bool] | None:
    """(aware instant, date_only) of a day or instant given as date/datetime/'YYYY-MM-DD'/ISO text."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, dt.datetime):
        return to_utc(value), False
    if isinstance(value, dt.date):
        return day_start(value), True
    text = str(value).strip()
    try:
        if _DAY_RE.fullmatch(text):
            return day_start(dt.date.fromisoformat(text)), True
        return to_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00"))), False
    except ValueError:
        raise UsageError(f"bad {option} date {text!r}: use YYYY-MM-DD") from None


def parse_day(value: Any, option: str = "date") -> dt.datetime | None:
    """'YYYY-MM-DD' (or a date/datetime/ISO instant) as the start of that China day; UsageError if bad."""
    parsed = _parse(value, option)
    return parsed[0] if parsed else None


def date_range(since: Any = None, until: Any = None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[since, until) as UTC instants: a date-only until includes that whole China day."""
    s = _parse(since, "--since")
    u = _parse(until, "--until")
    start = to_utc(s[0]) if s else None
    end = to_utc(u[0] + dt.timedelta(days=1) if u[1] else u[0] + dt.timedelta(microseconds=1)) if u else None
    if start is not None and end is not None and start >= end:
        raise UsageError(f"--since {format_day(since)} is after --until {format_day(until)}: swap them")
    return start, end


def format_day(value: Any) -> str:
    """A day or instant as the China day 'YYYY-MM-DD' (text that is no date is returned as is)."""
    if isinstance(value, (dt.date, dt.datetime)) or hasattr(value, "to_pydatetime"):
        return local(value).strftime("%Y-%m-%d")
    return str(value)


def parse_http_date(value: str | bytes | None) -> dt.datetime | None:
    """An HTTP ``Date`` header (RFC 7231/822) or ISO 8601 string as a UTC datetime; None if unparsable."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    try:
        return to_utc(parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return to_utc(dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def now() -> dt.datetime:
    """The current instant, aware UTC."""
    return dt.datetime.now(UTC)


def new_run_id(job: str | None = None, when: dt.datetime | None = None) -> str:
    """A run id, sortable and unique per job: UTC time plus Scrapyd's job id or random hex."""
    stamp = (to_utc(when) or now()).strftime("%Y%m%dT%H%M%SZ")
    tail = re.sub(r"[^A-Za-z0-9]", "", job)[:32] if job else ""
    return f"{stamp}-{tail or secrets.token_hex(4)}"
