"""Live progress: the crawl process rewrites a small JSON file, the CLI side draws it.

A file (written atomically) rather than a pipe: any reader can poll it (the CLI, a test waiting
for "first flush done" before it kills the crawl, a cron wrapper), and a dead writer leaves the
last state behind instead of a broken pipe.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def write_progress(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """Replace the progress file atomically (a reader never sees half a JSON document)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
    os.replace(tmp, path)


def read_progress(path: str | os.PathLike) -> dict[str, Any] | None:
    """The last progress the crawl wrote, or None."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def format_line(p: dict[str, Any], total: int | None = None) -> str:
    """One plain-text progress line (for logs and non-TTY --progress)."""
    total = p.get("total") or total
    pages, done = p.get("pages", 0), p.get("posts_done", 0)
    rate = p.get("rate", 0.0)
    line = (f"pages {pages}  written {p.get('written', 0)}  unchanged {p.get('unchanged', 0)}  "
            f"errors {p.get('errors', 0)}  {rate:.1f} pages/s")
    if total:
        line += f"  posts {done}/{total}"
        if rate > 0 and done < total:
            line += f"  ETA {int((total - done) / max(rate, 1e-9))}s"
    return line


class ProgressDisplay:
    """A rich progress bar on a TTY (or plain lines with --progress elsewhere); silent otherwise."""

    def __init__(self, enabled: bool | None = None, total: int | None = None, stream=None):
        self.stream = stream or sys.stderr
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.enabled = tty if enabled is None else bool(enabled)
        self.tty = tty
        self.total = total
        self._progress = None
        self._task = None
        self._last_plain = 0.0
        self._last: dict[str, Any] | None = None

    def __enter__(self) -> "ProgressDisplay":
        if self.enabled and self.tty:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            columns = [TextColumn("[bold]crawl"), BarColumn(), MofNCompleteColumn(),
                       TextColumn("{task.fields[info]}"), TimeElapsedColumn()]
            if self.total:
                columns.append(TimeRemainingColumn())
            self._progress = Progress(*columns, console=Console(file=self.stream), transient=False)
            self._progress.start()
            self._task = self._progress.add_task("crawl", total=self.total, info="starting")
        return self

    def update_from(self, path: str | os.PathLike) -> None:
        """Redraw from the progress file (no-op when disabled or nothing new)."""
        if not self.enabled:
            return
        p = read_progress(path)
        if not p or p == self._last:
            return
        self._last = p
        total = p.get("total") or self.total
        if self._progress is not None:
            info = (f"pages {p.get('pages', 0)} · written {p.get('written', 0)} · "
                    f"errors {p.get('errors', 0)} · {p.get('rate', 0.0):.1f}/s")
            self._progress.update(self._task, completed=p.get("posts_done", 0),
                                  total=total or max(p.get("posts_requested", 0), 1), info=info)
        elif time.monotonic() - self._last_plain >= 2.0:
            self._last_plain = time.monotonic()
            print(format_line(p, total), file=self.stream, flush=True)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
