from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from autoscale_ci import signals
from autoscale_ci.errors import Aborted


@pytest.fixture(autouse=True)
def restore_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_becomes_aborted_with_the_shell_exit_code(sig: signal.Signals, code: int) -> None:
    signals.install()
    with pytest.raises(Aborted) as caught:
        os.kill(os.getpid(), sig)
        signal.sigtimedwait([], 0)  # give the handler a bytecode boundary
    assert caught.value.exit_code == code


def test_signals_are_deferred_while_shielded() -> None:
    signals.install()
    with signals.shielded():
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
    assert signals.pending() == signal.SIGTERM
    with pytest.raises(Aborted):
        os.kill(os.getpid(), signal.SIGINT)
        signal.sigtimedwait([], 0)
