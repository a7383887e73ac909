"""A local, stateful dbt Cloud Admin API v2 emulator for tests and benchmarks (standard library only).

with Emulator(EmulatorConfig(run_slots=3, run_seconds=0.5)) as emu:
    base = f"{emu.url}/api/v2/accounts/{emu.account_id}"   # authenticate with f"Token {emu.token}"
    ... trigger emu.ci_job_id, poll runs, then read emu.runs() / emu.requests()

It also serves v3's job-level environment variable overrides, under `/api/v3/accounts/{id}/projects/{id}/`:
seed them with `emu.set_env_var(...)` and read what clients wrote with `emu.env_vars()`.

It answers as the live dbt Cloud does, not only as the spec says (spec/dbt-cloud-api/NOTES.md), for every client by
default: a job create needs `id` (null) and `schedule`, an update the job's own `id`; job field errors are strings
beside `extra: {}` and `error_code: null`; a CI or Merge job with state-aware orchestration gets a bare 405; DELETE
of a job answers 200 with it at state 2, and it stays readable; a run embeds a thin job; a failed run says only "dbt
command failed"; step logs carry bare timestamp lines; `POST /runs/{id}/retry/` queues a new run of a failed run's
job only when it is the job's latest run and left run results (`can_retry`, `retry_not_supported_reason`). Knobs for
what varies: `set_outcome` (how runs end: "success", "error", "deps_error", "check_error", "transient_error" on a
dropped connection, "connect_error" on a refused one; for the next `times` runs or until changed),
`set_retry_trigger` (whether a retry's run keeps the failed run's trigger fields), `seed_foreign_job` (another
team's odd job), `seed_runs` (thousands of runs at once), `churn` (runs created between two page reads),
`set_refusal_status` (403, or 404 for a missing permission), `set_role` (a permission revoked mid-run),
`set_project` (the project's `dbt_project_subdirectory`, as `GET /projects/{id}/` answers it, and how long its
manifest.json runs), `set_selected_nodes` (how many nodes a job's build, run and test steps select: `k of M` in
their logs as the step's time passes, M results in run_results.json), `set_failing_nodes` (how many models and tests
a failing run fails), `set_artifacts_missing` (artifacts a run did not produce, a 404) and `set_engine` (dbt
Fusion's results: its version, checks, reused nodes). Every manifest.json node names its files (`path`,
`original_file_path`).
"""

from .config import DEFAULT_FAULT_KINDS, FAULT_KINDS, EmulatorConfig
from .emulator import Emulator
from .requestlog import caller_id

__all__ = ["DEFAULT_FAULT_KINDS", "FAULT_KINDS", "Emulator", "EmulatorConfig", "caller_id"]
