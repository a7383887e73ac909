"""A record of every API request: what was asked, what was answered, which fault was injected."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections import deque
from typing import Any

from .protocol import JsonDict


def caller_id(token: str) -> str:
    """A fingerprint of a token, so the log can tell clients apart without holding their tokens."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


class RequestLog:
    """Entries kept in memory (the newest `limit`) and, when `path` is set, appended there as JSON lines."""

    def __init__(self, limit: int, path: str | None = None) -> None:
        self._lock = threading.Lock()
        self._entries: deque[JsonDict] = deque(maxlen=limit)
        self._seq = 0
        self._file = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115 - lives as long as the log

    def record(
        self,
        *,
        method: str,
        path: str,
        query: dict[str, list[str]],
        status: int | None,
        body: Any,
        fault: str | None,
        emulated_at: str | None,
        started: float,
        caller: str | None = None,
    ) -> None:
        """Add one entry; `status` is None when the client got no answer."""
        with self._lock:
            self._seq += 1
            entry: JsonDict = {
                "seq": self._seq,
                "timestamp": started,
                "emulated_at": emulated_at,
                "method": method,
                "path": path,
                "query": query,
                "status": status,
                "body": body,
                "fault": fault,
                "caller": caller,
                "elapsed_ms": round((time.time() - started) * 1000, 3),
            }
            self._entries.append(entry)
            if self._file is not None:
                self._file.write(json.dumps(entry, sort_keys=True) + "\n")
                self._file.flush()

    def entries(self) -> list[JsonDict]:
        """A copy of the kept entries, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._entries))

    def close(self) -> None:
        """Close the JSON lines file, if any."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
