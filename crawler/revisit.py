"""Re-checking stored posts for edits: the --revisit-days window and the --revisit-sample sweep.

Editors fix posts after publication, mostly in the first days (a corrected deal date, a typo in
the title). Incremental runs therefore re-fetch posts published in the last ``revisit_days``
(found in the feed and the first list pages, so it costs only those requests), and each run can
also re-fetch the ``revisit_sample`` stored posts checked longest ago, so a 10,000-post site is
re-checked completely every few weeks without a full ``--refresh``.

When a post was last checked: the newest ``fetched_at`` the dataset stores for it, or later, the
time a run re-fetched it and found it unchanged (no row is written then), kept per site in
``<out>/.parkcorpus/checked/<host>.json`` (``{post_id: ISO time}``, replaced atomically).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable

from crawler import clock

logger = logging.getLogger(__name__)

#: Folder under <out>/.parkcorpus/ holding the last time unchanged posts were re-checked.
CHECKED_DIR = "checked"


def is_recent(when: dt.datetime | None, days: int, now: dt.datetime | None = None,
              margin_days: int = 0) -> bool:
    """Whether a post published at `when` lies within the last `days` days (0 days: never)."""
    if not days or when is None:
        return False
    now = now or clock.now()
    return when >= now - dt.timedelta(days=days + margin_days)


def _path(out: str | os.PathLike, host: str, kind: str = CHECKED_DIR) -> Path:
    from crawler.store.layout import state_dir  # <out>/.parkcorpus, or its local mirror (object stores)

    if "/" in host or host.startswith("."):
        raise ValueError(f"not a host name: {host!r}")
    return state_dir(out) / kind / f"{host}.json"


def read_checked(out: str | os.PathLike, host: str) -> dict[int, dt.datetime]:
    """{post_id: last time a run found it unchanged} for host (empty when none or unreadable)."""
    from crawler.safefile import read_state_file

    try:
        doc = json.loads(read_state_file(_path(out, host), limit=64 << 20).decode("utf-8"))
        return {int(k): clock.to_utc(dt.datetime.fromisoformat(v)) for k, v in doc.items()}
    except FileNotFoundError:
        return {}
    except Exception as exc:  # noqa: BLE001 - a damaged file only makes the sweep less even
        logger.warning("cannot read %s: %s", _path(out, host), exc)
        return {}


def save_checked(out: str | os.PathLike, host: str, post_ids: Iterable[int], when: dt.datetime) -> None:
    """Record that these posts of host were re-fetched unchanged at `when`."""
    from crawler.safefile import write_state_file

    ids = list(post_ids)
    if not ids:
        return
    checked = read_checked(out, host)
    for pid in ids:
        checked[int(pid)] = when
    text = json.dumps({str(k): v.isoformat(timespec="seconds") for k, v in sorted(checked.items())})
    path = _path(out, host)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_state_file(path, text, root=path.parent.parent)
    except Exception as exc:  # noqa: BLE001 - the data is written; the sweep only gets less even
        logger.warning("cannot write %s: %s", path, exc)


#: Folder under <out>/.parkcorpus/ holding each site's feed item fingerprints of the last run.
FEED_DIR = "feed"


def feed_changes(out: str | os.PathLike, host: str, fingerprints: dict[str, str]) -> set[str]:
    """Links whose feed item differs from the last run's, then remember these fingerprints.

    The first run for a site only records them (nothing to compare with)."""
    from crawler.safefile import read_state_file, write_state_file

    path = _path(out, host, FEED_DIR)
    try:
        before = json.loads(read_state_file(path, limit=16 << 20).decode("utf-8"))
    except FileNotFoundError:
        before = {}
    except Exception as exc:  # noqa: BLE001 - a damaged file only costs one comparison
        logger.warning("cannot read %s: %s", path, exc)
        before = {}
    changed = {link for link, fp in fingerprints.items() if link in before and before[link] != fp}
    if fingerprints and fingerprints != before:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_state_file(path, json.dumps(fingerprints, sort_keys=True), root=path.parent.parent)
        except Exception as exc:  # noqa: BLE001
            logger.warning("cannot write %s: %s", path, exc)
    return changed


def oldest_checked(ledger: Any, host: str, k: int) -> list[int]:
    """The `k` stored posts of host checked longest ago (ascending by that time, then id)."""
    known = ledger.known
    if not k or not hasattr(known, "last_fetched"):
        return []
    checked = read_checked(ledger.out, host)
    stamps = []
    for site, pid in known:
        if site != host:
            continue
        last = known.last_fetched(site, pid)
        seen = checked.get(pid)
        if seen is not None:
            last = max(last, int(seen.timestamp() * 1_000_000))
        stamps.append((last, pid))
    return [pid for _, pid in sorted(stamps)[:k]]
