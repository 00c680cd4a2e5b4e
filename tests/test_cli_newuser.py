"""Things a new user trips on (issue 14): install extras, demo hints, exit codes."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _summary(out: str) -> dict:
    """What crawler.api.demo returns, reduced to what the demo command prints."""
    return {
        "status": "ok", "out": out, "duration_s": 1.0, "pages_fetched": 3, "output_files": ["a.parquet"],
        "demo": {"rows_per_site": {"jinshan.021cf.cn": 2}, "generated_per_site": {"jinshan.021cf.cn": 2},
                 "sample_title": "标题", "open_with": {"pandas": "python -c pandas", "duckdb": "python -c duckdb",
                                                      "polars": "python -c polars"}},
    }


@pytest.mark.parametrize("missing", [set(), {"duckdb"}, {"duckdb", "polars"}])
def test_demo_hints_say_how_to_install_missing_tools(run_cli, monkeypatch, tmp_path, missing):
    import cli
    from crawler import api

    monkeypatch.setattr(api, "demo", lambda **kw: _summary(kw["out"]))
    monkeypatch.setattr(cli, "_importable", lambda name: name not in missing)
    res = run_cli("demo", "--out", tmp_path / "d")
    assert res.exit_code == 0, res.output
    hint = [line for line in res.output.splitlines() if "pip install" in line]
    if not missing:
        assert hint == []
    else:
        assert hint == [f"  ({' and '.join(sorted(missing, key=['duckdb', 'polars'].index))} not installed: "
                        "pip install -e '.[analysis]')"]


def test_analysis_extra_declares_the_demo_tools():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    extra = {line.split(">=")[0].strip() for line in cfg["options.extras_require"]["analysis"].split("\n") if line.strip()}
    assert {"duckdb", "polars", "nbclient", "nbformat", "ipykernel"} <= extra


def test_replica_templates_are_a_declared_package():
    """setuptools warns about package data in a folder that is importable but not declared."""
    from setuptools import find_namespace_packages

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    assert cfg["options"]["packages"].strip() == "find_namespace:"
    find = cfg["options.packages.find"]
    packages = find_namespace_packages(str(ROOT), include=find["include"].split(), exclude=find["exclude"].split())
    assert "crawler.replica.templates" in packages
    assert not [p for p in packages if "__pycache__" in p or p.startswith("tests")]
    assert cfg["options.package_data"]["crawler.replica.templates"].strip() == "*.html"


def test_extract_missing_file_is_bad_usage(run_cli, tmp_path):
    res = run_cli("extract", tmp_path / "missing.html")
    assert res.exit_code == 2
    assert res.output.strip() == f"Error: no such file: {tmp_path / 'missing.html'}"
