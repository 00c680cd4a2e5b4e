"""`parkcorpus validate`: check every file of a dataset, and with repair, quarantine the bad ones.

Errors (exit 1) are what makes a reader fail or lie: a file whose footer or pages do not read,
a schema other than the declared one, rows in the wrong partition, the same
(site, post_id, content_hash) stored twice. Warnings do not fail the check: temporary files
(invisible to readers; a killed run leaves them), article bodies that still contain known
boilerplate (an extraction quality issue, which `parkcorpus stats` also reports), and identical
copies of rows in several files of one run (what a run killed while merging its files at the
end leaves: same fetch, same extraction, readers see one row).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from crawler.items import LINK_SCHEMA
from crawler.store import (
    ARTICLES,
    FACT_FILE_SCHEMAS,
    FACT_KINDS,
    FILE_SCHEMA,
    LINKS,
    QUARANTINE,
    RUNS,
    TMP,
    UNDATED,
    compact,
    dataset_files,
    ensure_dataset,
    known_posts,
    partition_months,
    partition_values,
)
from crawler.store.files import VERIFY, is_object, parquet_input, parquet_source

#: Kinds of problem that make a file unusable; --repair moves such files to quarantine/.
QUARANTINE_KINDS = ("unreadable", "corrupt", "schema", "partition")


@dataclass
class Problem:
    """One finding: the file (relative to the dataset), its kind, what is wrong, error or warning."""

    path: str
    kind: str
    detail: str
    severity: str = "error"


@dataclass
class ValidationReport:
    """What validate found (and, with repair, did)."""

    out: str
    files_checked: int = 0
    article_rows: int = 0
    link_rows: int = 0
    fact_rows: dict = field(default_factory=dict)  # parcels/listings -> rows
    problems: list[Problem] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    removed_temp: list[str] = field(default_factory=list)
    compacted: list[str] = field(default_factory=list)
    refetch: list[tuple[str, int]] = field(default_factory=list)
    refetch_unknown: list[str] = field(default_factory=list)
    repaired: bool = False
    kept: dict[str, int] = field(default_factory=dict)  # quarantined file -> good rows rewritten in place

    @property
    def errors(self) -> list[Problem]:
        """Problems that fail the check."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems that are reported but do not fail the check."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when no error remains (after repair, errors that repair fixed do not count)."""
        fixed = set(self.quarantined) | set(self.compacted)
        return not any(p for p in self.errors if p.path not in fixed and not self._compacted(p))

    def _compacted(self, p: Problem) -> bool:
        return p.kind == "duplicate" and any(p.path.startswith(c) for c in self.compacted)

    @property
    def bad_files(self) -> list[str]:
        """Every file with an error, sorted."""
        return sorted({p.path for p in self.errors})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for --json)."""
        return {
            "out": self.out,
            "ok": self.ok,
            "files_checked": self.files_checked,
            "article_rows": self.article_rows,
            "link_rows": self.link_rows,
            "fact_rows": dict(self.fact_rows),
            "errors": [p.__dict__ for p in self.errors],
            "warnings": [p.__dict__ for p in self.warnings],
            "bad_files": self.bad_files,
            "repaired": self.repaired,
            "quarantined": self.quarantined,
            "removed_temp": self.removed_temp,
            "compacted": self.compacted,
            "refetch": [{"site": s, "post_id": p} for s, p in self.refetch],
            "refetch_unknown": self.refetch_unknown,
            "kept_rows": self.kept,
        }

    def lines(self) -> list[str]:
        """Human-readable summary, one finding per line."""
        out = [f"checked {self.files_checked} files: {self.article_rows} article rows, "
               f"{self.link_rows} link rows in {self.out}"]
        if self.fact_rows:
            out[0] += " (" + ", ".join(f"{n} {k} rows" for k, n in sorted(self.fact_rows.items())) + ")"
        for p in self.errors:
            out.append(f"BAD  {p.path}: {p.kind}: {p.detail}")
        for p in self.warnings:
            out.append(f"warn {p.path}: {p.kind}: {p.detail}")
        for q in self.quarantined:
            out.append(f"quarantined {q} -> {QUARANTINE}/{q}"
                       + (f" (its {self.kept[q]} good rows kept in a new file)" if self.kept.get(q) else ""))
        for c in self.compacted:
            out.append(f"compacted {c} (duplicates removed)")
        for t in self.removed_temp:
            out.append(f"removed temporary file {t}")
        if self.refetch:
            posts = ", ".join(f"{s}/{p}" for s, p in self.refetch[:20])
            more = f" and {len(self.refetch) - 20} more" if len(self.refetch) > 20 else ""
            out.append(f"the next crawl will fetch again {len(self.refetch)} posts: {posts}{more}")
        for f in self.refetch_unknown:
            out.append(f"posts lost with {f} are unknown (no links or WARC of its run): run a full crawl")
        if self.ok:
            out.append("OK" if not self.warnings else f"OK ({len(self.warnings)} warnings)")
        else:
            out.append(f"FAILED: {len(self.bad_files)} bad files"
                       + ("" if self.repaired else "; run `parkcorpus validate --repair`"))
        return out


def _boilerplate_checker():
    """texts -> list of boilerplate names found per text."""
    from crawler.stats import boilerplate_hits, boilerplate_patterns

    patterns = boilerplate_patterns()
    return lambda texts: boilerplate_hits(texts, patterns)


def _check_schema(actual: pa.Schema, declared: pa.Schema, rel: str, problems: list[Problem]) -> bool:
    ok = True
    for f in actual:
        if f.name not in declared.names:
            detail = (f"column {f.name} inside the file duplicates the partition key"
                      if f.name in ("site", "year", "month") else f"unexpected column {f.name}")
            problems.append(Problem(rel, "schema", detail))
            ok = False
        elif not f.type.equals(declared.field(f.name).type):
            problems.append(Problem(rel, "schema", f"column {f.name} is {f.type}, "
                                    f"declared {declared.field(f.name).type}"))
            ok = False
    for f in declared:
        # nullable columns added after a file was written read as nulls; required ones must be there
        if f.name not in actual.names and not f.nullable:
            problems.append(Problem(rel, "schema", f"required column {f.name} is missing"))
            ok = False
    return ok


def _host(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _check_article_partition(table: pa.Table, values: dict[str, str], rel: str,
                             problems: list[Problem]) -> None:
    site = values.get("site")
    try:
        year, month = int(values.get("year", "")), int(values.get("month", ""))
    except ValueError:
        problems.append(Problem(rel, "partition", "path lacks year=<YYYY>/month=<MM>"))
        return
    other_site, outside, old_rule_rows = _row_masks(table, site, year, month)
    wrong_site = [u for u, bad in zip(table.column("url").to_pylist(), other_site.to_pylist()) if bad]
    if wrong_site:
        problems.append(Problem(rel, "partition", f"{len(wrong_site)} rows of another site than {site}, "
                                f"e.g. {wrong_site[0]}"))
    misplaced = pc.sum(old_rule_rows).as_py() or 0
    wrong_month = pc.sum(outside).as_py() or 0
    if wrong_month:
        problems.append(Problem(rel, "partition", f"{wrong_month} rows published outside "
                                f"year={year:04d}/month={month:02d}"))
    if misplaced:
        problems.append(Problem(rel, "misplaced", f"{misplaced} rows belong in another month (partitions follow "
                                "the China-time month of published); `--repair` (or compact) moves them",
                                "warning"))


def _row_masks(table: pa.Table, site: str | None, year: int, month: int) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(rows of another site, rows published outside the partition's month, rows placed by the old UTC rule)."""
    other_site = pa.array([_host(u) != site for u in table.column("url").to_pylist()], pa.bool_())
    # the partition is the China-time month of `published` (crawler.store.layout); a row where
    # the UTC month would put it was written before that rule: compact moves it, nothing is lost
    published = table.column("published")
    want_y, want_m = partition_months(published)
    here = pc.and_(pc.equal(want_y, year), pc.equal(want_m, month))
    utc = pc.cast(published, pa.timestamp("us", tz="UTC"))
    old_rule = pc.and_(pc.equal(pc.fill_null(pc.year(utc), UNDATED[0]), year),
                       pc.equal(pc.fill_null(pc.month(utc), UNDATED[1]), month))
    return other_site, pc.invert(pc.or_(here, old_rule)), pc.and_(pc.invert(here), old_rule)


def _salvage(path: Path, rel: str, kinds: set[str]) -> tuple[int, list[tuple[str, int]]] | None:
    """Rewrite the good rows of an article file with bad rows (or damaged row groups) as a new file.

    Returns (rows kept, (site, post_id) of the rows left out), or None when nothing can be told
    apart (an unreadable footer, a wrong schema, a path without year/month): the caller then
    quarantines the whole file. The new file is linked in before the caller moves the old one
    away, so a reader sees a row twice for a moment (collapsed), never not at all.
    """
    if not rel.startswith(ARTICLES + "/") or not kinds <= {"partition", "corrupt"}:
        return None
    src = path / rel
    values = partition_values(src, path / ARTICLES)
    site = values.get("site")
    try:
        year, month = int(values.get("year", "")), int(values.get("month", ""))
        pf = pq.ParquetFile(src, **VERIFY)
    except Exception:  # noqa: BLE001 - nothing to salvage from
        return None
    good, lost = [], []
    for i in range(pf.num_row_groups):
        try:
            part = pf.read_row_group(i)
            part.validate(full=True)
        except Exception:  # noqa: BLE001 - a damaged row group: its posts are fetched again if known
            try:
                lost += [(site, pid) for pid in pf.read_row_group(i, columns=["post_id"]).column(0).to_pylist()]
            except Exception:  # noqa: BLE001
                return None  # which posts it held is unknown: the whole-file path finds them by run
            continue
        other_site, outside, _ = _row_masks(part, site, year, month)
        bad = pc.or_(other_site, outside)
        # the partition names the post a row stands for: that post is what readers now miss
        lost += [(site, pid) for pid in part.filter(bad).column("post_id").to_pylist()]
        good.append(part.filter(pc.invert(bad)))
    kept = sum(t.num_rows for t in good)
    if kept:
        from crawler.store.files import _write_parquet

        _write_parquet(pa.concat_tables(good), path / TMP, src)  # a bumped name beside the old file
    return kept, lost


def _run_of(name: str) -> str | None:
    """run id from part-<run_id>-<n>.parquet (None for compacted files, which mix runs)."""
    stem = name.removesuffix(".parquet")
    if not stem.startswith("part-") or stem.startswith("part-compact-"):
        return None
    return stem[len("part-"):].rsplit("-", 1)[0]


def validate(out: str | os.PathLike = "data", repair: bool = False) -> ValidationReport:
    """Check footers, schemas, partitions, duplicates, temp files and boilerplate; repair if asked."""
    path = ensure_dataset(out, create=False)
    if repair:
        from crawler.lock import path_lock

        # repair deletes temporary files: never while a crawl on this machine is writing them
        with path_lock(path, "validate-repair"):
            return _validate(path, repair=True)
    return _validate(path, repair=False)


def _validate(path: Path, repair: bool) -> ValidationReport:
    report = ValidationReport(out=str(path))
    problems = report.problems
    check_boilerplate = _boilerplate_checker()
    # (site, post_id, content_hash) -> [(file, (fetched_at, extracted_at) in µs)]
    versions: dict[tuple[str, int, str], list[tuple[str, tuple[Any, Any]]]] = defaultdict(list)
    a_root, l_root = path / ARTICLES, path / LINKS

    checked = [(ARTICLES, a_root, FILE_SCHEMA), (LINKS, l_root, LINK_SCHEMA)]
    checked += [(kind, path / kind, FACT_FILE_SCHEMAS[kind]) for kind in FACT_KINDS]  # parcels/, listings/
    for kind, root, declared in checked:
        for f in dataset_files(path, kind):
            rel = str(f.relative_to(path))
            report.files_checked += 1
            try:
                pf = pq.ParquetFile(parquet_input(f), **VERIFY)
                schema = pf.schema_arrow
            except Exception as exc:  # noqa: BLE001 - any footer failure makes the file unusable
                problems.append(Problem(rel, "unreadable", f"footer does not read ({_short(exc)})"))
                continue
            if not _check_schema(schema, declared, rel, problems):
                continue
            try:
                table = pf.read()
                # a damaged page of a file without page checksums (written before them) can still
                # decode: invalid UTF-8 or offsets past the data are what tells it then
                table.validate(full=True)
            except Exception as exc:  # noqa: BLE001 - damaged pages
                problems.append(Problem(rel, "corrupt", f"data pages do not read ({_short(exc)})"))
                continue
            values = partition_values(f, root)
            if kind == ARTICLES:
                report.article_rows += table.num_rows
                _check_article_partition(table, values, rel, problems)
                site = values.get("site")
                stamps = zip(_micros(table, "fetched_at"), _micros(table, "extracted_at"))
                rhs = (table.column("record_hash").to_pylist() if "record_hash" in table.column_names
                       else [None] * table.num_rows)  # a title-only edit keeps content_hash
                for pid, h, rh, fp in zip(table.column("post_id").to_pylist(),
                                          table.column("content_hash").to_pylist(), rhs, stamps):
                    versions[(site, pid, h, rh)].append((rel, fp))
                hits = check_boilerplate(table.column("text").to_pylist())
                bad = [(pid, names) for pid, names in zip(table.column("post_id").to_pylist(), hits) if names]
                if bad:
                    names = sorted({n for _, ns in bad for n in ns})
                    posts = ", ".join(str(pid) for pid, _ in bad[:5])
                    problems.append(Problem(rel, "boilerplate", f"{len(bad)} bodies contain {', '.join(names)} "
                                            f"(posts {posts})", "warning"))
            elif kind in FACT_KINDS:
                report.fact_rows[kind] = report.fact_rows.get(kind, 0) + table.num_rows
            else:
                report.link_rows += table.num_rows
                site = values.get("site")
                other = [s for s in table.column("src_site").to_pylist() if s != site]
                if other:
                    problems.append(Problem(rel, "partition", f"{len(other)} links from another site than {site}"))

    # partitions compact rewrites on --repair: duplicates, and rows in another month's partition
    dup_parts: set[str] = {str(Path(p.path).parent.relative_to(ARTICLES)) for p in problems
                           if p.kind == "misplaced"}
    same_run: dict[str, list[Any]] = {}  # file -> [copies, run, example] of same-run identical copies
    for (site, pid, h, _rh), entries in versions.items():
        if len(entries) < 2:
            continue
        files = [rel for rel, _ in entries]
        dup_parts.update(str(Path(r).parent.relative_to(ARTICLES)) for r in files)
        runs = {_run_of(Path(r).name) for r in files}
        if (len(set(files)) == len(files) and len(runs) == 1 and None not in runs
                and len({fp for _, fp in entries}) == 1):
            # one run, one fetch, one extraction, in several files: an interrupted end-of-run merge
            for rel in files:
                info = same_run.setdefault(rel, [0, next(iter(runs)), f"{site} post {pid}"])
                info[0] += 1
            continue
        for rel in sorted(set(files)):
            problems.append(Problem(rel, "duplicate", f"{site} post {pid} version {h[:12]} stored "
                                    f"{len(files)} times; `--repair` (or compact) removes the copies"))
    for rel, (n, run, example) in sorted(same_run.items()):
        problems.append(Problem(rel, "duplicate", f"{n} rows (e.g. {example}) also stored, identical, in another "
                                f"file of run {run} (a merge at the end of that run was interrupted; readers "
                                "see one row); `--repair` (or compact) removes the copies", "warning"))

    for m in sorted((path / RUNS).glob("*.json")):
        try:
            json.loads(m.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            problems.append(Problem(str(m.relative_to(path)), "manifest", "run manifest does not parse; "
                                    "crawl history (stats, report) skips it", "warning"))

    temps = _temp_files(path)
    for t in temps:
        problems.append(Problem(t, "temp", "temporary file (invisible to readers; left by a killed or "
                                "running crawl)", "warning"))
    for w in sorted((path / "warc").glob("*.warc.gz.open")):
        problems.append(Problem(str(w.relative_to(path)), "temp", "unfinished WARC of a killed or running run; "
                                "its complete records are readable (reextract uses them)", "warning"))

    _check_search_index(path, problems)
    if repair:
        report.repaired = True
        _repair(path, report, temps, dup_parts)
    return report


def _check_search_index(path: Path, problems: list) -> None:
    """The search index against the articles (derived data: a disagreement is a warning)."""
    from crawler import search

    for msg in search.check(path):
        problems.append(Problem(str(Path("index") / search.INDEX_FILE), "search_index",
                                f"{msg}; `parkcorpus search` syncs it (or delete {path / 'index'})", "warning"))


def _micros(table: pa.Table, column: str) -> list[Any]:
    """A timestamp column as µs integers (None for nulls, or when the column is absent)."""
    if column not in table.column_names:
        return [None] * table.num_rows
    return pc.cast(table.column(column), pa.int64()).to_pylist()


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _temp_files(path: Path) -> list[str]:
    found = []
    tmp = path / TMP
    if tmp.is_dir():
        for p in sorted(tmp.rglob("*")):
            if p.is_file() and not _live_reader(p.relative_to(tmp).parts[0]):
                found.append(str(p.relative_to(path)))
    for kind in (ARTICLES, LINKS, *FACT_KINDS):
        root = path / kind
        if is_object(root):  # no temp files on object stores; other objects readers skip
            found.extend(f"{kind}/{rel[len(root.rel) + 1:]}" for rel in root.loc.list_files(root.rel)
                         if rel.rpartition("/")[2].startswith((".", "_")) or not rel.endswith(".parquet"))
            continue
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            for name in filenames:
                if name.startswith((".", "_")) or not name.endswith(".parquet"):
                    found.append(str((Path(dirpath) / name).relative_to(path)))
    return found


def _live_reader(name: str) -> bool:
    """Whether .tmp/<name> is the snapshot of a running reader (read-<pid>-<hex>, crawler.store.reading.pinned)."""
    parts = name.split("-")
    if len(parts) != 3 or parts[0] != "read" or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _repair(path: Path, report: ValidationReport, temps: list[str], dup_parts: set[str]) -> None:
    bad = sorted({p.path for p in report.errors if p.kind in QUARANTINE_KINDS})
    lost_runs: dict[str, set[str]] = defaultdict(set)  # run id -> sites, for the refetch list
    lost_sites_any: set[str] = set()
    known_lost: set[tuple[str, int]] = set()
    for rel in bad:
        src = path / rel
        root = path / rel.split("/", 1)[0]
        values = partition_values(src, root)
        salvaged = _salvage(path, rel, {p.kind for p in report.errors if p.path == rel and p.kind in QUARANTINE_KINDS})
        dest = path / QUARANTINE / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if is_object(src):  # no rename on object stores: copy, then delete
            dest.write_bytes(src.read_bytes())
            src.unlink()
        else:
            os.replace(src, dest)
        report.quarantined.append(rel)
        if salvaged is not None:
            report.kept[rel] = salvaged[0]
            known_lost.update(salvaged[1])
        elif rel.startswith(ARTICLES + "/"):
            run = _run_of(src.name)
            if run:
                lost_runs[run].add(values.get("site", ""))
            elif values.get("site"):
                lost_sites_any.add(values["site"])
            else:
                report.refetch_unknown.append(rel)
    for t in temps:
        Path(path, t).unlink(missing_ok=True)
        report.removed_temp.append(t)
    for part in sorted(dup_parts):
        if any(q.startswith(f"{ARTICLES}/{part}/") for q in report.quarantined):
            continue
        compact(path, keep_history=True, partition=part)
        report.compacted.append(f"{ARTICLES}/{part}")
    if lost_runs or lost_sites_any:
        report.refetch = _lost_posts(path, lost_runs, lost_sites_any, report)
    if known_lost:
        known = known_posts(path, sites={s for s, _ in known_lost})
        report.refetch = sorted(set(report.refetch) | {k for k in known_lost if k not in known})
    _record_refetch(path, report.refetch)


def _record_refetch(path: Path, posts: list[tuple[str, int]]) -> None:
    """Put the quarantined posts in the failed-post debt (crawler.debt), which every run retries first."""
    if not posts:
        return
    from crawler.debt import FailedPosts

    from crawler.store.layout import pull_state, push_state, state_dir

    pull_state(path)
    debt = FailedPosts(state_dir(path) / "failed")
    for site, pid in posts:
        debt.add_failed(site, pid, run_id="validate-repair", reason="quarantined")
    debt.save()
    push_state(path)


def _lost_posts(path: Path, lost_runs: dict[str, set[str]], lost_sites: set[str],
                report: ValidationReport) -> list[tuple[str, int]]:
    """Posts no longer stored that the quarantined files held, from the run's links and WARC."""
    from crawler.archive import iter_responses
    from crawler.items import _post_id

    candidates: set[tuple[str, int]] = set()
    found_runs: set[str] = set()
    for f in dataset_files(path, LINKS):
        try:
            source, fs = parquet_source(f)
            t = pq.read_table(source, filesystem=fs, columns=["src_site", "src_post_id", "run_id", "dst_site", "dst_post_id"],
                              **VERIFY)
        except Exception:  # noqa: BLE001 - a bad links file was reported above
            continue
        for s, p, r, ds_, dp in zip(*(t.column(c).to_pylist() for c in t.column_names)):
            if r in lost_runs and s in lost_runs[r]:
                candidates.add((s, p))
                found_runs.add(r)
            if s in lost_sites:
                candidates.add((s, p))
                if ds_ == s and dp is not None:  # every post is linked as prev/next of a neighbour
                    candidates.add((ds_, dp))
    try:
        for resp in iter_responses(path):
            host, pid = _host(resp.url), _post_id(resp.url)
            if pid is None or resp.status != 200:
                continue
            if (resp.run_id in lost_runs and host in lost_runs[resp.run_id]) or host in lost_sites:
                candidates.add((host, pid))
                found_runs.add(resp.run_id)
    except OSError:
        pass
    for run in sorted(set(lost_runs) - found_runs):
        report.refetch_unknown.append(f"run {run}")
    known = known_posts(path, sites={s for s, _ in candidates} or None)
    return sorted(c for c in candidates if c not in known)


__all__ = ["validate", "ValidationReport", "Problem"]
