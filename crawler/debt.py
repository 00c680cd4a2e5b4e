"""Failed posts as a debt the next runs pay: one file per site, retried with backoff, then abandoned.

A post whose outcome is ``failed`` (5xx/timeouts after the run's own retries, a truncated page)
is not stored, so the dataset alone cannot tell the next run to fetch it again. `FailedPosts`
keeps, per site, the failed post ids with how many runs failed on them and when; every later run
asks `due(site, now)` for the ids to retry first, calls `recovered` for each one that is now
stored (or unchanged, or gone for good: a 404 settles the debt), and `add_failed` for each that
failed again. After ``max_runs`` failing runs a post is ``abandoned``: no longer retried, but
listed (``abandoned(site)``) and counted in the health report until `revive` or a later run that
stores it.

Files: ``<folder>/<host>.json`` (the caller picks the folder; the crawl uses
``<out>/.parkcorpus/failed/``). Every write goes to a temporary file in the same folder, is
fsynced and renamed over the old one, so a killed run leaves the old or the new file, never a
mix. Files are opened relative to the folder's descriptor with ``O_NOFOLLOW``, so a symlink
planted in the folder (or the folder itself being a symlink) is refused rather than followed to
somewhere else on disk. Changes are journaled in memory and replayed on the current file under
an exclusive ``flock`` at `save`, so two processes (cluster shards of one site) never lose each
other's entries.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import logging
import os
import re
import secrets
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any, Iterator

from crawler.errors import DatasetError

log = logging.getLogger(__name__)

UTC = dt.timezone.utc

#: Format marker and version of a debt file.
FORMAT = "parkcorpus-failed-posts"
VERSION = 1

#: Runs that may fail on a post before it is abandoned (a week of nightly runs).
MAX_RUNS = 7

#: Wait before the next retry, by the number of runs that failed so far (last value repeats):
#: the next two runs retry at once (most failures are a bad night), then every 1, 2, 4 days, so
#: a post that is gone for weeks costs a handful of requests, not one per night.
BACKOFF_DAYS = (0, 0, 1, 2, 4)

#: Cron start times drift and runs last a while: a retry "a day later" is due this much earlier.
SLACK = dt.timedelta(hours=3)

_HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:\d{1,5})?$")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _now(value: Any = None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(UTC)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def backoff(runs_failed: int) -> dt.timedelta:
    """How long after the last failure a post that failed in `runs_failed` runs is due again."""
    if runs_failed <= 0:
        return dt.timedelta(0)
    days = BACKOFF_DAYS[min(runs_failed, len(BACKOFF_DAYS)) - 1]
    return max(dt.timedelta(days=days) - SLACK, dt.timedelta(0)) if days else dt.timedelta(0)


class FailedPosts:
    """The failed-post ledger of one output folder (one JSON file per site under `folder`)."""

    def __init__(self, folder: str | os.PathLike, *, max_runs: int = MAX_RUNS):
        self.folder = os.fspath(folder)
        self.max_runs = max(1, int(max_runs))
        self._sites: dict[str, dict[int, dict[str, Any]]] = {}
        self._journal: dict[str, list[tuple]] = {}

    # -- files -----------------------------------------------------------------------------
    @staticmethod
    def _check_host(site: str) -> str:
        host = str(site).lower()
        if not _HOST_RE.match(host) or ".." in host:
            raise ValueError(f"not a host name: {site!r}")
        return host

    @contextmanager
    def _dir(self, create: bool) -> Iterator[int | None]:
        if create:
            os.makedirs(self.folder, exist_ok=True)
        try:
            fd = os.open(self.folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
        except FileNotFoundError:
            if create:
                raise
            yield None
            return
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise DatasetError(f"{self.folder} is a symlink or not a folder; refusing to use it") from None
            raise
        try:
            yield fd
        finally:
            os.close(fd)

    def _read(self, dfd: int | None, host: str) -> dict[int, dict[str, Any]]:
        if dfd is None:
            return {}
        name = f"{host}.json"
        try:
            fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=dfd)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise DatasetError(f"{os.path.join(self.folder, name)} is a symlink; refusing to follow it") from None
            raise
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read()
        try:
            doc = json.loads(raw.decode("utf-8"))
            if doc.get("format") != FORMAT:
                raise ValueError("not a failed-posts file")
            return {int(pid): dict(entry) for pid, entry in doc.get("posts", {}).items()}
        except (ValueError, AttributeError, UnicodeDecodeError) as exc:
            # keep the unreadable file for a human and start over: failing every night on it would
            # stop the crawl that could re-discover the posts
            aside = f"{name}.corrupt-{secrets.token_hex(3)}"
            os.rename(name, aside, src_dir_fd=dfd, dst_dir_fd=dfd)
            log.warning("%s is unreadable (%s); moved to %s, starting an empty list",
                        os.path.join(self.folder, name), exc, aside)
            return {}

    def _write(self, dfd: int, host: str, posts: dict[int, dict[str, Any]]) -> None:
        name = f"{host}.json"
        if not posts:
            try:
                os.unlink(name, dir_fd=dfd)
            except FileNotFoundError:
                pass
            os.fsync(dfd)
            return
        doc = {"format": FORMAT, "version": VERSION, "site": host,
               "posts": {str(pid): posts[pid] for pid in sorted(posts)}}
        data = json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        tmp = f".{name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            # rename replaces a symlink named like the file instead of writing through it
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise
        os.fsync(dfd)

    @contextmanager
    def _locked(self, dfd: int) -> Iterator[None]:
        fd = os.open(".lock", os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o644, dir_fd=dfd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _posts(self, site: str) -> dict[int, dict[str, Any]]:
        host = self._check_host(site)
        if host not in self._sites:
            with self._dir(create=False) as dfd:
                self._sites[host] = self._read(dfd, host)
        return self._sites[host]

    # -- changes ---------------------------------------------------------------------------
    def _apply(self, posts: dict[int, dict[str, Any]], op: tuple) -> None:
        kind, pid = op[0], op[1]
        if kind == "recovered":
            posts.pop(pid, None)
        elif kind == "revive":
            if pid in posts:
                posts[pid]["abandoned"] = False
                posts[pid]["runs"] = 0
        elif kind == "failed":
            _, _, when, run_id, url, reason = op
            entry = posts.get(pid)
            if entry is None:
                entry = posts[pid] = {"runs": 0, "first_failed": when, "abandoned": False}
            # one run retrying a post several times counts as one failing run
            if run_id is None or entry.get("last_run") != run_id:
                entry["runs"] = int(entry.get("runs", 0)) + 1
            entry["last_failed"] = when
            entry["last_run"] = run_id
            if url:
                entry["url"] = url
            if reason:
                entry["reason"] = reason
            entry["abandoned"] = entry["runs"] >= self.max_runs

    def _record(self, site: str, op: tuple) -> None:
        host = self._check_host(site)
        self._apply(self._posts(host), op)
        self._journal.setdefault(host, []).append(op)

    def add_failed(self, site: str, post_id: int, when: Any = None, *, run_id: str | None = None,
                   url: str | None = None, reason: str | None = None) -> dict[str, Any]:
        """Record that `post_id` failed in run `run_id` (once per run); returns its entry."""
        self._record(site, ("failed", int(post_id), _iso(_now(when)), run_id, url, reason))
        return dict(self._posts(site)[int(post_id)])

    def recovered(self, site: str, post_id: int) -> bool:
        """Settle a post (stored, unchanged or gone for good); True when it was in the ledger."""
        present = int(post_id) in self._posts(site)
        if present:
            self._record(site, ("recovered", int(post_id)))
        return present

    def revive(self, site: str, post_ids: Iterable[int] | None = None) -> int:
        """Make abandoned posts due again (all of the site's when post_ids is None); returns how many."""
        posts = self._posts(site)
        ids = [p for p, e in posts.items() if e.get("abandoned")] if post_ids is None else list(post_ids)
        n = 0
        for pid in ids:
            if posts.get(int(pid), {}).get("abandoned"):
                self._record(site, ("revive", int(pid)))
                n += 1
        return n

    def save(self) -> None:
        """Write every site changed since the last save: replayed on the current file, under a lock."""
        if not self._journal:
            return
        self._sites.update(self._replay(self._journal))
        self._journal.clear()

    def _replay(self, journal: dict[str, list[tuple]]) -> dict[str, dict[int, dict[str, Any]]]:
        """Apply journaled ops to each host's current file and write it, under the lock; the new contents."""
        written = {}
        with self._dir(create=True) as dfd:
            with self._locked(dfd):
                for host, ops in journal.items():
                    posts = self._read(dfd, host)  # another process may have written meanwhile
                    for op in ops:
                        self._apply(posts, op)
                    self._write(dfd, host, posts)
                    written[host] = posts
        return written

    def checkpoint(self) -> None:
        """Write the failures (and revivals) recorded so far, keeping settlements for `save`.

        A crawl calls this during the run, so a run killed midway still leaves the posts that
        failed in it in the ledger. A settlement ("recovered": the post is stored) waits for the
        end of the run, when its row is surely written: saved earlier, a kill that loses the
        buffered row would lose the post from the ledger and from the dataset at once. A
        settlement followed by a new failure of the same post is superseded by it and dropped.
        """
        if not self._journal:
            return
        early = {host: [op for op in ops if op[0] != "recovered"] for host, ops in self._journal.items()}
        early = {host: ops for host, ops in early.items() if ops}
        if not early:
            return
        self._replay(early)  # the in-memory view keeps the settlements applied
        for host, ops in list(self._journal.items()):
            failed_later: set[int] = set()
            kept = []
            for op in reversed(ops):
                if op[0] == "recovered" and op[1] not in failed_later:
                    kept.append(op)
                elif op[0] == "failed":
                    failed_later.add(op[1])
            if kept:
                self._journal[host] = kept[::-1]
            else:
                del self._journal[host]

    # -- questions -------------------------------------------------------------------------
    def entries(self, site: str) -> dict[int, dict[str, Any]]:
        """{post_id: {runs, first_failed, last_failed, last_run, url, reason, abandoned}} of a site."""
        return {pid: dict(e) for pid, e in sorted(self._posts(site).items())}

    def due(self, site: str, now: Any = None) -> list[int]:
        """Post ids to retry first in a run starting at `now`: not abandoned, backoff elapsed (ascending)."""
        when = _now(now)
        out = []
        for pid, e in sorted(self._posts(site).items()):
            if e.get("abandoned"):
                continue
            if when >= _now(e["last_failed"]) + backoff(int(e.get("runs", 0))):
                out.append(pid)
        return out

    def abandoned(self, site: str) -> list[int]:
        """Post ids no longer retried: they failed in max_runs runs."""
        return [pid for pid, e in sorted(self._posts(site).items()) if e.get("abandoned")]

    def sites(self) -> list[str]:
        """Sites with a ledger file or unsaved entries."""
        found = set(h for h, posts in self._sites.items() if posts)
        with self._dir(create=False) as dfd:
            if dfd is not None:
                for name in os.listdir(dfd):
                    host = name[: -len(".json")]
                    if name.endswith(".json") and _HOST_RE.match(host) and ".." not in host:
                        found.add(host)
        return sorted(h for h in found if self._posts(h))

    def counts(self) -> dict[str, dict[str, int]]:
        """{site: {"missing": failed and still retried, "abandoned": given up}} for the health report."""
        out = {}
        for host in self.sites():
            posts = self._posts(host).values()
            abandoned = sum(1 for e in posts if e.get("abandoned"))
            out[host] = {"missing": len(posts) - abandoned, "abandoned": abandoned}
        return out
