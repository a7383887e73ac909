"""A local, stateful dbt Cloud Admin API v2 emulator for tests and benchmarks (standard library only).

with Emulator(EmulatorConfig(run_slots=3, run_seconds=0.5)) as emu:
    base = f"{emu.url}/api/v2/accounts/{emu.account_id}"   # authenticate with f"Token {emu.token}"
    ... trigger emu.ci_job_id, poll runs, then read emu.runs() / emu.requests()

It also serves v3's job-level environment variable overrides, under `/api/v3/accounts/{id}/projects/{id}/`:
seed them with `emu.set_env_var(...)` and read what clients wrote with `emu.env_vars()`.
"""

from .config import DEFAULT_FAULT_KINDS, FAULT_KINDS, EmulatorConfig
from .emulator import Emulator
from .requestlog import caller_id

__all__ = ["DEFAULT_FAULT_KINDS", "FAULT_KINDS", "Emulator", "EmulatorConfig", "caller_id"]
