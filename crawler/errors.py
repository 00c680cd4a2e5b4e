"""The exceptions parkcorpus raises on purpose. `cli.py` turns them into one `Error: ...` line.

UsageError subclasses mean the caller asked for something impossible (exit 2);
everything else derived from ParkcorpusError is a run failure (exit 1).
"""

import errno


class ParkcorpusError(Exception):
    """Base class: a failure the user can understand and act on (exit code 1)."""

    exit_code = 1


class UsageError(ParkcorpusError):
    """The request itself is wrong: bad host, range, date or option (exit code 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """The configuration file or a PARKCORPUS_* variable is invalid."""


class UnknownSiteError(UsageError):
    """A site name that is neither registered nor a valid host name."""


class SearchQueryError(UsageError):
    """A search query that cannot be looked up: empty, or only punctuation."""


class InputError(ParkcorpusError):
    """An input file is missing, empty, binary or not HTML."""


class NotAnArticle(ParkcorpusError):
    """The page is not a post page (list page, 404 page, login page ...)."""


class MalformedPage(NotAnArticle):
    """The page looks like a post page but is truncated or broken."""


class DatasetError(ParkcorpusError):
    """The output folder is missing, unwritable, or not a parkcorpus dataset."""


class StorageError(DatasetError):
    """The object store holding the dataset cannot be used: no bucket, bad credentials, unreachable."""


class LockedError(ParkcorpusError):
    """Another parkcorpus run holds the lock on the output folder."""


class CrawlError(ParkcorpusError):
    """The crawl failed or fell short of what was asked."""


class ClusterError(ParkcorpusError):
    """A Scrapyd node or shard failed in a way that retries could not fix."""


class UnsafePathError(DatasetError):
    """A path parkcorpus would write is a symlink, a special file or outside where it may write."""


#: errno values that mean "the disk (or quota) is full": the one definition the CLI, the writer
#: pipeline, the store and the report use to say so in one line instead of a traceback.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)})


def is_disk_full(exc: BaseException) -> bool:
    """True when exc is an OSError saying the disk or quota is full."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS
