"""Clock of the emulator: real time plus an offset that tests can move forward."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What the emulator needs from a clock: a monotonic reading for expiry and limits, wall time for logs."""

    def monotonic(self) -> float:
        """Return seconds on a clock that never goes back."""

    def time(self) -> float:
        """Return seconds since the epoch."""


class EmulatorClock:
    """
    Real clock that can be advanced, so token expiry, rate-limit refills and IdP resyncs take no wall time.

    Latency faults still sleep for real: they exist to slow the caller down.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Return the monotonic reading plus the offset."""
        return time.monotonic() + self._offset

    def time(self) -> float:
        """Return the wall time plus the offset."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """
        Move the clock forward.

        :param seconds: how far; negative values are refused so the clock stays monotonic.
        """
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        """Drop the offset, so a reset emulator runs on real time again; callers reset what depends on it."""
        with self._lock:
            self._offset = 0.0
