"""The crawl's arguments on the spider side: what `scrapy crawl zblog -a ...` and Scrapyd pass.

Checked here once for every way a crawl starts (the CLI's subprocess, scrapy, Scrapyd), so a
bad argument is a one-line UsageError before any request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crawler import clock, errors
from crawler.clock import format_day, parse_day
from crawler.sites import Site, resolve_sites

MODES = ("auto", "full", "incremental", "ids", "sitemap")
#: A list item counts as older than --since only with this margin: tpure rounds relative dates.
SINCE_MARGIN_DAYS = 2


@dataclass
class CrawlArgs:
    """Validated spider arguments (what `scrapy crawl zblog -a ...` and Scrapyd pass)."""

    sites: list[Site]
    mode: str = "auto"
    ids: tuple[int, int] | None = None
    since: datetime | None = None
    until: datetime | None = None
    max_pages: int | None = None
    refresh: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def until_end(self) -> datetime | None:
        """The first instant after the --until day."""
        return self.until + timedelta(days=1) if self.until else None

    # --- range checks (the spider prunes requests with them) ----------------------------------
    def since_floor(self):
        """List dates before this are surely before --since (rounded relative dates allowed for)."""
        return self.since - timedelta(days=SINCE_MARGIN_DAYS)

    def until_ceiling(self):
        """List dates after this are surely after --until."""
        return self.until + timedelta(days=SINCE_MARGIN_DAYS + 1)

    def in_range(self, when) -> bool:
        """True when `when` (exact) is inside --since/--until, or unknown."""
        if when is None:
            return True
        if self.since and when < self.since:
            return False
        if self.until and when >= self.until_end:
            return False
        return True

    def month_in_range(self, month) -> bool:
        """Whether a date archive (year, month) can hold posts inside --since/--until."""
        y, m = month
        if self.since and (y, m) < clock.site_month(self.since):
            return False
        if self.until and (y, m) > clock.site_month(self.until):
            return False
        return True

    def spider_args(self) -> dict[str, str]:
        """These arguments as the strings a spider (or Scrapyd) receives."""
        out = {"sites": ",".join(s.host for s in self.sites), "mode": self.mode}
        if self.ids:
            out["ids"] = f"{self.ids[0]}-{self.ids[1]}"
        if self.since:
            out["since"] = format_day(self.since)
        if self.until:
            out["until"] = format_day(self.until)
        if self.max_pages:
            out["max_pages"] = str(self.max_pages)
        if self.refresh:
            out["refresh"] = "1"
        return out


#: Most IDs one --ids range may span: a subsite's IDs run to a few thousand, and each ID is one
#: request; a typo such as 1-99999999999999999999999 must fail at once, not spin counting IDs.
MAX_ID_SPAN = 1_000_000


def parse_ids(text: str | None) -> tuple[int, int] | None:
    """'3000-3900' or '3000' as (lo, hi); None when not given; UsageError for anything else."""
    if text is None:
        return None
    if str(text).strip() == "":  # `--ids ''` is a mistake, not a request for a full crawl
        raise errors.UsageError("empty ID range: expected FIRST-LAST, e.g. --ids 3000-3900 (or leave --ids out)")
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(text)[:200])
    if not m:
        raise errors.UsageError(f"bad ID range {str(text)[:40]!r}: expected FIRST-LAST, e.g. 3000-3900")
    if max(len(g or "") for g in m.groups()) > 18:
        raise errors.UsageError(f"ID range {str(text)[:40]!r} spans more than {MAX_ID_SPAN:,} IDs "
                                "per run: split it into smaller ranges")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo < 1 or hi < lo:
        raise errors.UsageError(f"bad ID range {text!r}: FIRST must be at least 1 and not above LAST")
    if hi - lo + 1 > MAX_ID_SPAN:
        raise errors.UsageError(f"ID range {text!r} spans {hi - lo + 1:,} IDs; at most {MAX_ID_SPAN:,} "
                                "per run: split it into smaller ranges")
    return lo, hi


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def parse_spider_args(kwargs: dict[str, Any]) -> CrawlArgs:
    """Check and convert spider arguments (strings, as Scrapyd passes them)."""
    raw_sites = kwargs.get("sites") or ""
    names = [s for s in re.split(r"[,\s]+", raw_sites) if s] if isinstance(raw_sites, str) else list(raw_sites)
    site_list, warnings = resolve_sites(names, all_sites=_truthy(kwargs.get("all", "")))
    mode = (kwargs.get("mode") or "auto").strip().lower()
    if mode not in MODES:
        raise errors.UsageError(f"bad mode {mode!r}: expected one of {', '.join(MODES)}")
    ids = parse_ids(kwargs.get("ids"))
    if mode == "ids" and ids is None:
        raise errors.UsageError("mode ids needs an ID range, e.g. --ids 3000-3900")
    if ids is not None and mode == "auto":
        mode = "ids"
    if ids is not None and mode != "ids":
        raise errors.UsageError(f"an ID range only goes with mode ids, not {mode}")
    since = parse_day(kwargs.get("since"), "--since")
    until = parse_day(kwargs.get("until"), "--until")
    if since and until and since > until:
        raise errors.UsageError(
            f"--since {format_day(since)} is after --until {format_day(until)}: swap them"
        )
    max_pages = kwargs.get("max_pages")
    if max_pages in (None, "", 0, "0"):
        max_pages = None
    else:
        try:
            max_pages = int(max_pages)
            if max_pages < 1:
                raise ValueError
        except (TypeError, ValueError):
            raise errors.UsageError(f"bad max_pages {kwargs.get('max_pages')!r}: expected a positive number") from None
    return CrawlArgs(
        sites=site_list, mode=mode, ids=ids, since=since, until=until, max_pages=max_pages,
        refresh=_truthy(kwargs.get("refresh", "")), warnings=warnings,
    )


def load_known_posts(out: str, hosts: list[str] | None = None) -> dict[tuple[str, int], set[str]]:
    """(site, post_id) -> stored content hashes: the crawl state, read from the dataset itself."""
    from crawler.store import known_posts

    return known_posts(out, sites=hosts)


