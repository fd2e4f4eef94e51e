"""A rate limiter shared by every process on one machine, so parallel tasks stay within an account's budget.

Databricks limits SCIM calls per account (about 2 PATCH and 20 GET per second), not per caller: mapped tasks
that reactivate users at the same time share one budget. Each (account, kind of call) gets a small file that
holds a single number, the wall-clock time of the next free slot, as in the generic cell rate algorithm
(GCRA) with a burst of one request. Callers take turns under ``fcntl.flock``:

* :meth:`FileRateLimiter.acquire` (the hook) keeps the lock while it sleeps until the free slot, then writes
  back the moment it really goes plus ``1 / rate``. A sleep that overruns therefore pushes the next caller
  back instead of squeezing two calls together: calls leave at least ``1 / rate`` apart, so no one-second
  window holds more than ``rate`` of them, give or take the network's jitter.
* :meth:`FileRateLimiter.reserve` (the async client, which must not hold a lock across an ``await``) takes
  the free slot, writes back the slot plus ``1 / rate`` at once, and leaves the sleeping to the caller.

After a quiet spell the slot lies in the past, so one call goes at once and the next ``1 / rate`` later: a
burst of one, never more. Wall time (``time.time``) is used because monotonic clocks are not comparable
between processes; a slot far beyond any plausible queue (:data:`MAX_AHEAD`) is taken for a clock that
stepped back, and reset.

The limit holds for one machine only: ``flock`` does not reach other hosts, and on NFS it may not lock at
all. With several Airflow workers, also put the tasks in an Airflow pool sized so that the workers together
stay within the budget; the hook's retries on 429 cover what is left.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import os
import re
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from airflow_provider_dbxscim.exceptions import ConfigurationError

ENV_DIR = "DBXSCIM_RATE_LIMIT_DIR"
DEFAULT_DIR_NAME = "dbxscim-ratelimit"
MAX_AHEAD = 300.0
_SLOT = struct.Struct("<d")


def default_directory(override: str | os.PathLike[str] | None = None) -> Path:
    """
    Return the directory of the limiter files: ``override``, else ``$DBXSCIM_RATE_LIMIT_DIR``, else a folder
    in the system temporary directory.

    :param override: a directory chosen in the connection extra (``rate_limit_dir``).
    """
    chosen = override or os.environ.get(ENV_DIR)
    return Path(chosen) if chosen else Path(tempfile.gettempdir()) / DEFAULT_DIR_NAME


class FileRateLimiter:
    """
    Space out calls of one kind to one account across every process and thread of this machine.

    :param directory: where the slot files live; created if missing.
    :param key: what the budget belongs to, e.g. ``"account-<id>-PATCH"``; becomes part of a file name.
    :param rate: calls per second.
    :param clock: wall-clock seconds, shared by all processes.
    :param sleep: how to wait for a slot.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        key: str,
        rate: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError("rate must be a positive number of calls per second")
        self.path = Path(directory) / _file_name(key)
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r}, rate={1 / self.interval:g})"

    def acquire(self) -> float:
        """
        Wait for the next free slot, holding the lock, and return the seconds waited.

        Other callers queue on the lock meanwhile; the slot written back counts from the moment this call
        really goes, so an overrunning sleep never lets the next caller go early.
        """
        with self._locked() as fd:
            now = self._clock()
            delay = self._free_slot(fd, now) - now
            if delay > 0:
                self._sleep(delay)
            os.pwrite(fd, _SLOT.pack(max(self._clock(), now + delay) + self.interval), 0)
        return delay

    def reserve(self) -> float:
        """Take the next free slot without waiting for it; return the seconds until it (0 when it is now)."""
        with self._locked() as fd:
            now = self._clock()
            slot = self._free_slot(fd, now)
            os.pwrite(fd, _SLOT.pack(slot + self.interval), 0)
        return slot - now

    def _free_slot(self, fd: int, now: float) -> float:
        slot = _read_slot(fd)
        if slot is None or slot < now or slot > now + MAX_AHEAD:
            return now
        return slot

    def _locked(self) -> _FileLock:
        return _FileLock(self.path)


class _FileLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> int:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            # O_NOFOLLOW: the default directory is in a shared /tmp, where a planted symlink must not count.
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise ConfigurationError(
                f"The rate-limit file {self._path} cannot be opened ({exc.strerror}); set rate_limit_dir in "
                f"the connection extra or ${ENV_DIR} to a directory this user owns."
            ) from exc
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self._fd

    def __exit__(self, *exc_info: object) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)


def _read_slot(fd: int) -> float | None:
    data = os.pread(fd, _SLOT.size, 0)
    if len(data) != _SLOT.size:
        return None
    (slot,) = _SLOT.unpack(data)
    return slot if math.isfinite(slot) else None


def _file_name(key: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:80]
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return f"{readable}-{digest}.slot"
