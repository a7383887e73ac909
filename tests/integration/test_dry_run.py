"""dry-run end to end: the decision a real run would make, said in full, and nothing written to dbt Cloud."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dbt_cloud_emulator import Emulator, caller_id
from tests.harness import ROOT
from tests.integration.conftest import StepFactory, trigger, writes_of

SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40


def every_write(emu: Emulator) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in emu.requests() if e["method"] != "GET"]


def test_a_dry_run_on_an_idle_job_says_it_would_trigger_and_triggers_nothing(emu: Emulator, step: StepFactory) -> None:
    action = step(7, SHA_A, **{"dry-run": "true"})
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert writes_of(emu, action) == []
    assert emu.runs() == []
    assert done.outputs["decision"] == "plain-trigger" and done.outputs["run-status"] == "dry-run"
    assert f"1. trigger job {emu.ci_job_id}" in done.stdout
    assert '"github_pull_request_id": 7' in done.stdout
    assert "Dry run: nothing was written to dbt Cloud" in done.summary
    assert done.lines("::warning") == [] and done.state == {}


def test_a_dry_run_lists_the_runs_it_would_cancel_and_the_clone_it_would_make(emu: Emulator, step: StepFactory) -> None:
    emu.hold()
    trigger(emu, 8, SHA_C)  # another PR keeps the job busy
    stale = trigger(emu, 7, SHA_B)  # this PR's older commit, queued behind it
    before = every_write(emu)
    done = step(7, SHA_A, **{"dry-run": "true"}).run()
    assert done.returncode == 0, done.stdout
    assert every_write(emu) == before  # nothing cancelled, cloned or triggered
    assert done.outputs["decision"] == "cancel-and-retrigger"
    # In the order a real run takes: the new run first, then the stale one cancelled once dbt Cloud has accepted it.
    assert f"1. clone job {emu.ci_job_id}" in done.stdout
    assert "2. send the trigger body" in done.stdout
    assert f"3. cancel run {stale['id']} of job {emu.ci_job_id} (PR #7 at commit bbbbbbb)" in done.stdout
    assert "run slots" in done.stdout  # the slot arithmetic of the decision
    assert [run["status"] for run in emu.runs()] == [3, 1]
    emu.release(every=True)


def test_the_command_takes_dry_run_as_a_flag(emu: Emulator, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_", "STATE_"))}
    env.update({"PYTHONPATH": str(ROOT), "DBT_CLOUD_TOKEN": emu.token})
    done = subprocess.run(
        [sys.executable, "-m", "autoscale_ci", "run", "--dry-run", "true", "--account-id", str(emu.account_id),
         "--job-id", str(emu.ci_job_id), "--dbt-cloud-host", emu.url, "--pr-number", "3", "--git-sha", SHA_A],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "output run-status=dry-run" in done.stdout.splitlines()
    assert [e for e in emu.requests() if e["caller"] == caller_id(emu.token) and e["method"] != "GET"] == []


def test_dry_run_in_cleanup_mode_is_one_error_and_changes_nothing(emu: Emulator, step: StepFactory) -> None:
    action = step(7, SHA_A, mode="cleanup", **{"dry-run": "true"})
    done = action.run()
    assert done.returncode != 0
    errors = done.lines("::error")
    assert len(errors) == 1 and "dry-run is for mode: run" in errors[0]
    assert writes_of(emu, action) == []
