"""examples/explore.ipynb runs top to bottom (nbclient) against a fresh small `parkcorpus demo` crawl."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "explore.ipynb"


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    from cli import main

    if "demo" not in main.list_commands(None):
        pytest.skip("`parkcorpus demo` is not registered yet")
    out = tmp_path_factory.mktemp("nb") / "data"
    # the real command, in its own process, as a user runs it before opening the notebook
    proc = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "demo", "--out", str(out), "--posts", "30"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return out


def test_notebook_runs_against_demo_dataset(demo_data, monkeypatch, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    # the kernel inherits this process's environment: point the notebook at the demo dataset
    monkeypatch.setenv("PARKCORPUS_DATA", str(demo_data))
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    nbformat.write(nb, artifacts / "explore.executed.ipynb")  # for a look at the plots CI drew

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    # the count the notebook prints is the number of distinct posts on disk, read independently here
    import pyarrow.dataset as ds

    table = ds.dataset(demo_data / "articles", format="parquet", partitioning="hive").to_table(columns=["site", "post_id"])
    posts = {(s, p) for s, p in zip(table["site"].to_pylist(), table["post_id"].to_pylist())}
    sites = {s for s, _ in posts}
    assert len(posts) >= 30 and len(sites) == 2
    assert f"{len(posts)} articles from 2 sites" in text, text
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 2, "expected two plots (articles per month, category shares)"
    tables = [o["data"]["text/plain"] for o in outputs if "text/plain" in o.get("data", {})]
    assert any("articles" in t and "tag" in t for t in tables), "the DuckDB query printed no result"
