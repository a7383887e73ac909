"""Fixtures: a wall-clock emulator whose runs outlast any test, and a frozen-clock one that moves only when told.

No test here may depend on how fast the machine is: a run a test needs active stays active until the test ends it
(a long run, a held run or a frozen clock), and a test that needs a run to finish moves the clock or releases it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from dbt_cloud_emulator import Emulator, EmulatorConfig

from .helpers import client


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """Real time, but every run stays active until the test cancels it: nothing here waits for a run's end."""
    with Emulator(EmulatorConfig(run_slots=2, start_seconds=0.02, run_seconds=86_400, seed=1)) as emulator:
        yield emulator


@pytest.fixture
def frozen() -> Iterator[Emulator]:
    """Speed 0: time moves only through `advance`, so every state can be observed exactly."""
    config = EmulatorConfig(run_slots=2, start_seconds=10, run_seconds=60, speed=0, seed=1)
    with Emulator(config) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> Iterator[httpx.Client]:
    """Admin client for `emu`."""
    with client(emu) as c:
        yield c


@pytest.fixture
def fapi(frozen: Emulator) -> Iterator[httpx.Client]:
    """Admin client for `frozen`."""
    with client(frozen) as c:
        yield c
