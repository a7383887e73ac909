from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from autoscale_ci.act import signals
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


def test_signals_are_deferred_while_shielded_and_raised_after() -> None:
    signals.install()
    done: list[str] = []
    with pytest.raises(Aborted) as caught, signals.shielded():
        os.kill(os.getpid(), signal.SIGTERM)
        with signals.shielded():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("inner")
        done.append("outer")  # the inner block's end does not raise
    assert done == ["inner", "outer"]
    assert caught.value.signum == signal.SIGTERM  # the first signal that arrived


def test_a_shield_without_signals_raises_nothing() -> None:
    signals.install()
    with signals.shielded():
        pass
