"""`parkcorpus facts`: rebuild parcels/ and listings/ from the stored articles, with no network and no HTML.

The facts of a post are a pure function of its stored ``title``, ``text``, ``category`` and
``tables`` (crawler.facts.derive), so the current version of every article is enough to derive
them again, e.g. after crawler.facts learnt a new table layout. A rebuild replaces a site's fact
files: new files are written complete first, then the files that were there before are removed,
so a reader sees the old rows or the new ones (for a moment both: `load` keeps one set, see
crawler.store.reading._facts_of_versions). Rows carry the article version's ``fetched_at`` and this run's ``run_id``.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from crawler import clock
from crawler.items import EXTRACTOR_VERSION, fact_rows

#: Articles handed to a worker at a time (a land notice derives in about a millisecond).
CHUNK = 64
#: The article columns a rebuild reads (no HTML: the body's tables are stored with the article).
COLUMNS = ["site", "post_id", "url", "title", "text", "category", "tables", "fetched_at", "content_hash"]


def derive_records(records: list[dict]) -> list[tuple[list[dict], list[dict], list[str]]]:
    """(parcels, listings, warnings) of each stored article record (a worker task: pure, picklable)."""
    from crawler import facts

    out = []
    for rec in records:
        _tables, _doc_type, parcels, listings, warnings = facts.derive(rec, None, tables=rec.get("tables") or [])
        out.append((parcels, listings, warnings))
    return out


def _derived(records: list[dict], jobs: int, pool: ProcessPoolExecutor | None):
    chunks = [records[i:i + CHUNK] for i in range(0, len(records), CHUNK)]
    results = pool.map(derive_records, chunks) if pool is not None else map(derive_records, chunks)
    for chunk_out in results:
        yield from chunk_out


def _current_articles(articles, site: str) -> list[dict]:
    """The newest version of every post of one site, as records of COLUMNS."""
    from crawler.store import _key_strings, _site_filter, _unique_versions, newest_keys

    table = articles.to_table(columns=COLUMNS, filter=_site_filter(site))
    table = table.filter(pc.is_in(_key_strings(table), value_set=newest_keys(articles, site)))
    table = _unique_versions(table).sort_by([("post_id", "ascending")])
    return table.to_pylist()


def rebuild_facts(out: str | os.PathLike = "data", site: Any = None, jobs: int | None = 1,
                  run_id: str | None = None) -> dict[str, Any]:
    """Rebuild <out>/parcels/ and <out>/listings/ (all sites, or `site`) from the stored articles; the summary.

    jobs: worker processes (1: this process; 0/None: every core). Takes the dataset lock and
    writes a run manifest of kind ``facts``.
    """
    from crawler.lock import path_lock
    from crawler.store import (
        FACT_FILE_SCHEMAS,
        FACT_KINDS,
        TMP,
        check_run_id,
        check_sites,
        ensure_dataset,
        open_dataset,
        stored_sites,
        write_run_manifest,
    )
    from crawler.store.files import _write_parquet
    from crawler.store.layout import _visible_parquet
    from crawler.workers import START_METHOD, pool_size

    path = ensure_dataset(out, create=False)
    check_sites(path, site)
    wanted = [site] if isinstance(site, str) else list(site or [])
    run_id = check_run_id(run_id or f"facts-{clock.new_run_id()}")
    started = clock.now()
    hosts = wanted or stored_sites(path)
    counts = {"articles": 0, "parcels": 0, "listings": 0, "warnings": 0, "files_written": 0, "files_removed": 0}
    per_site = []
    jobs = pool_size(jobs)
    with path_lock(path, run_id=run_id):  # a folder or an object store
        articles = open_dataset(path)
        pool = None
        if jobs > 1:
            import multiprocessing

            pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(START_METHOD))
        try:
            for host in hosts:
                records = _current_articles(articles, host) if articles is not None else []
                rows: dict[str, list[dict]] = {k: [] for k in FACT_KINDS}
                warnings = 0
                for rec, (parcels, listings, warns) in zip(records, _derived(records, jobs, pool)):
                    base = {"extractor_version": EXTRACTOR_VERSION, "run_id": run_id,
                            "fetched_at": rec["fetched_at"]}
                    rows["parcels"].extend(fact_rows({**base, "parcels": parcels}, "parcels"))
                    rows["listings"].extend(fact_rows({**base, "listings": listings}, "listings"))
                    warnings += len(warns)
                for kind in FACT_KINDS:
                    folder = path / kind / f"site={host}"
                    old = _visible_parquet(folder)
                    if rows[kind]:
                        schema = FACT_FILE_SCHEMAS[kind]
                        table = pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows[kind]],
                                                     schema=schema)
                        _write_parquet(table, path / TMP, folder / f"part-{run_id}-00000.parquet")
                        counts["files_written"] += 1
                    for f in old:  # after the new file is complete: a reader never sees no facts
                        f.unlink(missing_ok=True)
                        counts["files_removed"] += 1
                counts["articles"] += len(records)
                counts["parcels"] += len(rows["parcels"])
                counts["listings"] += len(rows["listings"])
                counts["warnings"] += warnings
                per_site.append({"host": host, "articles": len(records), "parcels": len(rows["parcels"]),
                                 "listings": len(rows["listings"]), "warnings": warnings})
        finally:
            if pool is not None:
                pool.shutdown()
        summary = {
            "run_id": run_id, "kind": "facts", "out": str(path), "started": started.isoformat(),
            "finished": clock.now().isoformat(), "status": "ok", "exit_code": 0, "error": None,
            # per-site counts under by_site, not sites: a manifest's `sites` says which sites a run crawled
            "mode": "facts", "jobs": jobs, "extractor_version": EXTRACTOR_VERSION, **counts, "by_site": per_site,
        }
        write_run_manifest(path, summary)
    return summary


__all__ = ["COLUMNS", "derive_records", "rebuild_facts"]
