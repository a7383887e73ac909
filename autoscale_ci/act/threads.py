"""Work handed to a thread whose answer is read later."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

_T = TypeVar("_T")


def in_background(call: Callable[..., _T], *args: Any) -> Future[_T]:
    """Run a call on a daemon thread: nothing waits for it at exit, so a cancelled step is never held by it."""
    answer: Future[_T] = Future()

    def work() -> None:
        try:
            answer.set_result(call(*args))
        except BaseException as exc:  # handed to whoever reads the answer
            answer.set_exception(exc)

    threading.Thread(target=work, daemon=True).start()
    return answer
