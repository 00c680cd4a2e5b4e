"""Where the dataset lives: a local folder, a file:// URI or an S3 prefix, behind one pyarrow filesystem.

`resolve(out)` turns what a user passes as `--out` into a `Location`: a pyarrow filesystem, the
root path inside it, and the write helpers the store needs on any filesystem. Paths given to the
helpers are relative to the root and use "/" on every filesystem.

What "atomic" means differs (docs/storage.md says it for users):
- local folders: a file is written under `<root>/.tmp/`, fsync'ed, then hard-linked (never
  overwrites) or renamed (replaces) into place, so a reader sees the whole file or none;
- object stores: an object appears whole when its PUT completes, so files are built locally and
  uploaded in one PUT (with If-None-Match: *, so nothing is overwritten) under a new name.
  There is no rename: "replace" is a PUT over the old object, and a merge writes its output
  under a new name before it deletes its inputs.

S3 settings come from the standard AWS variables and files, never from parkcorpus options:
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE (with ~/.aws/credentials
and ~/.aws/config), AWS_REGION / AWS_DEFAULT_REGION and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL for
S3-compatible stores (MinIO, SeaweedFS, Aliyun OSS ...). Every failure the store reports becomes
one `StorageError` line naming the problem and the variable to set.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import unquote, urlsplit

import pyarrow.fs as pafs

from crawler.errors import ConfigError, DatasetError, StorageError, UsageError

#: Folder under a local root where files are built before they are linked into place.
LOCAL_TMP = ".tmp"

#: Seconds to wait for a TCP connection to the store: an endpoint that does not answer fails the
#: command within seconds instead of hanging a crawl.
CONNECT_TIMEOUT = 5.0
#: Attempts per S3 request (the first try included): transient 5xx/throttling are retried with the
#: SDK's backoff, but an unreachable endpoint is reported after a few seconds, not minutes.
MAX_ATTEMPTS = 3
#: Region used with a custom endpoint when none is set: S3-compatible stores accept any region
#: in the signature, and us-east-1 is what their documentation tells clients to use.
DEFAULT_REGION = "us-east-1"

# A URI is "scheme:/...". One letter before ":" would be a Windows drive, which we do not have,
# but "c:/x" is still better read as a path than refused.
_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")
# S3 bucket naming rules (the subset every S3-compatible store accepts).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ENDPOINT_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class S3Settings:
    """How to reach one S3 store: endpoint, region, and where each value came from (for messages)."""

    endpoint: str | None  # "http(s)://host[:port]" of an S3-compatible store; None: AWS itself
    endpoint_var: str | None  # the variable that set it
    region: str
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    profile: str | None = None

    @property
    def shown_endpoint(self) -> str:
        """The endpoint as messages show it."""
        return self.endpoint or f"https://s3.{self.region}.amazonaws.com"

    def filesystem(self) -> pafs.S3FileSystem:
        """A pyarrow S3 filesystem with short connect timeouts and few retries."""
        kw: dict[str, Any] = dict(
            region=self.region,
            connect_timeout=CONNECT_TIMEOUT,
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=MAX_ATTEMPTS),
            # a dataset never creates or drops buckets: a typo must not make a new bucket
            allow_bucket_creation=False,
            allow_bucket_deletion=False,
        )
        if self.access_key:
            kw.update(access_key=self.access_key, secret_key=self.secret_key,
                      session_token=self.session_token)
        # else: the AWS SDK's own chain (AWS_PROFILE and ~/.aws files, web identity, instance role)
        if self.endpoint:
            parts = urlsplit(self.endpoint)
            kw.update(scheme=parts.scheme, endpoint_override=parts.netloc)
        return pafs.S3FileSystem(**kw)

    def botocore_client(self):
        """A botocore S3 client with the same endpoint, region, credentials and timeouts.

        For the few requests pyarrow does not expose (conditional writes for the lock).
        """
        import botocore.config
        import botocore.session

        session = botocore.session.Session(profile=self.profile) if self.profile else botocore.session.Session()
        config = botocore.config.Config(
            connect_timeout=CONNECT_TIMEOUT, read_timeout=30,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        )
        kw: dict[str, Any] = dict(region_name=self.region, config=config)
        if self.endpoint:
            kw["endpoint_url"] = self.endpoint
        if self.access_key:
            kw.update(aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                      aws_session_token=self.session_token)
        return session.create_client("s3", **kw)


def s3_settings(env: Mapping[str, str] | None = None, bucket: str | None = None) -> S3Settings:
    """S3Settings from the standard AWS variables (ConfigError for a malformed or half-set value)."""
    env = os.environ if env is None else env
    endpoint = endpoint_var = None
    for name in _ENDPOINT_VARS:
        value = env.get(name, "").strip()
        if value:
            endpoint, endpoint_var = _check_endpoint(value, name), name
            break
    access_key = env.get("AWS_ACCESS_KEY_ID") or None
    secret_key = env.get("AWS_SECRET_ACCESS_KEY") or None
    if bool(access_key) != bool(secret_key):
        have, missing = (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if access_key
                         else ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"))
        raise ConfigError(f"{have} is set but {missing} is not: set both, or neither and use AWS_PROFILE")
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or None
    if profile and not access_key:
        _check_profile(profile)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    if region is None:
        region = DEFAULT_REGION if endpoint or bucket is None else _bucket_region(bucket, endpoint)
    return S3Settings(endpoint=endpoint, endpoint_var=endpoint_var, region=region,
                      access_key=access_key, secret_key=secret_key,
                      session_token=env.get("AWS_SESSION_TOKEN") or None, profile=profile)


def _check_profile(profile: str) -> None:
    """ConfigError when AWS_PROFILE names a profile that neither AWS file defines."""
    import botocore.session
    from botocore.exceptions import ProfileNotFound

    try:
        botocore.session.Session(profile=profile).get_scoped_config()
    except ProfileNotFound:
        raise ConfigError(f"AWS_PROFILE={profile!r} is not a profile of ~/.aws/credentials or ~/.aws/config "
                          "(AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE): fix AWS_PROFILE or add the profile") from None


def _check_endpoint(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") \
            or parts.query or parts.fragment:
        raise ConfigError(f"{name}={value!r} is not an endpoint URL: set it like http://127.0.0.1:8333 "
                          "or https://oss-cn-shanghai.aliyuncs.com (scheme, host, optional port)")
    try:
        parts.port
    except ValueError:
        raise ConfigError(f"{name}={value!r} has a bad port number: set it like http://127.0.0.1:8333") from None
    return f"{parts.scheme}://{parts.netloc}"


def _bucket_region(bucket: str, endpoint: str | None) -> str:
    """The region AWS keeps a bucket in (asked once when AWS_REGION is not set)."""
    try:
        return pafs.resolve_s3_region(bucket)
    except OSError as exc:
        probe = S3Settings(endpoint=endpoint, endpoint_var=None, region=DEFAULT_REGION)
        raise storage_error(exc, probe, bucket, f"s3://{bucket}") from None


@dataclass(frozen=True)
class Location:
    """Where a dataset lives: a pyarrow filesystem and the root path in it; picklable.

    root is an absolute local path, or "bucket/prefix" on S3 (no trailing "/"); uri is how
    messages show the location (the path as given, or s3://bucket/prefix).
    """

    fs: pafs.FileSystem
    root: str
    uri: str
    is_local: bool
    s3: S3Settings | None = None

    # ------------------------------------------------------------------ naming

    @property
    def bucket(self) -> str | None:
        """The bucket of an S3 location, else None."""
        return None if self.is_local else self.root.split("/", 1)[0]

    def path(self, rel: str = "") -> str:
        """The filesystem path of rel (a "/"-separated path below the root)."""
        rel = _clean_rel(rel)
        if not rel:
            return self.root
        return os.path.join(self.root, *rel.split("/")) if self.is_local else f"{self.root}/{rel}"

    def show(self, rel: str = "") -> str:
        """rel as a message shows it: a local path, or s3://bucket/prefix/rel."""
        rel = _clean_rel(rel)
        if not rel:
            return self.uri
        return os.path.join(self.uri, *rel.split("/")) if self.is_local else f"{self.uri.rstrip('/')}/{rel}"

    def rel(self, path: str) -> str:
        """The path below the root of a filesystem path this location returned."""
        path = os.fspath(path)
        base = self.root if not self.is_local else self.root.rstrip(os.sep)
        if path == base:
            return ""
        sep = os.sep if self.is_local else "/"
        if not path.startswith(base + sep):
            raise ValueError(f"{path} is not under {self.root}")
        return path[len(base) + 1:].replace(os.sep, "/")

    # ------------------------------------------------------------------ reading

    def exists(self, rel: str = "") -> bool:
        """True when rel is a file or a folder (a prefix holding objects)."""
        return self._info(rel).type != pafs.FileType.NotFound

    def is_file(self, rel: str) -> bool:
        """True when rel is a file (an object)."""
        return self._info(rel).type == pafs.FileType.File

    def list_files(self, prefix: str = "", suffix: str = "") -> list[str]:
        """Paths (relative to the root, sorted) of every file under folder prefix whose name ends with suffix.

        A missing folder lists as []. Folder markers of object stores are not files.
        """
        selector = pafs.FileSelector(self.path(prefix), recursive=True, allow_not_found=True)
        with self._errors(prefix):
            infos = self.fs.get_file_info(selector)
        return sorted(self.rel(i.path) for i in infos
                      if i.type == pafs.FileType.File and i.base_name.endswith(suffix))

    def list_dir(self, rel: str = "") -> list[tuple[str, bool]]:
        """(name, is_folder) of each entry directly in folder rel, sorted; [] when it does not exist."""
        selector = pafs.FileSelector(self.path(rel), recursive=False, allow_not_found=True)
        with self._errors(rel):
            infos = self.fs.get_file_info(selector)
        return sorted((i.base_name, i.type == pafs.FileType.Directory) for i in infos
                      if i.type != pafs.FileType.NotFound)

    def read_bytes(self, rel: str) -> bytes:
        """The whole content of file rel; FileNotFoundError when it does not exist."""
        with self.open_input(rel) as fh:
            return fh.read()

    def open_input(self, rel: str) -> pafs.NativeFile:
        """A random-access reader of file rel (for Parquet); FileNotFoundError when it does not exist."""
        with self._errors(rel):
            try:
                return self.fs.open_input_file(self.path(rel))
            except FileNotFoundError:
                raise
            except OSError as exc:
                if _aws_code(exc) in ("NO_SUCH_KEY", "RESOURCE_NOT_FOUND") or "Path does not exist" in str(exc):
                    raise FileNotFoundError(errno.ENOENT, "no such file", self.show(rel)) from None
                raise

    # ------------------------------------------------------------------ writing

    def local_tmp(self, name: str) -> str:
        """A fresh local file path to build a file in before put_file moves it into place.

        Local roots build under <root>/.tmp/ (same filesystem: put_file links, no copy); object
        stores build in the system temp folder.
        """
        if self.is_local:
            folder = os.path.join(self.root, LOCAL_TMP)
        else:
            folder = os.path.join(tempfile.gettempdir(), f"parkcorpus-{os.getuid()}")
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, f"{os.path.basename(name)}.{secrets.token_hex(4)}.tmp")

    def put_bytes(self, rel: str, data: bytes, *, replace: bool = False) -> str:
        """Write data to rel atomically (readers see all of it or nothing); returns the final rel path.

        replace=False never overwrites: when rel exists, "name.ext" becomes "name.1.ext", "name.2.ext" ...
        replace=True swaps the old content for the new in one step.
        """
        if self.is_local:
            tmp = self.local_tmp(rel)
            try:
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                return self._link_local(tmp, rel, replace)
            finally:
                _unlink_quiet(tmp)
        return self._upload(rel, lambda: contextlib.nullcontext(data), replace)

    def put_file(self, rel: str, local_path: str | os.PathLike, *, replace: bool = False,
                 move: bool = True) -> str:
        """Put a complete local file at rel atomically (see put_bytes); returns the final rel path.

        move=True consumes local_path (linked into place locally, deleted after the upload).
        """
        local_path = os.fspath(local_path)
        if self.is_local:
            with open(local_path, "rb+") as fh:
                os.fsync(fh.fileno())
            if move:
                try:
                    return self._link_local(local_path, rel, replace)
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
                finally:
                    _unlink_quiet(local_path)
            tmp = self.local_tmp(rel)
            try:
                shutil.copyfile(local_path, tmp)
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                return self._link_local(tmp, rel, replace)
            finally:
                _unlink_quiet(tmp)
        final = self._upload(rel, lambda: open(local_path, "rb"), replace)
        if move:
            _unlink_quiet(local_path)
        return final

    def delete(self, rel: str) -> None:
        """Delete file rel; a missing file is not an error (deleting is idempotent, as on S3)."""
        if self.is_local:
            _unlink_quiet(self.path(rel))
            return
        # botocore, not pyarrow: pyarrow's delete_file leaves an empty "folder/" marker object
        # behind when the folder becomes empty, and readers would list it
        client = _client(self.s3)
        try:
            client.delete_object(Bucket=self.bucket, Key=self.path(rel).split("/", 1)[1])
        except Exception as exc:  # noqa: BLE001 - botocore's errors have no common OSError base
            raise storage_error(exc, self.s3, self.bucket, self.show(rel)) from None

    def makedirs(self, rel: str) -> None:
        """Create folder rel locally; nothing on object stores (a prefix exists once it holds an object)."""
        if self.is_local:
            os.makedirs(self.path(rel), exist_ok=True)

    # ------------------------------------------------------------------ the root as a dataset

    def probe(self) -> None:
        """One request that proves the store answers, the bucket exists and the credentials work."""
        if self.is_local:
            return
        with self._errors(""):
            try:
                # a listing, not HeadBucket: its errors carry a code (NoSuchBucket, SignatureDoesNotMatch)
                self.fs.get_file_info(pafs.FileSelector(self.root, recursive=False))
            except FileNotFoundError:
                pass  # an empty prefix in an existing bucket

    def root_state(self, marker: str) -> str:
        """"dataset" when the root holds marker, "empty" when it holds nothing that counts, else "foreign".

        Hidden names and READMEs do not count (a fresh `data/` folder ships with a README).
        """
        if self.is_local and os.path.exists(self.root) and not os.path.isdir(self.root):
            raise DatasetError(f"{self.uri} is a file, not a folder: pass --out a folder")
        entries = self.list_dir()
        if any(name == marker and not is_dir for name, is_dir in entries):
            return "dataset"
        return "foreign" if any(not _ignorable(name) for name, _ in entries) else "empty"

    def not_a_dataset(self, marker: str) -> DatasetError:
        """The error for a root that holds something other than a parkcorpus dataset."""
        what = "folder" if self.is_local else "prefix"
        return DatasetError(f"{self.uri} is not a parkcorpus dataset (no {marker}) and is not empty: "
                            f"pass --out (or PARKCORPUS_OUT) a new or empty {what}")

    # ------------------------------------------------------------------ internals

    def _info(self, rel: str) -> pafs.FileInfo:
        with self._errors(rel):
            return self.fs.get_file_info(self.path(rel))

    def _upload(self, rel: str, body: Callable[[], Any], replace: bool) -> str:
        """One PUT of the whole body (botocore): the object appears complete or not at all.

        Not pyarrow's output stream: that sends even small files as a multipart upload, which
        leaves invisible parts behind when killed, and which SeaweedFS 4.48 stores wrongly for keys
        ending in .gz (the WARC segments). Without replace the PUT carries If-None-Match: *, so an
        existing object is never overwritten: the name is bumped instead.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        client = _client(self.s3)
        conditional = not replace
        final, bump = rel, 0
        while True:
            kw: dict[str, Any] = {"IfNoneMatch": "*"} if conditional else {}
            try:
                with body() as payload:
                    client.put_object(Bucket=self.bucket, Key=self.path(final).split("/", 1)[1],
                                      Body=payload, **kw)
                return final
            except ClientError as exc:
                code = client_error_code(exc)
                if conditional and code in PRECONDITION_FAILED:
                    bump += 1
                    final = bumped(rel, bump)
                    continue
                if conditional and code in NOT_IMPLEMENTED:
                    conditional = False  # a store without conditional writes: check, then PUT
                    final = self._free_name(final)
                    continue
                raise storage_error(exc, self.s3, self.bucket, self.show(final)) from None
            except BotoCoreError as exc:
                raise storage_error(exc, self.s3, self.bucket, self.show(final)) from None

    def _free_name(self, rel: str) -> str:
        """rel, or the first "name.N.ext" that does not exist (object stores: check, then PUT)."""
        final, bump = rel, 0
        while self.exists(final):
            bump += 1
            final = bumped(rel, bump)
        return final

    def _link_local(self, tmp: str, rel: str, replace: bool) -> str:
        os.makedirs(os.path.dirname(self.path(rel)), exist_ok=True)
        final, bump = rel, 0
        if replace:
            os.replace(tmp, self.path(final))
        else:
            while True:
                try:
                    os.link(tmp, self.path(final))  # atomic, and fails instead of clobbering
                    break
                except FileExistsError:
                    bump += 1
                    final = bumped(rel, bump)
                except OSError as exc:
                    if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                        raise
                    # filesystems without hard links: check, then rename (one writer per dataset)
                    while os.path.exists(self.path(final)):
                        bump += 1
                        final = bumped(rel, bump)
                    os.replace(tmp, self.path(final))
                    break
        _fsync_dir(os.path.dirname(self.path(final)))
        return final

    def _errors(self, rel: str):
        return _StoreErrors(self, rel)


class _StoreErrors:
    """Context manager: an object store's OSError becomes a StorageError naming the variable to fix."""

    def __init__(self, loc: Location, rel: str):
        self.loc, self.rel = loc, rel

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or self.loc.is_local or not isinstance(exc, OSError) \
                or isinstance(exc, FileNotFoundError):
            return False
        code = _aws_code(exc)
        if code in ("NO_SUCH_KEY", "RESOURCE_NOT_FOUND"):
            return False
        if code == "ACCESS_DENIED" and "No response body" in str(exc):
            # a HEAD answer has no body, so a bad key, a bad secret and a missing permission all look
            # alike: a listing of the root says which one it was
            try:
                self.loc.fs.get_file_info(pafs.FileSelector(self.loc.root, allow_not_found=True))
            except OSError as listing:
                exc = listing
        raise storage_error(exc, self.loc.s3, self.loc.bucket, self.loc.show(self.rel)) from None


#: botocore error codes of a conditional write that found the object changed or present.
PRECONDITION_FAILED = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")
#: ... and of a store that does not implement the condition.
NOT_IMPLEMENTED = ("NotImplemented", "501")


def client_error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ClientError ("NoSuchKey", "PreconditionFailed" ...), or its HTTP status."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    code = str(response.get("Error", {}).get("Code", ""))
    return code or str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


@functools.lru_cache(maxsize=8)
def _client(settings: S3Settings):
    """One botocore client per store and process (clients are thread-safe and keep a connection pool)."""
    return settings.botocore_client()


def _aws_code(exc: BaseException) -> str:
    m = re.search(r"AWS Error ([A-Z_]+)", str(exc))
    return m.group(1) if m else ""


def storage_error(exc: BaseException, s3: S3Settings, bucket: str | None, where: str) -> StorageError:
    """One-line StorageError for a failed S3 request (pyarrow's OSError or a botocore error)."""
    text = str(exc)
    code = _aws_code(exc)
    if not code:
        # botocore: ClientError carries the S3 code; connection errors are classes
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            code = str(response.get("Error", {}).get("Code", ""))
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code.isdigit() or not code:
                code = f"HTTP {status}"
        elif type(exc).__name__ in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError",
                                    "ReadTimeoutError"):
            code = "NETWORK_CONNECTION"
    endpoint = s3.shown_endpoint
    set_endpoint = s3.endpoint_var or "AWS_ENDPOINT_URL"
    norm = code.upper().replace("_", "")
    if norm in ("NOSUCHBUCKET",) or "not found. To create buckets" in text:
        return StorageError(f"bucket {bucket!r} does not exist at {endpoint}: create it, or fix the bucket "
                            f"in --out (PARKCORPUS_OUT) or the store in {set_endpoint}")
    if norm in ("SIGNATUREDOESNOTMATCH", "INVALIDACCESSKEYID", "EXPIREDTOKEN", "INVALIDTOKEN",
                "AUTHORIZATIONHEADERMALFORMED", "INVALIDCLIENTTOKENID", "TOKENREFRESHREQUIRED"):
        return StorageError(f"the S3 store at {endpoint} refused the credentials ({code}) for {where}: "
                            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)")
    if norm in ("ACCESSDENIED", "HTTP 403", "ALLACCESSDISABLED") or "HTTP status 403" in text:
        return StorageError(f"access denied to {where} at {endpoint}: set AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) to an identity that may read and write it")
    if norm in ("NETWORKCONNECTION", "REQUESTTIMEOUT", "CONNECTTIMEOUT") or "curlCode" in text:
        return StorageError(f"cannot reach the S3 endpoint {endpoint} ({_network_reason(text)}): "
                            f"check {set_endpoint} and that the store is running")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return StorageError(f"the S3 store at {endpoint} failed on {where}: {first}")


def _network_reason(text: str) -> str:
    low = text.lower()
    if "curlcode: 28" in low or "timed out" in low or "timeout" in low:
        return "timed out"
    if "curlcode: 6" in low or "resolve" in low:
        return "host not found"
    if "curlcode: 7" in low or "could not connect" in low or "refused" in low:
        return "connection refused"
    return "network error"


def _clean_rel(rel: str) -> str:
    rel = os.fspath(rel).replace(os.sep, "/").strip("/")
    if any(part in ("..", ".") for part in rel.split("/")):
        raise ValueError(f"relative dataset path {rel!r} may not contain '.' or '..'")
    return rel


def bumped(rel: str, n: int) -> str:
    """rel with a counter before its extension: "a/part-x-3.parquet" -> "a/part-x-3.1.parquet"."""
    head, _, name = rel.rpartition("/")
    stem, dot, ext = name.partition(".")
    name = f"{stem}.{n}.{ext}" if dot else f"{name}.{n}"
    return f"{head}/{name}" if head else name


def _ignorable(name: str) -> bool:
    return name.startswith(".") or name.lower().startswith("readme")


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse directory fsync; the rename/link is still atomic
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- resolving --out


def is_uri(out: str | os.PathLike) -> bool:
    """True when out is written as a URI (scheme://...), not a plain path."""
    return isinstance(out, str) and bool(_URI.match(out))


def resolve(out: str | os.PathLike, env: Mapping[str, str] | None = None) -> Location:
    """The Location for a local path, file:// URI or s3://bucket/prefix (UsageError for a malformed URI).

    Nothing is requested from the store here except, on AWS without AWS_REGION, the bucket's
    region; call probe() to fail fast on a missing bucket, bad credentials or a dead endpoint.
    """
    text = os.fspath(out)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text or not text.strip():
        raise UsageError("empty --out: pass a folder, file:// URI or s3://bucket/prefix")
    m = _URI.match(text)
    if not m or len(m.group(1)) == 1:
        return _local(text, text)
    scheme = m.group(1).lower()
    if not text[len(m.group(0)):].startswith("/"):
        raise UsageError(f"malformed URI {text!r}: write {scheme}://... (two slashes)")
    parts = urlsplit(text)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise UsageError(f"malformed URI {text!r}: file:// URIs name a local path "
                             "(file:///abs/path), not a host")
        if parts.query or parts.fragment:
            raise UsageError(f"malformed URI {text!r}: no ?query or #fragment in --out")
        path = unquote(parts.path)
        if not path:
            raise UsageError(f"malformed URI {text!r}: no path after file://")
        return _local(path, text)
    if scheme == "s3":
        return _s3(text, parts, env)
    hint = "; use s3:// for S3 and S3-compatible stores" if scheme in ("s3a", "s3n", "oss", "minio") else ""
    raise UsageError(f"unsupported --out scheme {scheme!r} in {text!r}: use a local path, file:// or "
                     f"s3://bucket/prefix{hint}")


def _local(path: str, uri: str) -> Location:
    return Location(fs=pafs.LocalFileSystem(), root=os.path.abspath(os.path.expanduser(path)),
                    uri=uri, is_local=True)


def _s3(text: str, parts, env: Mapping[str, str] | None) -> Location:
    bucket = parts.netloc
    if parts.query or parts.fragment:
        raise UsageError(f"malformed URI {text!r}: no ?query or #fragment in --out "
                         "(set the endpoint with AWS_ENDPOINT_URL)")
    if not bucket:
        raise UsageError(f"malformed URI {text!r}: name a bucket, e.g. s3://bucket/prefix")
    if "@" in bucket or ":" in bucket:
        raise UsageError(f"malformed URI {text!r}: put no credentials or port in --out; set "
                         "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and AWS_ENDPOINT_URL")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise UsageError(f"malformed URI {text!r}: {bucket!r} is not a valid bucket name "
                         "(3-63 lowercase letters, digits, '.' or '-')")
    raw = unquote(parts.path).strip("/")
    segments = raw.split("/") if raw else []
    if any(s in ("", ".", "..") for s in segments):
        raise UsageError(f"malformed URI {text!r}: the prefix may not contain empty, '.' or '..' parts")
    prefix = "/".join(segments)
    settings = s3_settings(env, bucket)
    root = f"{bucket}/{prefix}" if prefix else bucket
    return Location(fs=settings.filesystem(), root=root, uri=f"s3://{root}", is_local=False, s3=settings)

