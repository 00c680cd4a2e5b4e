"""Progress: the file the crawl writes and what the CLI side draws from it."""

from __future__ import annotations

import io

from crawler.progress import ProgressDisplay, format_line, read_progress, write_progress


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_file_roundtrip_is_atomic(tmp_path):
    path = tmp_path / "progress.json"
    write_progress(path, {"pages": 3, "written": 2})
    assert read_progress(path) == {"pages": 3, "written": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["progress.json"]  # no temp file left
    assert read_progress(tmp_path / "missing.json") is None


def test_silent_on_non_tty_unless_asked(tmp_path):
    path = tmp_path / "p.json"
    write_progress(path, {"pages": 5, "posts_done": 5, "total": 10, "written": 4, "errors": 1, "rate": 2.5})
    quiet = io.StringIO()
    with ProgressDisplay(stream=quiet) as d:
        d.update_from(path)
    assert quiet.getvalue() == ""
    loud = io.StringIO()
    with ProgressDisplay(enabled=True, stream=loud) as d:
        d.update_from(path)
    line = loud.getvalue()
    assert "pages 5" in line and "written 4" in line and "errors 1" in line
    assert "posts 5/10" in line and "ETA 2s" in line


def test_rich_bar_on_a_tty(tmp_path):
    path = tmp_path / "p.json"
    write_progress(path, {"pages": 7, "posts_done": 3, "total": 6, "written": 3, "errors": 0, "rate": 1.0})
    tty = FakeTTY()
    with ProgressDisplay(stream=tty, total=6) as d:
        assert d.enabled
        d.update_from(path)
    out = tty.getvalue()
    assert "3/6" in out and "written 3" in out


def test_format_line_without_total():
    assert "ETA" not in format_line({"pages": 1, "posts_done": 1, "rate": 1.0})
