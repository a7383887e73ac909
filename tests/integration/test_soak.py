"""A bounded fault soak inside `make test`; `make soak` runs the long one."""

from __future__ import annotations

from pathlib import Path

from tests.soak import soak
from tests.weather_soak import weather_soak


def test_fault_soak(tmp_path: Path) -> None:
    tally = soak(count=100, seed=1, workdir=tmp_path)
    print(tally.report())
    assert not tally.violations, "\n".join(tally.violations)
    assert tally.schedules == 100
    assert sum(tally.faults.values()) > 100  # the schedules did inject faults
    assert tally.outcomes["success"] > 0


def test_weather_soak(tmp_path: Path) -> None:
    tally = weather_soak(count=24, seed=1, workdir=tmp_path)
    print(tally.report())
    assert not tally.violations, "\n".join(tally.violations)
    assert tally.schedules == 24
    assert tally.outcomes == {"success": 24}
    # Every spell was played: outages of both kinds, rate limits and slow triggers.
    assert {"503", "drop", "429", "slow"} <= set(tally.faults)
