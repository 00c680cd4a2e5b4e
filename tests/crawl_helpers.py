"""Helpers shared by the tests that kill a crawl at a chosen moment (local folder and S3)."""

from __future__ import annotations

import glob
import json
import time
from pathlib import Path


def wait_progress(pattern: str, ready, proc, deadline: float = 120.0) -> dict:
    """Poll the crawl's progress files (a glob pattern) until ready(progress) holds; the crawl must still run."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for path in glob.glob(pattern):
            try:
                p = json.loads(Path(path).read_text())
            except (OSError, ValueError):
                continue
            if ready(p):
                return p
        assert proc.poll() is None, "the crawl finished before the moment the test aims for"
        time.sleep(0.01)
    raise AssertionError("progress never reached the moment")
