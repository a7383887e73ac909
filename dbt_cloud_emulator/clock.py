"""Emulated time: the wall clock, sped up, or driven by hand."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """Seconds since the epoch, running `speed` times faster than real time plus any manual advance."""

    def __init__(self, speed: float = 1.0, origin: float | None = None) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.speed = speed
        self._origin = time.time() if origin is None else origin
        self._mono0 = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Current emulated time in epoch seconds; never goes backwards."""
        with self._lock:
            return self._origin + (time.monotonic() - self._mono0) * self.speed + self._offset

    def advance(self, seconds: float) -> None:
        """Move emulated time forward; with speed 0 this is the only way it moves."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._offset += seconds


def iso(ts: float | None) -> str | None:
    """Format epoch seconds the way dbt Cloud does: `2026-01-01 12:00:00.000000+00:00`."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def hms(seconds: float) -> str:
    """Format a duration as dbt Cloud's `HH:MM:SS`."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def humanize(seconds: float) -> str:
    """Format a duration as dbt Cloud's `1 minute, 5 seconds`."""
    total = max(0, int(seconds))
    parts: list[str] = []
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        count, total = divmod(total, size)
        if count or (unit == "second" and not parts):
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return ", ".join(parts)
