"""tpure dates: relative forms and their rounding, bracketed dates, absolute styles, feed and archive."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.dates import (
    CST,
    parse_absolute,
    parse_http_date,
    parse_tpure_date,
    relative_interval,
    resolve_published,
)

UTC = timezone.utc
NOW = datetime(2026, 11, 26, 17, 24, tzinfo=UTC)  # 2026-11-27 01:24 China time (the samples)

# tpure_TimeAgo, written out independently of crawler.dates: largest unit that fits, PHP round().
_UNITS = [(360 * 86400, "年前", "%Y-%m-%d"), (30 * 86400, "个月前", "%m-%d"), (7 * 86400, "周前", "%m-%d"),
          (86400, "天前", None), (3600, "小时前", None), (60, "分钟前", None), (1, "秒前", None)]


def tpure_time_ago(published: datetime, now: datetime) -> str:
    """What tpure prints for a post published at `published` when the server clock says `now`."""
    elapsed = (now - published).total_seconds()
    if elapsed < 1:
        return "刚刚"
    for secs, suffix, bracket in _UNITS:
        if elapsed >= secs:
            n = int(math.floor(elapsed / secs + 0.5))
            text = f"{n}{suffix}"
            if bracket:
                text += f" ({published.astimezone(CST).strftime(bracket)})"
            return text
    raise AssertionError


def test_samples():
    """The info lines of the site samples, rendered at 2026-11-27 01:24 +08:00."""
    p = parse_tpure_date("2年前 (2024-11-04)", NOW)
    assert (p.value, p.precision) == (datetime(2024, 11, 4, 4, tzinfo=UTC), "day")
    p = parse_tpure_date("1周前 (11-19)", NOW)
    assert p.value.astimezone(CST).date().isoformat() == "2026-11-19" and p.precision == "day"
    p = parse_tpure_date("1年前 (2025-11-11)", NOW)
    assert p.value.astimezone(CST).date().isoformat() == "2025-11-11"


def test_month_day_bracket_picks_the_year_not_in_the_future():
    # Early January: "2个月前 (11-20)" is November of the previous year.
    now = datetime(2027, 1, 10, 2, tzinfo=UTC)
    p = parse_tpure_date("2个月前 (11-20)", now)
    assert p.value.astimezone(CST).date().isoformat() == "2026-11-20"
    p = parse_tpure_date("1周前 (01-03)", now)
    assert p.value.astimezone(CST).date().isoformat() == "2027-01-03"


def test_today_day_value_is_never_after_the_server_clock():
    # Published this morning (China time), 1 week ago would not apply, but absolute day styles do.
    now = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)  # 02:00 on the 27th in China
    p = parse_tpure_date("2026-11-27", now)
    assert p.value <= now and p.value.astimezone(CST).date().isoformat() == "2026-11-27"


@pytest.mark.parametrize(
    "text, expected, precision",
    [
        ("2024-11-04", datetime(2024, 11, 4, 4, tzinfo=UTC), "day"),
        ("2024-11-04 09:30", datetime(2024, 11, 4, 1, 30, tzinfo=UTC), "minute"),
        ("2024-11-04 09:30:15", datetime(2024, 11, 4, 1, 30, 15, tzinfo=UTC), "second"),
        ("2024年11月04日", datetime(2024, 11, 4, 4, tzinfo=UTC), "day"),
        ("2024年1月4日", datetime(2024, 1, 4, 4, tzinfo=UTC), "day"),
        ("2024-01-01 07:59", datetime(2023, 12, 31, 23, 59, tzinfo=UTC), "minute"),
    ],
)
def test_absolute_styles(text, expected, precision):
    assert parse_absolute(text) == (expected, precision)
    p = parse_tpure_date(text, None)  # absolute styles need no server clock
    assert (p.value, p.precision, p.raw) == (expected, precision, text)


def test_rounding_thresholds():
    """The interval tpure can display as N units: [N-0.5, N+0.5) units, cut by the unit range."""
    assert relative_interval(3, "天") == (2.5 * 86400, 3.5 * 86400)
    assert relative_interval(1, "天") == (86400, 1.5 * 86400)  # a day is only shown from 24 h on
    assert relative_interval(7, "天") == (6.5 * 86400, 7 * 86400)  # from 7 days it is "1周前"
    assert relative_interval(12, "个月") == (11.5 * 30 * 86400, 360 * 86400)
    assert relative_interval(2, "年") == (1.5 * 360 * 86400, 2.5 * 360 * 86400)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=6 * 360 * 86400))
def test_relative_forms_resolve_to_what_tpure_printed(elapsed):
    """Render with tpure's rule, parse back: the truth lies in what we claim to know."""
    published = NOW - timedelta(seconds=elapsed)
    text = tpure_time_ago(published, NOW)
    p = parse_tpure_date(text, NOW)
    err = abs((p.value - published).total_seconds())
    if p.precision == "day":
        assert p.value.astimezone(CST).date() == published.astimezone(CST).date(), text
    elif p.precision == "second":
        assert err <= 1, text
    elif p.precision == "minute":
        assert err <= 30, text
    else:
        assert p.precision == "approximate"
        m = text.rstrip("前")
        n = int("".join(ch for ch in m if ch.isdigit()))
        unit = m.lstrip("0123456789")
        lo, hi = relative_interval(n, unit)
        assert lo <= elapsed <= hi and err <= (hi - lo) / 2 + 1, text


def test_hours_within_one_china_day_are_day_precision():
    # 3小时前 at 15:00 China time: 11:30-12:30, all on the same day.
    now = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    p = parse_tpure_date("3小时前", now)
    assert p.precision == "day" and p.value == datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
    # 3天前 spans two China days: approximate.
    assert parse_tpure_date("3天前", now).precision == "approximate"
    assert parse_tpure_date("刚刚", now) == parse_tpure_date("刚刚", now)
    assert parse_tpure_date("刚刚", now).precision == "second"


def test_server_date_wins_over_fetch_time():
    server = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    fetched = server + timedelta(hours=5)  # e.g. a page re-extracted from an archive later
    p = resolve_published("10分钟前", server_date=server, fetched_at=fetched)
    assert p.value == server - timedelta(minutes=10) and p.precision == "minute"
    q = resolve_published("10分钟前", fetched_at=fetched)
    assert q.value == fetched - timedelta(minutes=10)


def test_feed_pubdate_wins_and_archive_month_refines():
    feed = datetime(2026, 11, 20, 13, 18, 44, tzinfo=timezone(timedelta(hours=8)))
    p = resolve_published("6天前", server_date=NOW, feed_published=feed)
    assert (p.value, p.precision, p.raw) == (feed.astimezone(UTC), "second", "6天前")
    # "4周前" without its bracket = 24.5-30 days before 2026-11-27 01:24 (China): Oct 28 - Nov 2;
    # the date archive says November, so Nov 1 00:00 - Nov 2 13:24.
    plain = resolve_published("4周前", server_date=NOW)
    p = resolve_published("4周前", server_date=NOW, archive_month=(2026, 11))
    nov1 = datetime(2026, 11, 1, tzinfo=CST).astimezone(UTC)
    assert plain.value < nov1 <= p.value <= NOW - timedelta(days=24.5)
    assert p.precision == "approximate"
    # An archive month that contradicts the page changes nothing.
    assert resolve_published("4周前", server_date=NOW, archive_month=(2026, 5)) == plain
    # No date on the page at all: the archive month is all we know.
    p = resolve_published(None, archive_month=(2026, 2))
    assert p.precision == "month" and p.value.astimezone(CST).month == 2


def test_unknown_or_unresolvable_dates_are_null_not_wrong():
    assert parse_tpure_date("3天前", None).value is None  # no clock to count from
    assert parse_tpure_date("发布于很久以前", NOW).value is None
    assert parse_tpure_date("", NOW).value is None


def test_parse_http_date():
    assert parse_http_date("Thu, 26 Nov 2026 17:24:00 GMT") == NOW
    assert parse_http_date(b"Thu, 26 Nov 2026 17:24:00 GMT") == NOW
    assert parse_http_date("2026-11-26T17:24:00Z") == NOW
    assert parse_http_date("garbage") is None
