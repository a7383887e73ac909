"""Turns SIGINT and SIGTERM into an `Aborted` exception, once, so cleanup code can run to the end."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from autoscale_ci.errors import Aborted

_state = {"shielded": False, "pending": 0, "received": 0}


def _handler(signum: int, _frame: FrameType | None) -> None:
    # Seen by every thread: a read retrying in the background stops at once, and the step ends in the runner's time.
    _state["received"] = _state["received"] or signum
    if _state["shielded"]:
        # The runner sends SIGTERM 7.5 s after SIGINT; cleanup already under way must not be cut short.
        _state["pending"] = _state["pending"] or signum
        return
    raise Aborted(signum)


def install() -> None:
    """Handle SIGINT and SIGTERM (a Python PID 1 would otherwise ignore SIGTERM)."""
    _state.update(shielded=False, pending=0, received=0)
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


@contextmanager
def shielded() -> Iterator[None]:
    """Defer signals while the block runs; a signal that arrived is raised when the outermost block ends, also
    when the block raised (the step was cancelled: that comes first, whatever went wrong meanwhile)."""
    before = _state["shielded"]
    _state["shielded"] = True
    try:
        yield
    finally:
        _state["shielded"] = before
        if not before and _state["pending"]:
            signum, _state["pending"] = _state["pending"], 0
            raise Aborted(signum)


def pending() -> bool:
    """True once a signal has arrived that a shielded block is holding back."""
    return bool(_state["pending"])


def received() -> bool:
    """True once the step was told to stop: retries anywhere give up (its cleanup's own requests excepted)."""
    return bool(_state["received"])
