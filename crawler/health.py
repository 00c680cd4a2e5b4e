"""A run's status and exit code, the --max-failed tolerance, and the dataset's health (pure).

The statuses and exit codes are the contract cron jobs rely on (docs/schema.md, "Run summary"):

| status        | exit | meaning                                                                  |
|---------------|------|--------------------------------------------------------------------------|
| `ok`          | 0    | every post the run settled is stored, unchanged or known gone            |
| `partial`     | 3    | the run finished but posts remain failed (0 when within --max-failed)    |
| `failed`      | 1    | the run failed: fatal error, locked folder, proxy down, nothing fetched  |
| `interrupted` | 1    | stopped by a signal; what was fetched is written                         |

Exit code 2 (bad usage) is raised before a run starts and never comes from here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from crawler.errors import UsageError

STATUS_OK = "ok"
STATUS_PARTIAL = "partial"
STATUS_FAILED = "failed"
STATUS_INTERRUPTED = "interrupted"
STATUSES = (STATUS_OK, STATUS_PARTIAL, STATUS_FAILED, STATUS_INTERRUPTED)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3

#: Version of the run summary / manifest shape (docs/schema.md); bump on an incompatible change.
SCHEMA_VERSION = 1

_MAX_FAILED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class MaxFailed:
    """How many posts may remain failed before a run exits 3: a count, or a percentage of the posts settled."""

    count: int | None = 0
    percent: Fraction | None = None

    def allows(self, failed: int, posts: int) -> bool:
        """True when `failed` of `posts` settled posts is within the tolerance."""
        if failed <= 0:
            return True
        if self.percent is not None:
            return posts > 0 and Fraction(failed * 100, posts) <= self.percent
        return failed <= (self.count or 0)

    def __str__(self) -> str:
        if self.percent is not None:
            return f"{float(self.percent):g}%"
        return str(self.count or 0)


def parse_max_failed(value: Any) -> MaxFailed:
    """'5' (posts) or '2%' / '2.5%' (of the posts the run settled) as a MaxFailed; UsageError if bad.

    None or '' is the default, 0: any post left failed makes the run partial.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return MaxFailed()
    if isinstance(value, MaxFailed):
        return value
    if isinstance(value, bool):
        raise UsageError(f"bad --max-failed {value!r}: use a number of posts (5) or a percentage (2%)")
    text = str(value)
    m = _MAX_FAILED_RE.match(text)
    if not m:
        raise UsageError(f"bad --max-failed {text!r}: use a number of posts (5) or a percentage (2%)")
    number, pct = m.groups()
    if pct:
        percent = Fraction(number)
        if percent > 100:
            raise UsageError(f"bad --max-failed {text!r}: a percentage is at most 100%")
        return MaxFailed(count=None, percent=percent)
    if "." in number:
        raise UsageError(f"bad --max-failed {text!r}: a number of posts is a whole number")
    return MaxFailed(count=int(number))


def run_status(counts: Mapping[str, Any], max_failed: MaxFailed | str | int | None = None) -> tuple[str, int]:
    """(status, exit_code) of a finished run from its counts.

    counts: ``error`` (fatal error text, or None), ``interrupted`` (bool), ``failed`` (posts still
    failed when the run ended, after its retries), ``posts`` (posts the run settled, any outcome;
    the base of a percentage). First match wins: an error is ``failed``/1, a signal
    ``interrupted``/1, every settled post failed is ``failed``/1 (nothing got through: the site or
    the network is down), some failed is ``partial`` with 3, or 0 within `max_failed`, none ``ok``/0.
    A tolerated partial run keeps the status ``partial``: the status says what happened, the exit
    code whether cron should raise the alarm.
    """
    tolerance = parse_max_failed(max_failed)
    if counts.get("error"):
        return STATUS_FAILED, EXIT_FAILED
    if counts.get("interrupted"):
        return STATUS_INTERRUPTED, EXIT_FAILED
    failed = int(counts.get("failed") or 0)
    posts = int(counts.get("posts") or 0)
    if failed <= 0:
        return STATUS_OK, EXIT_OK
    if failed >= posts:
        return STATUS_FAILED, EXIT_FAILED
    return STATUS_PARTIAL, (EXIT_OK if tolerance.allows(failed, posts) else EXIT_PARTIAL)


def _when(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    raise TypeError(f"not a time: {value!r}")


def crawl_health(runs: Iterable[Mapping[str, Any]], debt: Mapping[str, Mapping[str, int]],
                 sites: Iterable[str], now: dt.datetime) -> dict[str, Any]:
    """The health block of ``stats --json``: missing/abandoned posts, the last run, stale sites.

    runs: run manifests oldest first (``list_runs``), each with ``run_id``, ``status``,
    ``finished`` (or ``started``) and ``sites`` (``[{"host", ...}]`` or host names); debt:
    ``{site: {"missing": n, "abandoned": n}}`` (``FailedPosts.counts()`` per site); sites: the
    sites the dataset holds. ``sites_not_crawled_since`` maps each site to whole days since the
    last run that finished with it ``ok`` or ``partial`` (None: never).
    """
    runs = list(runs)
    last = None
    if runs:
        r = runs[-1]
        last = {"run_id": r.get("run_id"), "status": r.get("status"),
                "finished": r.get("finished") or r.get("started"), "exit_code": r.get("exit_code")}
    crawled: dict[str, dt.datetime] = {}
    for r in runs:
        if r.get("status") not in (STATUS_OK, STATUS_PARTIAL):
            continue
        when = _when(r.get("finished") or r.get("started"))
        if when is None:
            continue
        for s in r.get("sites") or []:
            host = s.get("host") if isinstance(s, Mapping) else s
            if host and (host not in crawled or when > crawled[host]):
                crawled[host] = when
    stale = {}
    for host in sorted(set(sites) | set(debt)):
        when = crawled.get(host)
        stale[host] = None if when is None else max(0, (now - when).days)
    return {
        "missing_posts": sum(int(d.get("missing", 0)) for d in debt.values()),
        "abandoned_posts": sum(int(d.get("abandoned", 0)) for d in debt.values()),
        "last_run": last,
        "sites_not_crawled_since": stale,
    }
