"""What dbt Cloud's scheduler does for CI jobs, by plan: concurrent CI and smart cancellation, and the run slots CI
runs do not take (dbt's job scheduler and CI job docs; NOTES.md)."""

from __future__ import annotations

import httpx
import pytest

from dbt_cloud_emulator import Emulator

from .helpers import statuses, trigger

SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40


def ci_trigger(api: httpx.Client, job: int, pr: int, sha: str) -> int:
    """A CI run triggered through the API for a pull request's commit."""
    return int(trigger(api, job, git_sha=sha, github_pull_request_id=pr)["id"])


@pytest.mark.parametrize("plan", ["enterprise", "enterprise_plus_2025", "team"])
def test_on_plans_with_concurrent_ci_a_ci_jobs_pull_requests_run_side_by_side(
    frozen: Emulator, fapi: httpx.Client, plan: str
) -> None:
    frozen.set_account(plan=plan, run_slots=5)
    job = frozen.seed_job("CI", job_type="ci")
    first, second = ci_trigger(fapi, job, 7, SHA_A), ci_trigger(fapi, job, 8, SHA_B)
    assert [statuses(frozen)[i] for i in (first, second)] == [2, 2]  # both start at once
    # A newer commit of PR #7: dbt cancels the older run itself (smart cancellation).
    newer = ci_trigger(fapi, job, 7, SHA_C)
    assert statuses(frozen)[first] == 30 and statuses(frozen)[newer] == 2


@pytest.mark.parametrize(
    ("plan", "job_type", "pr"),
    [("starter_2025", "ci", 7), ("enterprise", "other", 7), ("enterprise", "ci", None), ("developer", "ci", 7)],
)
def test_otherwise_a_jobs_runs_go_one_at_a_time(
    frozen: Emulator, fapi: httpx.Client, plan: str, job_type: str, pr: int | None
) -> None:
    frozen.set_account(plan=plan, run_slots=5)
    job = frozen.seed_job("CI", job_type=job_type)
    body = {"git_sha": SHA_A} if pr is None else {"git_sha": SHA_A, "github_pull_request_id": pr}
    first = trigger(fapi, job, **body)["id"]
    second = trigger(fapi, job, **{**body, "git_sha": SHA_B})["id"]
    assert [statuses(frozen)[i] for i in (first, second)] == [2, 1]  # queued behind the first, not cancelled


@pytest.mark.parametrize(("plan", "holds"), [("starter_2025", False), ("enterprise_2025", False), ("team", True)])
def test_ci_runs_take_no_run_slot_on_starter_and_enterprise(
    frozen: Emulator, fapi: httpx.Client, plan: str, holds: bool
) -> None:
    frozen.set_account(plan=plan, run_slots=1)
    nightly = trigger(fapi, frozen.seed_job("Nightly", job_type="scheduled"))["id"]  # takes the one slot
    ci = ci_trigger(fapi, frozen.seed_job("CI", job_type="ci"), 7, SHA_A)
    assert statuses(frozen)[nightly] == 2
    assert statuses(frozen)[ci] == (1 if holds else 2)
    # And a run that needs a slot still waits for one.
    deploy = trigger(fapi, frozen.seed_job("Deploy", job_type="other"))["id"]
    assert statuses(frozen)[deploy] == 1


def test_a_push_starts_a_run_only_where_the_jobs_own_pull_request_trigger_is_on(frozen: Emulator) -> None:
    on = {"github_webhook": True, "schedule": False, "git_provider_webhook": False, "on_merge": False}
    job = frozen.seed_job("Native CI", job_type="ci", triggers=on)
    first = frozen.pull_request_pushed(7, SHA_A, job_id=job)
    second = frozen.pull_request_pushed(8, SHA_B, job_id=job)
    assert first is not None and second is not None
    # Native CI runs pull requests side by side on Starter too, each in its pull request's schema.
    assert [statuses(frozen)[i] for i in (first, second)] == [2, 2]
    run = next(r for r in frozen.runs() if r["id"] == first)
    assert run["trigger"]["schema_override"] == f"dbt_cloud_pr_{job}_7"
    assert (run["trigger"]["github_pull_request_id"], run["trigger"]["git_sha"]) == (7, SHA_A)
    assert frozen.pull_request_pushed(7, SHA_B) is None  # the seeded CI job's trigger is off: dbt starts nothing
