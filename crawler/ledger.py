"""The crawl ledger: each requested post's one outcome, the error counts, the marker files and
the run summary, in one place the spider, the pipelines and the extension share.

The spider discovers and routes; it tells the ledger what it requested (``request``) and the
pipelines tell it how each post ended (``settle``). The ledger is attached to the crawler
(``Ledger.of(crawler)``), so no component reaches into another. Items are typed
(``PostItem``: a record with the post it settles and the exchange to archive;
``ArchiveItem``: a response kept only in the WARC), so records carry no hidden keys.
The ``parkcorpus/...`` stats keys are defined here and nowhere else.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler import clock
from crawler.errors import UnsafePathError
from crawler.safefile import kind_of, read_state_file, write_state_file

logger = logging.getLogger(__name__)

#: Every outcome a requested post can end in (each post gets exactly one).
OUTCOMES = ("written", "unchanged", "gone_404", "robots", "failed", "not_article", "out_of_range")
#: Outcomes that make a post unfetchable (remembered so incremental runs do not retry it nightly).
UNFETCHABLE = ("gone_404", "robots", "not_article")
#: Folder under the output holding run state that is not data: progress, summaries, markers.
STATE_DIR = ".parkcorpus"
#: At most this many failed/malformed URLs are listed in the summary.
MAX_LISTED_URLS = 1000
#: Seconds between two mid-run writes of the posts that failed (the first failure is written at
#: once): a run killed midway loses at most this much of its failures from the debt.
DEBT_CHECKPOINT_SECONDS = 10.0

# --- stats keys (Scrapy stats; the summary and the progress file are built from them) ------------
PREFIX = "parkcorpus/"
POSTS_REQUESTED = PREFIX + "posts_requested"
POSTS_FROM_LINKS = PREFIX + "posts_from_links"
ERRORS = PREFIX + "errors"
FLUSHES = PREFIX + "flushes"
ROWS_FLUSHED = PREFIX + "rows_flushed"
FATAL = PREFIX + "fatal"
LISTS_ROBOTS = PREFIX + "lists_robots"
LISTS_404 = PREFIX + "lists_404"
MALFORMED_URLS = PREFIX + "malformed_urls"
FAILED_URLS = PREFIX + "failed_urls"
OFFSITE_BLOCKED = PREFIX + "offsite_blocked"
RETRY_WAIT_SECONDS = PREFIX + "retry_wait_seconds"
POSTS_RETRIED = PREFIX + "posts_retried"
POSTS_RECOVERED = PREFIX + "posts_recovered"
POSTS_REVISITED = PREFIX + "posts_revisited"
TRUNCATED = PREFIX + "truncated"
ABANDONED_URLS = PREFIX + "abandoned_urls"
#: Tables that looked like parcel/listing tables but could not be read (crawler.facts warnings).
FACT_WARNINGS = PREFIX + "fact_warnings"
#: Fact rows written by the run (crawler.store.DatasetWriter counts).
PARCELS_WRITTEN = PREFIX + "parcels_written"
LISTINGS_WRITTEN = PREFIX + "listings_written"
OUTCOME_PREFIX = PREFIX + "outcome/"
ERROR_PREFIX = PREFIX + "error/"


def site_key(host: str, what: str) -> str:
    """The per-site stats key, e.g. parkcorpus/site/<host>/requests."""
    return f"{PREFIX}site/{host}/{what}"


def outcome_key(outcome: str, host: str | None = None) -> str:
    """The stats key counting an outcome, over the run or for one site."""
    return site_key(host, f"outcome/{outcome}") if host else OUTCOME_PREFIX + outcome


def error_key(kind: str) -> str:
    """The stats key counting errors of one kind."""
    return ERROR_PREFIX + kind


def articles_key(status: str, host: str | None = None) -> str:
    """The stats key counting written articles by status (new, changed)."""
    return site_key(host, f"articles_{status}") if host else f"{PREFIX}articles_{status}"


# --- items ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exchange:
    """One HTTP exchange as the WARC archive keeps it."""

    url: str
    status: int
    headers: Any
    body: bytes
    request_headers: Any = None
    fetched_at: datetime | None = None
    #: (WARC-Record-ID, finished gzip records) when a worker built them (WarcArchive.append)
    warc: tuple[str, bytes] | None = None

    @classmethod
    def of(cls, response: Any, fetched_at: datetime | None = None,
           warc: tuple[str, bytes] | None = None) -> Exchange:
        """The exchange of a Scrapy response."""
        return cls(response.url, response.status, response.headers, response.body,
                   response.request.headers if response.request is not None else None,
                   fetched_at or clock.now(), warc)


@dataclass
class PostItem:
    """A post's record on its way through the pipelines, the post it settles and its exchange."""

    record: dict
    key: tuple[str, int]
    exchange: Exchange | None = None
    signature: Any = None  # the text's crawler.dedup.Signature, made in the extraction worker


@dataclass
class ArchiveItem:
    """A response kept in the WARC archive only (feed, date archive, 404, not an article)."""

    exchange: Exchange


# --- the ledger -------------------------------------------------------------------------------------
@dataclass
class Ledger:
    """Outcome accounting, error counts and the state files of one crawl run."""

    crawler: Any = field(repr=False)
    out: str = "data"
    run_id: str = ""
    known: Any = field(default_factory=dict)  # crawler.store.KnownPosts once the spider read the dataset
    args: dict[str, str] = field(default_factory=dict)
    since: datetime | None = None
    until_end: datetime | None = None
    total_posts: int | None = None
    pending: dict[tuple[str, int], str] = field(default_factory=dict)
    unfetchable: set[tuple[str, int]] = field(default_factory=set)
    unfetchable_now: dict[tuple[str, int], bool] = field(default_factory=dict)
    stored_hosts: set[str] = field(default_factory=set)
    unchanged_now: list[tuple[str, int]] = field(default_factory=list)  # re-fetched, found unchanged
    debt: Any = None  # crawler.debt.FailedPosts under <out>/.parkcorpus/failed/, opened on first use
    debt_checkpoint_at: float | None = None  # time.monotonic() of the last mid-run debt checkpoint

    @classmethod
    def of(cls, crawler: Any) -> Ledger:
        """The ledger of this crawler's run, created on first use from its settings."""
        ledger = crawler.__dict__.get("parkcorpus_ledger")
        if ledger is None:
            s = crawler.settings
            ledger = cls(crawler, out=s.get("PARKCORPUS_OUT") or "data",
                         run_id=s.get("PARKCORPUS_RUN_ID") or clock.new_run_id())
            crawler.parkcorpus_ledger = ledger
        return ledger

    @property
    def stats(self) -> Any:
        """The crawler's stats collector (Scrapy sets it when the crawl starts, after the spider exists)."""
        return self.crawler.stats

    # -- posts
    def is_stored(self, site: str, post_id: int, content_hash: str, record_hash: str | None = None) -> bool:
        """True when this exact version is in the dataset already (by record_hash when given)."""
        if hasattr(self.known, "has_version"):
            return self.known.has_version(site, post_id, record_hash, content_hash)
        if hasattr(self.known, "has"):
            return self.known.has(site, post_id, content_hash)
        return content_hash in self.known.get((site, post_id), ())

    def known_posts(self) -> Any:
        """The KnownPosts the spider read, None before it has (a writer then reads its own)."""
        return self.known if hasattr(self.known, "has") else None

    def request(self, key: tuple[str, int], url: str) -> None:
        """A post was requested: it is pending until settled."""
        self.pending[key] = url
        self.stats.inc_value(POSTS_REQUESTED)

    def settle(self, key, outcome: str, detail: str | None = None, malformed: bool = False) -> None:
        """Give a requested post its one outcome (later calls for the same post are ignored)."""
        url = self.pending.pop(key, None)
        if url is None:
            return
        self.stats.inc_value(outcome_key(outcome))
        self.stats.inc_value(outcome_key(outcome, key[0]))
        if outcome in UNFETCHABLE and not malformed:  # a truncated page is a failure to retry, not a gone post
            self.unfetchable_now[key] = True
        elif outcome in ("written", "unchanged"):
            self.unfetchable_now[key] = False
            if outcome == "unchanged":
                self.unchanged_now.append(key)
        if malformed:
            self._list_url(MALFORMED_URLS, url)
            self.stats.inc_value(TRUNCATED)
        if outcome == "failed":
            self._list_url(FAILED_URLS, url)
        if outcome == "failed" or malformed:
            self._debt_failed(key, url, detail or outcome)
        elif outcome != "out_of_range":  # stored, unchanged or gone for good: the debt is settled
            self._debt_settled(key)
        if detail:
            logger.debug("%s: %s (%s)", url, outcome, detail)

    # -- the failed-post debt (crawler.debt): retried first by every later run
    def failed_posts(self) -> Any:
        """The FailedPosts ledger of this output folder (<out>/.parkcorpus/failed/)."""
        if self.debt is None:
            from crawler.debt import FailedPosts

            from crawler.store.layout import state_dir

            self.debt = FailedPosts(state_dir(self.out) / "failed")
        return self.debt

    def due_posts(self, host: str) -> list[int]:
        """Post ids of host that earlier runs left failed and that are due for a retry now."""
        try:
            return self.failed_posts().due(host, clock.now())
        except Exception as exc:  # noqa: BLE001 - a damaged or unsafe ledger must not stop the crawl
            logger.warning("cannot read the failed posts of %s: %s", host, exc)
            return []

    def _debt_failed(self, key: tuple[str, int], url: str, reason: str) -> None:
        try:
            debt = self.failed_posts()
            was = debt.entries(key[0]).get(key[1], {}).get("abandoned", False)
            entry = debt.add_failed(key[0], key[1], clock.now(), run_id=self.run_id, url=url, reason=reason)
        except Exception as exc:  # noqa: BLE001 - bookkeeping must not cost the post's outcome
            logger.warning("cannot record failed post %s: %s", url, exc)
            return
        if entry.get("abandoned") and not was:
            self._list_url(ABANDONED_URLS, url)
        now = time.monotonic()
        if self.debt_checkpoint_at is None or now - self.debt_checkpoint_at >= DEBT_CHECKPOINT_SECONDS:
            self.debt_checkpoint_at = now
            self.checkpoint_debt()

    def checkpoint_debt(self) -> None:
        """Write the posts that failed so far (a killed run keeps them in the debt); see FailedPosts.checkpoint."""
        from crawler.store.layout import push_state

        try:
            self.failed_posts().checkpoint()
            push_state(self.out, kinds=("failed",))  # an object store: its mirror goes up now too
        except Exception as exc:  # noqa: BLE001 - the end of the run writes it again
            logger.warning("cannot write the failed-post list under %s yet: %s", self.out, exc)

    def _debt_settled(self, key: tuple[str, int]) -> None:
        try:
            if self.failed_posts().recovered(key[0], key[1]):
                self.stats.inc_value(POSTS_RECOVERED)
        except Exception as exc:  # noqa: BLE001
            logger.warning("cannot update the failed posts of %s: %s", key[0], exc)

    def save_debt(self) -> None:
        """Write the failed-post ledger (once, at the end of the run)."""
        if self.debt is None:
            return
        try:
            self.debt.save()
        except Exception as exc:  # noqa: BLE001 - the data is written; say so loudly
            logger.error("cannot save the failed-post list under %s: %s", self.debt.folder, exc)

    def save_checked(self) -> None:
        """Remember when re-fetched posts were found unchanged (the --revisit-sample sweep's order)."""
        from crawler import revisit

        by_host: dict[str, list[int]] = {}
        for host, pid in self.unchanged_now:
            by_host.setdefault(host, []).append(pid)
        for host, ids in by_host.items():
            revisit.save_checked(self.out, host, ids, clock.now())

    def _list_url(self, key: str, url: str) -> None:
        bad = self.stats.get_value(key) or []
        if len(bad) < MAX_LISTED_URLS:
            self.stats.set_value(key, bad + [url])

    def count_error(self, host: str, kind: str, url: str) -> None:
        """Count an error by kind and site (the summary's errors_by_kind)."""
        self.stats.inc_value(ERRORS)
        self.stats.inc_value(error_key(kind))
        self.stats.inc_value(site_key(host, "errors"))
        logger.error("%s failed: %s", url, kind)

    def post_failed(self, key: tuple[str, int], url: str, exc: BaseException) -> None:
        """A post request ended without a response: robots-disallowed, or a failure of its kind."""
        if _is_robots(exc):
            self.settle(key, "robots")
            return
        self.count_error(key[0], error_kind(exc), url)
        self.settle(key, "failed", detail=error_kind(exc))

    def list_failed(self, host: str, url: str, exc: BaseException) -> None:
        """A list, feed or sitemap request failed: robots and 404 are counted apart, the rest are errors."""
        from scrapy.spidermiddlewares.httperror import HttpError

        if _is_robots(exc):
            self.stats.inc_value(LISTS_ROBOTS)
        elif isinstance(exc, HttpError) and exc.response.status in (404, 410):
            self.stats.inc_value(LISTS_404)
        else:
            self.count_error(host, error_kind(exc), url)

    def finish(self, reason: str, site_mode: dict[str, str], whole: bool) -> None:
        """Close the run: unsettled posts fail, unfetchable ids are saved, completed sites are marked."""
        self.save_unfetchable(site_mode)
        for key, url in list(self.pending.items()):
            if reason == "finished":
                # no callback and no errback: the scheduler dropped a redirect back to an already
                # requested URL, i.e. a redirect loop
                self.count_error(key[0], "redirect_loop", url)
            self.settle(key, "failed", detail=f"no response before the run closed ({reason})")
        self.save_debt()
        self.save_checked()
        from crawler.store.layout import push_state

        try:
            push_state(self.out)
        except Exception as exc:  # noqa: BLE001 - the data is written; say so loudly
            logger.error("cannot upload the run state to %s: %s", self.out, exc)
        if reason != "finished":
            return
        for host, mode in site_mode.items():
            # a site that answered counts as crawled; its failed posts are listed in the summary
            # (retry them with --mode full or --ids) rather than forcing full mode every night
            ok = self.stats.get_value(site_key(host, "ok_responses"), 0)
            if mode in ("full", "sitemap") and ok:
                self.marker("incomplete", host).unlink(missing_ok=True)
                if whole:
                    self.write_marker("crawled", host)

    # -- state files
    def marker(self, kind: str, host: str) -> Path:
        """<out>/.parkcorpus/<kind>/<host>: "crawled" after a complete full crawl of host,
        "incomplete" while a full crawl of host has not finished, "unfetchable" the ids of posts
        found 404, robots-disallowed or not an article. On an object store an object of that name."""
        from crawler.store.layout import as_path

        return as_path(self.out) / STATE_DIR / kind / host

    def read_ids(self, kind: str, host: str) -> set[int]:
        """Post ids listed one per line in a state file (empty when there is none)."""
        path = self.marker(kind, host)
        try:
            if not isinstance(path, Path):  # an object store
                text = path.read_text(encoding="utf-8")
            else:
                text = read_state_file(path, limit=MARKER_READ_LIMIT).decode("utf-8", "replace")
        except FileNotFoundError:
            return set()
        except (OSError, UnsafePathError) as exc:  # a symlink planted there is never followed
            logger.warning("cannot read %s: %s", self.marker(kind, host), exc)
            return set()
        return {int(x) for x in text.split() if x.isdigit()}

    def load_state(self, known: Any, hosts) -> None:
        """Take the crawl state (what the dataset stores) and what earlier runs found unfetchable."""
        self.known = known
        self.stored_hosts = set(known.sites()) if hasattr(known, "sites") else {h for h, _ in known}
        from crawler.store.layout import pull_state

        try:  # an object-store dataset: its debt, sweep and feed state come to a local mirror
            pull_state(self.out)
        except Exception as exc:  # noqa: BLE001 - without it the run only retries less
            logger.warning("cannot read the run state under %s: %s", self.out, exc)
        self.load_unfetchable(hosts)
        from crawler.store.reading import damaged_files

        for f in damaged_files(self.out):  # an error line: a crawl logs only errors by default (cron)
            logger.error("%s is damaged: its posts count as not stored and are fetched again; "
                         "run `parkcorpus validate --repair --out %s`", f, self.out)

    def is_complete(self, host: str) -> bool:
        """Whether a complete full crawl of host went into this dataset (auto mode goes incremental).

        A full run killed midway (kill -9 included) leaves its "incomplete" marker, and an ID-range
        or --since run never makes a site complete, so the next run is full.
        """
        crawled, incomplete = self.marker("crawled", host), self.marker("incomplete", host)
        if not isinstance(crawled, Path):  # an object store
            return host in self.stored_hosts and crawled.exists() and not incomplete.exists()
        return host in self.stored_hosts and _is_file(crawled) and not os.path.lexists(incomplete)

    def load_unfetchable(self, hosts) -> None:
        """Read what earlier runs found unfetchable on these hosts."""
        for host in hosts:
            self.unfetchable |= {(host, pid) for pid in self.read_ids("unfetchable", host)}

    def save_unfetchable(self, hosts) -> None:
        """Update <out>/.parkcorpus/unfetchable/<host> with what this run learnt."""
        for host in hosts:
            ids = {pid for h, pid in self.unfetchable if h == host}
            changed = False
            for (h, pid), bad in self.unfetchable_now.items():
                if h == host and (pid in ids) != bad:
                    changed = True
                    (ids.add if bad else ids.discard)(pid)
            if not changed:
                continue
            text = "".join(f"{pid}\n" for pid in sorted(ids))
            path = self.marker("unfetchable", host)
            if not isinstance(path, Path):  # object store: one PUT replaces it whole
                try:
                    path.write_text(text, encoding="utf-8")
                except OSError as exc:
                    logger.warning("cannot write %s: %s", path, exc)
                continue
            self._write_state("unfetchable", host, text)

    def start_sites(self, args: Any, site_list, downloader: Any = None) -> dict[str, str]:
        """Per-site setup of a run: the ids total, per-site delays, each site's mode (auto decided), markers."""
        if args.mode == "ids":
            lo, hi = args.ids
            # known up front, so the progress display can show an ETA from the first request
            self.total_posts = sum(1 for s in site_list for pid in range(lo, hi + 1)
                                   if args.refresh or (s.host, pid) not in self.known)
        modes: dict[str, str] = {}
        for site in site_list:
            if site.delay is not None and downloader is not None:
                # per-site delay from sites.toml (robots.txt Crawl-delay still raises it)
                downloader.per_slot_settings.setdefault(site.host, {})["delay"] = float(site.delay)
            mode = args.mode
            if mode == "auto":  # incremental when a complete crawl of the site is stored
                mode = "incremental" if self.is_complete(site.host) and not args.refresh else "full"
            modes[site.host] = mode
            if mode in ("full", "sitemap"):
                self.write_marker("incomplete", site.host)
            self.stats.set_value(site_key(site.host, "mode"), mode)
        return modes

    def write_marker(self, kind: str, host: str) -> None:
        """Create a marker holding this run's id."""
        self._write_state(kind, host, self.run_id)

    def _write_state(self, kind: str, host: str, text: str) -> None:
        # crawler.safefile: a symlink or FIFO planted at the marker is refused, never written through
        # (crawl() refuses to start on one, see check_state_files; this covers one planted meanwhile)
        path = self.marker(kind, host)
        try:
            if not isinstance(path, Path):  # an object store: one PUT, no links there
                path.write_text(text, encoding="utf-8")
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            write_state_file(path, text, root=self.out)
        except (OSError, UnsafePathError) as exc:
            logger.error("cannot write %s: %s", path, exc)


#: an unfetchable list of a few hundred thousand ids still fits
MARKER_READ_LIMIT = 64 << 20

#: the folders under <out>/.parkcorpus/ holding one state file per host
STATE_KINDS = ("crawled", "incomplete", "unfetchable", "failed")


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def check_state_files(out: str | os.PathLike) -> None:
    """UnsafePathError when <out>/.parkcorpus or a marker in it is a symlink or special file.

    A crawl calls it before it starts, so a link planted in a shared dataset folder stops the run
    with one Error line instead of being written through (or silently ignored) later.
    """
    state = Path(out) / STATE_DIR
    for folder in (state, *(state / k for k in STATE_KINDS)):
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafePathError(f"{folder} is {kind_of(st.st_mode)}, not a folder: parkcorpus will not "
                                  "write through it; remove it and run again")
        if folder == state:
            continue
        for entry in os.scandir(folder):
            mode = entry.stat(follow_symlinks=False).st_mode
            if not stat.S_ISREG(mode):
                raise UnsafePathError(f"{entry.path} is {kind_of(mode)}, not a regular file: parkcorpus "
                                      "will not read or write it; remove it and run again")


# --- errors and the summary ---------------------------------------------------------------------------
def _is_robots(exc: BaseException) -> bool:
    """True for the IgnoreRequest of a URL robots.txt disallows."""
    from scrapy.exceptions import IgnoreRequest

    return isinstance(exc, IgnoreRequest) and "robots" in str(exc).lower()


def error_kind(exc: BaseException) -> str:
    """A short, stable name for why a request failed (the summary's errors_by_kind keys)."""
    from scrapy.exceptions import IgnoreRequest
    from scrapy.spidermiddlewares.httperror import HttpError

    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    msg = str(exc).lower()
    if isinstance(exc, IgnoreRequest):
        if "offsite" in msg:
            return "offsite"
        if "redirect" in msg:
            return "redirect_loop"
        if "robots" in msg:
            return "robots"
        return "ignored"
    name = type(exc).__name__
    table = {
        "TimeoutError": "timeout", "TCPTimedOutError": "timeout", "UserTimeoutError": "timeout",
        "DNSLookupError": "dns", "ConnectionRefusedError": "connection_refused",
        "ConnectError": "connection_refused", "ResponseNeverReceived": "connection_lost",
        "ConnectionLost": "connection_lost", "ConnectionDone": "connection_lost",
        "PotentialDataLoss": "truncated", "ResponseFailed": "connection_lost",
        "DownloadTimeoutError": "timeout", "DownloadConnectionRefusedError": "connection_refused",
        "DownloadFailedError": "connection_lost", "ResponseDataLossError": "truncated",
        "CannotResolveHostError": "dns",
    }
    if name in table:
        return table[name]
    if "max size" in msg or "maxsize" in msg:  # DOWNLOAD_MAXSIZE exceeded
        return "too_large"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()



def output_files(out: str, run_id: str) -> list[str]:
    """Files this run wrote under out (Parquet parts and WARC), relative to out, sorted."""
    from crawler.store.layout import as_path

    root = as_path(out)
    found = []
    for sub in ("articles", "links", "parcels", "listings", "warc"):
        base = root / sub
        if base.is_dir():
            for p in base.rglob(f"*{run_id}*"):
                if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".tmp"):
                    found.append(str(p.relative_to(root)))
    return sorted(found)


def build_summary(stats: dict[str, Any], *, run_id: str, out: str, args: dict[str, Any],
                  max_errors: int = 0, max_failed: Any = None) -> dict[str, Any]:
    """The run summary (what --json prints) from the Scrapy stats of a finished crawl (docs/schema.md)."""
    from crawler.health import EXIT_PARTIAL, SCHEMA_VERSION, STATUS_PARTIAL, parse_max_failed

    tolerance = parse_max_failed(max_failed)
    hosts = [h for h in (args.get("sites") or "").split(",") if h]
    pre = PREFIX
    outcomes = {o: int(stats.get(f"{pre}outcome/{o}", 0)) for o in OUTCOMES}
    errors_by_kind = {
        k[len(pre + "error/"):]: int(v) for k, v in stats.items() if k.startswith(pre + "error/")
    }
    n_errors = sum(errors_by_kind.values())
    site_rows = []
    down = []
    for host in hosts:
        sp = f"{pre}site/{host}/"
        requests = int(stats.get(sp + "requests", 0))
        responses = int(stats.get(sp + "responses", 0))
        usable = int(stats.get(sp + "ok_responses", 0))
        row = {
            "host": host,
            "mode": stats.get(sp + "mode"),
            "pages_fetched": responses,
            "articles_new": int(stats.get(sp + "articles_new", 0)),
            "articles_changed": int(stats.get(sp + "articles_changed", 0)),
            "outcomes": {o: int(stats.get(sp + f"outcome/{o}", 0)) for o in OUTCOMES},
            "errors": int(stats.get(sp + "errors", 0)),
            "crawl_delay": stats.get(sp + "crawl_delay"),
            "status": "ok",
        }
        row["failed"] = row["outcomes"]["failed"]
        if row["failed"]:
            row["status"] = STATUS_PARTIAL
        if requests and not usable:
            row["status"] = "down"
            down.append(host)
        site_rows.append(row)
    started = stats.get("start_time")
    finished = stats.get("finish_time")
    duration = stats.get("elapsed_time_seconds")
    reason = stats.get("finish_reason")
    status, error = "ok", None
    if stats.get(pre + "fatal"):
        status, error = "failed", str(stats[pre + "fatal"])
    elif down:
        status = "failed"
        error = "site down: " + ", ".join(
            f"{h} (all {int(stats.get(f'{pre}site/{h}/requests', 0))} requests failed)" for h in down
        ) + "; check the host name and the network, or try again later"
    elif max_errors and n_errors > max_errors:
        status, error = "failed", f"{n_errors} errors, more than --max-errors {max_errors}"
    elif reason == "shutdown":
        status, error = "interrupted", "interrupted: stopped by a signal; rows fetched so far were written"
    elif reason and reason != "finished":
        status, error = "failed", f"crawl stopped: {reason}"
    exit_code = 0 if status == "ok" else 1
    # posts left failed (or truncated) after the run's retries: the debt the next runs pay
    still_failed = outcomes["failed"] + int(stats.get(pre + "truncated", 0))
    settled = sum(outcomes.values())
    if status == "ok" and still_failed:
        status = STATUS_PARTIAL
        exit_code = 0 if tolerance.allows(still_failed, settled) else EXIT_PARTIAL
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "crawl",
        "run_id": run_id,
        "status": status,
        "exit_code": exit_code,
        "error": error,
        "max_failed": str(tolerance),
        "finish_reason": reason,
        "mode": args.get("mode", "auto"),
        "sites": site_rows,
        "pages_fetched": int(stats.get("response_received_count", 0)),
        "posts_requested": int(stats.get(pre + "posts_requested", 0)),
        "articles": {
            "new": int(stats.get(pre + "articles_new", 0)),
            "changed": int(stats.get(pre + "articles_changed", 0)),
            "unchanged": outcomes["unchanged"],
        },
        "outcomes": outcomes,
        "errors": n_errors,
        "errors_by_kind": errors_by_kind,
        "malformed_urls": list(stats.get(pre + "malformed_urls") or []),
        "failed_urls": list(stats.get(pre + "failed_urls") or []),
        "failed_posts": still_failed,
        "retried": int(stats.get(pre + "posts_retried", 0)),
        "recovered": int(stats.get(pre + "posts_recovered", 0)),
        "revisited": int(stats.get(pre + "posts_revisited", 0)),
        "abandoned_urls": list(stats.get(pre + "abandoned_urls") or []),
        "facts": {"parcels": int(stats.get(PARCELS_WRITTEN, 0)), "listings": int(stats.get(LISTINGS_WRITTEN, 0)),
                  "warnings": int(stats.get(FACT_WARNINGS, 0))},
        "offsite_blocked": int(stats.get(pre + "offsite_blocked", 0)),
        "robots_forbidden": int(stats.get("robotstxt/forbidden", 0)),
        "retries": int(stats.get("retry/count", 0)),
        "started": started.isoformat() if hasattr(started, "isoformat") else started,
        "finished": finished.isoformat() if hasattr(finished, "isoformat") else finished,
        "duration_s": round(float(duration), 3) if duration is not None else None,
        "out": str(out),
        "output_files": output_files(out, run_id),
    }


