"""Run manifests: one JSON file per run under ``<out>/runs/``, all of one shape.

Every kind of run (``crawl``, ``reextract``, ``facts``, ``cluster``) writes a ``RunManifest``:
the common keys below, then whatever the kind adds (``articles``, ``outcomes``, ``sites`` ...).
Manifests written before the shape was fixed (``started_at``/``finished_at``/``outcome`` from
reextract) are read into the same shape, so ``stats`` shows a status for every run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from crawler.clock import new_run_id  # noqa: F401  (crawler.store.new_run_id is public)
from crawler.store.files import _atomic_write_text
from crawler.store.layout import RUNS, TMP, as_path, check_run_id, ensure_dataset

#: Version of the manifest shape; bump when a common key changes meaning.
MANIFEST_VERSION = 1
#: Kinds of runs that write a manifest.
RUN_KINDS = ("crawl", "reextract", "facts", "cluster")
#: Run statuses: ok, failed (exit code 1), interrupted (stopped by a signal, rows so far kept).
STATUSES = ("ok", "failed", "interrupted")


class RunManifest(TypedDict, total=False):
    """The common keys of every run manifest (a kind adds its own keys next to these)."""

    schema_version: int
    run_id: str
    kind: str
    started: str | None
    finished: str | None
    status: str
    exit_code: int
    error: str | None


#: The keys every manifest carries after ``manifest_shape``.
MANIFEST_KEYS = tuple(RunManifest.__annotations__)


def _iso(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def manifest_shape(summary: Mapping[str, Any], kind: str | None = None) -> dict[str, Any]:
    """summary with every common RunManifest key filled (old key names read, extras kept)."""
    run = dict(summary)
    if kind is None:
        kind = run.get("kind") or ("reextract" if run.get("mode") == "reextract" else "crawl")
    status = run.get("status") or run.get("outcome") or run.get("exit_status")
    exit_code = run.get("exit_code")
    if status is None:
        status = "ok" if exit_code in (None, 0) else "failed"
    if exit_code is None:
        exit_code = 0 if status == "ok" else 1
    shaped: dict[str, Any] = {
        "schema_version": MANIFEST_VERSION,
        "run_id": run.get("run_id"),
        "kind": kind,
        "started": _iso(run.get("started") or run.get("started_at")),
        "finished": _iso(run.get("finished") or run.get("finished_at")),
        "status": str(status),
        "exit_code": int(exit_code),
        "error": run.get("error"),
    }
    for old in ("started_at", "finished_at", "outcome", "exit_status"):
        run.pop(old, None)
    return {**run, **shaped}


def write_run_manifest(out: str | os.PathLike, summary: Mapping[str, Any]) -> Path:
    """Write summary (must carry run_id) as a RunManifest, atomically, to <out>/runs/<run_id>.json."""
    run_id = check_run_id(str(summary.get("run_id", "")))
    path = ensure_dataset(out, create=True)
    target = path / RUNS / f"{run_id}.json"
    target.parent.mkdir(exist_ok=True)
    text = json.dumps(manifest_shape(summary), ensure_ascii=False, indent=2, default=_json_default) + "\n"
    _atomic_write_text(target, text, path / TMP)
    return target


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def list_runs(out: str | os.PathLike) -> list[dict[str, Any]]:
    """Every run manifest under <out>/runs/ in the RunManifest shape, oldest first; damaged ones skipped."""
    runs = []
    for p in (as_path(out) / RUNS).glob("*.json"):
        try:
            info = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # one damaged manifest must not hide the crawl history
        if isinstance(info, dict):
            info.setdefault("run_id", p.stem)
            runs.append(manifest_shape(info))
    runs.sort(key=lambda r: (str(r.get("started") or ""), str(r["run_id"])))
    return runs
