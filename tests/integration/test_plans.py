"""What dbt already does, by plan and job type: the action triggers what dbt runs side by side itself, counts only
the run slots that are held, and with native-trigger follows the run dbt's own pull request trigger starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dbt_cloud_emulator import Emulator
from tests.harness import make_step, pr_event, wait_for
from tests.integration.conftest import StepFactory, run_of, trigger, writes_of
from tests.integration.test_entrypoint import active_run

SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40
PR_TRIGGER_ON = {"github_webhook": True, "schedule": False, "git_provider_webhook": False, "on_merge": False}


def busy(emu: Emulator, job_id: int) -> dict[str, Any]:
    """Another PR keeps the job busy until the test ends."""
    emu.hold(git_sha=SHA_B)
    return trigger(emu, 8, SHA_B, job_id)


@pytest.mark.parametrize("plan", ["enterprise", "enterprise_plus_2025"])
def test_where_dbt_runs_ci_side_by_side_a_busy_ci_job_is_triggered_and_its_run_starts_at_once(
    emu: Emulator, step: StepFactory, plan: str
) -> None:
    emu.set_account(plan=plan, run_slots=4)
    job = emu.seed_job("CI", job_type="ci")
    other = busy(emu, job)
    emu.hold(git_sha=SHA_A)
    action = step(7, SHA_A, wait="false", **{"job-id": str(job)})
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "plain-trigger" and done.outputs["cloned-job-id"] == ""
    assert writes_of(emu, action) == [f"POST /jobs/{job}/run/"]  # no clone made, none to delete
    assert f"dbt runs CI runs of this job concurrently on this plan ({plan})" in done.stdout
    mine = active_run(emu, 7, SHA_A)
    assert mine is not None
    wait_for(lambda: run_of(emu, mine["id"])["status"] in (2, 3), what="the run starting beside the other PR's")
    assert run_of(emu, other["id"])["status"] in (2, 3)
    emu.release(every=True)


@pytest.mark.parametrize(
    ("plan", "job_type", "inputs"),
    [
        ("starter_2025", "ci", {}),  # API-triggered CI runs one at a time on Starter
        ("enterprise", "other", {}),  # a job not typed ci runs one at a time on every plan
        ("enterprise", "ci", {"native-concurrency": "false"}),  # the user knows better than the table
    ],
)
def test_otherwise_a_busy_job_is_cloned(
    emu: Emulator, step: StepFactory, plan: str, job_type: str, inputs: dict[str, str]
) -> None:
    emu.set_account(plan=plan, run_slots=4)
    job = emu.seed_job("CI", job_type=job_type)
    busy(emu, job)
    done = step(7, SHA_A, wait="false", **{"job-id": str(job), **inputs}).run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "clone-and-trigger"
    emu.release(every=True)


def test_other_teams_native_ci_runs_take_no_slot_so_there_is_room_for_a_clone(emu: Emulator, step: StepFactory) -> None:
    emu.set_account(plan="starter_2025", run_slots=2)
    native = emu.seed_job("Their CI", job_type="ci", triggers=PR_TRIGGER_ON)
    emu.hold(job_id=native)
    theirs = [emu.pull_request_pushed(pr, SHA_C, job_id=native) for pr in (30, 31, 32)]
    busy(emu, emu.ci_job_id or 0)  # our job, a deploy job used for CI, holds one of the two slots
    wait_for(lambda: all(run_of(emu, run_id or 0)["status"] in (2, 3) for run_id in theirs), what="their CI running")
    done = step(7, SHA_A, wait="false", **{"delete-clone": "false"}).run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "clone-and-trigger"
    assert "1 of 2 run slots are in use" in done.stdout  # their three CI runs hold none
    emu.release(every=True)


def test_the_dry_run_shows_the_slot_arithmetic(emu: Emulator, step: StepFactory) -> None:
    emu.set_account(plan="enterprise_2025", run_slots=3)
    native = emu.seed_job("Their CI", job_type="ci", triggers=PR_TRIGGER_ON)
    emu.hold(job_id=native)
    their = emu.pull_request_pushed(30, SHA_C, job_id=native)
    other = busy(emu, emu.ci_job_id or 0)
    done = step(7, SHA_A, **{"dry-run": "true"}).run()
    assert done.returncode == 0, done.stdout
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("Run slots as counted:")]
    assert f"run slots: 3 (plan enterprise_2025); in use 1 = 1 executing run(s) (runs {other['id']})" in line
    assert f"not counted: 1 run(s) of `ci` jobs, which hold no slot on enterprise_2025 (runs {their})" in line
    emu.release(every=True)


def test_native_trigger_follows_the_run_dbt_starts_and_triggers_nothing(emu: Emulator, step: StepFactory) -> None:
    job = emu.seed_job("Native CI", job_type="ci", triggers=PR_TRIGGER_ON)
    action = step(7, SHA_A, **{"job-id": str(job), "native-trigger": "true"}).start()
    # dbt Cloud's run appears a few seconds after the push, while the step is already looking for it.
    wait_for(lambda: any(e["path"].endswith("/runs/") for e in emu.requests()), what="the step looking for the run")
    started = emu.pull_request_pushed(7, SHA_A, job_id=job)
    done = action.wait()
    assert done.returncode == 0, done.stdout
    assert done.outputs["run-id"] == str(started)
    assert (done.outputs["decision"], done.outputs["run-status"]) == ("follow", "success")
    assert writes_of(emu, action) == []  # nothing triggered, nothing cancelled
    assert "Duplicate CI runs" not in done.stdout  # the job's own trigger is meant to be on


def test_native_trigger_without_a_run_from_dbt_is_one_error_that_says_what_to_check(
    emu: Emulator, step: StepFactory
) -> None:
    job = emu.seed_job("Native CI", job_type="ci")  # its own pull request trigger is off: dbt starts nothing
    emu.pull_request_pushed(7, SHA_A, job_id=job)
    action = step(7, SHA_A, **{"job-id": str(job), "native-trigger": "true", "timeout-minutes": "0.05"})
    done = action.run()
    assert done.returncode == 1
    (error,) = done.lines("::error")
    assert f"dbt Cloud started no run of job {job} for PR #7 @ aaaaaaa" in error
    assert "Run on pull requests" in error and "native-trigger: false" in error
    assert writes_of(emu, action) == []


def test_without_native_trigger_the_duplicate_runs_warning_names_it(emu: Emulator, step: StepFactory) -> None:
    job = emu.seed_job("Native CI", job_type="ci", triggers=PR_TRIGGER_ON)
    done = step(7, SHA_A, **{"job-id": str(job)}).run()
    assert done.returncode == 0, done.stdout
    (warning,) = [line for line in done.lines("::warning") if "Duplicate CI runs" in line]
    assert "set native-trigger: true" in warning


@pytest.mark.parametrize(("plan", "token", "names_a_personal_token"), [
    ("starter_2025", "dbtc_service_token_of_a_starter_account", True),
    ("developer", "dbtc_service_token_of_a_developer_account", True),
    ("enterprise", "dbtc_service_token_without_job_runner", False),  # there a service token can be given it
    ("starter_2025", "dbtu_personal_token_of_someone_else", False),  # already a personal token
])  # fmt: skip
def test_a_service_token_refused_on_starter_or_developer_is_told_to_be_a_personal_token(
    emu: Emulator, tmp_path: Path, plan: str, token: str, names_a_personal_token: bool
) -> None:
    # dbt's service tokens page: on Developer and Starter a service token can have Semantic Layer permissions only.
    emu.set_account(plan=plan)
    action = make_step(tmp_path / "step", label="PR #7", host=emu.url, token=emu.readonly_token or "",
                       account_id=emu.account_id, job_id=emu.ci_job_id or 0, event=pr_event(7, SHA_A))  # fmt: skip
    action.env["INPUT_DBT-CLOUD-TOKEN"] = token
    emu.add_token(token, "readonly")
    done = action.run()
    assert done.returncode == 1
    (error,) = done.lines("::error")
    assert "answered 403 to trigger job" in error
    said = f"on the {plan} plan a service token cannot be given job permissions"
    assert (said in error and "personal access token (dbtu_" in error) is names_a_personal_token
