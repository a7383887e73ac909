"""Fixtures: a wall-clock emulator with short runs, and a frozen-clock one that moves only when told."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from autoscale_ci.emulator import Emulator, EmulatorConfig

from .helpers import client


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """Runs take about 0.1 s of real time."""
    with Emulator(EmulatorConfig(run_slots=2, start_seconds=0.02, run_seconds=0.08, seed=1)) as emulator:
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
