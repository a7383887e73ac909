"""Retrying a failed run: the outcomes a retry is for ("transient_error" on a dropped connection, "connect_error" on a
refused one), rules that hold for a number of runs (`times`), `can_retry` and `retry_not_supported_reason`, and
`POST /runs/{id}/retry/`."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator, EmulatorConfig

from .helpers import admin, client, results, run, statuses, trigger
from .test_errors import envelope
from .test_logs import messages, steps_of
from .test_project import spec_problems

DROPPED = (
    "server closed the connection unexpectedly\n  \tThis probably means the server terminated abnormally\n"
    "  \tbefore or while processing the request."
)
REFUSED = (
    'connection to server at "warehouse.emulated.internal" (10.0.12.34), port 5432 failed: Connection refused\n'
    "  \tIs the server running on that host and accepting TCP/IP connections?"
)
RETRY_PATH = "/api/v2/accounts/{account_id}/runs/{run_id}/retry/"
# NOTES.md: a job embedded in a run is the live thin shape, which lacks these required fields of the spec's
# InternalJobDefinition (test_conformance.py's documented exception).
THIN_JOB = ("data/job: 'errors_on_lint_failure' is a required property", "data/job: 'run_lint' is a required property")
PR_TRIGGER = {
    "git_sha": "a" * 40,
    "git_branch": "feature",
    "github_pull_request_id": 12,
    "schema_override": "dbt_cloud_pr_1001_12",
    "threads_override": 8,
    "target_name_override": "ci",
}


def finished(frozen: Emulator, api: httpx.Client, job_id: int, **body: Any) -> int:
    """Trigger a run of the job and play it to its end: 10 s starting, 60 s running."""
    run_id = int(trigger(api, job_id, **body)["id"])
    frozen.advance(70)
    assert run(api, run_id)["status"] in (10, 20)
    return run_id


def retried(api: httpx.Client, run_id: int) -> dict[str, Any]:
    """Retry a run, asserting success; the new run's data."""
    response = api.post(f"/runs/{run_id}/retry/")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def reason(api: httpx.Client, run_id: int) -> tuple[bool, str | None]:
    """A run's `can_retry` and `retry_not_supported_reason`."""
    data = run(api, run_id)
    return data["can_retry"], data["retry_not_supported_reason"]


# -- the outcomes ------------------------------------------------------------------------------------------------


def test_a_transient_error_fails_its_model_on_a_dropped_connection(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_outcome("transient_error", job_id=job_id)
    run_id = finished(frozen, fapi, job_id)
    data = run(fapi, run_id)
    assert (data["status"], data["status_message"], data["artifacts_saved"]) == (20, "dbt command failed", True)
    assert (data["can_retry"], data["retry_not_supported_reason"]) == (True, None)
    found = {r["unique_id"]: r for r in results(fapi, run_id)}
    failed = found["model.emulated_project.stg_orders"]
    message = f"Database Error in model stg_orders\n  {DROPPED}"
    assert (failed["status"], failed["message"], failed["adapter_response"]) == ("error", message, {})
    assert [r["status"] for r in found.values()].count("error") == 1
    assert fapi.get(f"/runs/{run_id}/artifacts/manifest.json").status_code == 200
    steps = steps_of(fapi, run_id)
    assert steps[-1]["status"] == 20
    said = messages(steps[-1]["logs"])
    assert any(line.startswith("1 of 5 ERROR creating sql table model analytics.stg_orders") for line in said)
    assert f"  {message}" in steps[-1]["logs"]
    assert said[-1] == "Done. PASS=2 WARN=0 ERROR=1 SKIP=2 NO-OP=0 TOTAL=5"


def test_under_a_transient_error_a_test_that_would_fail_errors_too(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_outcome("transient_error", job_id=job_id)
    frozen.set_failing_nodes(2, job_id=job_id)  # a model errors and a test fails, as "error" has them
    run_id = finished(frozen, fapi, job_id)
    found = results(fapi, run_id)
    nodes = fapi.get(f"/runs/{run_id}/artifacts/manifest.json").json()["nodes"]
    failed = [r for r in found if r["status"] in ("error", "fail")]
    assert {r["status"] for r in failed} == {"error"}
    assert {nodes[r["unique_id"]]["resource_type"] for r in failed} == {"model", "test"}
    logs = steps_of(fapi, run_id)[-1]["logs"]
    said = messages(logs)
    for result in failed:
        node = nodes[result["unique_id"]]
        kind, name, original = node["resource_type"], node["name"], node["original_file_path"]
        assert result["message"].startswith(f"Database Error in {kind} {name} ({original})\n  {DROPPED}\n")
        assert result["message"].split("\n")[-1].startswith("  compiled code at target/run/emulated_project/models/")
        assert (result["failures"], result["adapter_response"]) == (None, {})
        assert f"  {result['message']}" in logs  # the summary says each, as run_results.json has it
        if kind == "test":
            # dbt-core's LogTestResult for a test that errored: `ERROR <name>`, not `FAIL <n> <name>`.
            assert any(re.fullmatch(rf"\d+ of \d+ ERROR {name} \.+ \[ERROR in \d+\.\d\ds\]", line) for line in said)
    assert not any(" FAIL " in line for line in said)
    assert "Completed with 2 errors, 0 partial successes, and 0 warnings:" in said


def test_a_connect_error_stops_the_last_command_before_any_node(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_outcome("connect_error", job_id=job_id)
    run_id = finished(frozen, fapi, job_id)
    data = run(fapi, run_id)
    assert (data["status"], data["status_message"]) == (20, "dbt command failed")
    assert (data["artifacts_saved"], data["artifact_s3_path"]) == (False, None)
    steps = steps_of(fapi, run_id)
    assert [s["status"] for s in steps] == [10, 10, 10, 20]
    last = steps[-1]
    assert last["logs"].endswith(f"Encountered an error:\nDatabase Error\n  {REFUSED}")
    assert "[error]" in last["debug_logs"]
    said = messages(last["logs"])
    assert not any(" START " in line or line.startswith("Concurrency") for line in said)
    assert fapi.get(f"/runs/{run_id}/artifacts/").json()["data"] == []
    for step in (None, len(steps)):
        params = {} if step is None else {"step": step}
        for path in ("run_results.json", "manifest.json"):
            missing = envelope(fapi.get(f"/runs/{run_id}/artifacts/{path}", params=params), 404)
            assert missing["status"]["user_message"].startswith(f"No artifact '{path}' found for run {run_id}")
    assert reason(fapi, run_id) == (False, "RETRY_NO_RUN_RESULTS")


def test_a_connect_error_leaves_the_docs_step_its_artifacts(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("connect_error")
    run_id = finished(frozen, fapi, frozen.ci_job_id or 0, generate_docs_override=True)
    steps = steps_of(fapi, run_id)
    assert [s["status"] for s in steps] == [10, 10, 10, 20, 10]
    assert fapi.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 4}).status_code == 404
    assert fapi.get(f"/runs/{run_id}/artifacts/catalog.json").status_code == 200
    assert run(fapi, run_id)["artifacts_saved"] is True
    assert reason(fapi, run_id) == (False, "RETRY_NO_RUN_RESULTS")


# -- rules for a number of runs ------------------------------------------------------------------------------------


def test_a_rule_for_times_runs_is_forgotten_after_them(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_outcome("transient_error", job_id=job_id, times=2)
    ids = [finished(frozen, fapi, job_id) for _ in range(3)]
    assert [statuses(frozen)[i] for i in ids] == [20, 20, 10]
    assert [run(fapi, i)["status_message"] for i in ids] == ["dbt command failed", "dbt command failed", None]
    # Forgotten: the rule below it, for every job, decides again.
    frozen.set_outcome("error")
    frozen.set_outcome("success", job_id=job_id, times=1)
    later = [finished(frozen, fapi, job_id) for _ in range(2)]
    assert [statuses(frozen)[i] for i in later] == [10, 20]


def test_a_cancelled_run_does_not_use_up_a_rule(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_outcome("connect_error", job_id=job_id, times=1)
    cancelled = trigger(fapi, job_id)["id"]
    assert fapi.post(f"/runs/{cancelled}/cancel/").status_code == 200
    first, second = finished(frozen, fapi, job_id), finished(frozen, fapi, job_id)
    assert (statuses(frozen)[first], statuses(frozen)[second]) == (20, 10)


def test_times_passes_through_the_admin_knob(frozen: Emulator, fapi: httpx.Client) -> None:
    body = {"outcome": "transient_error", "git_sha": "flaky", "times": 1}
    assert admin(frozen, "POST", "outcome", body).status_code == 200
    ids = [finished(frozen, fapi, frozen.ci_job_id or 0, git_sha="flaky") for _ in range(2)]
    assert [statuses(frozen)[i] for i in ids] == [20, 10]
    refused = admin(frozen, "POST", "outcome", {**body, "times": 0})
    assert refused.status_code == 400 and "times" in refused.json()["status"]["user_message"]


@pytest.mark.parametrize("times", [0, -1, True, 1.5, "2"])
def test_times_must_be_a_whole_number_of_runs(frozen: Emulator, times: Any) -> None:
    with pytest.raises(ValueError, match="times"):
        frozen.set_outcome("error", times=times)


def test_times_needs_an_outcome(frozen: Emulator) -> None:
    with pytest.raises(ValueError, match="times needs an outcome"):
        frozen.set_outcome(None, times=1)


# -- can_retry and retry_not_supported_reason ----------------------------------------------------------------------


def test_only_a_run_that_ended_in_error_can_be_retried(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    queued = trigger(fapi, job_id)["id"]
    assert reason(fapi, queued) == (False, "RETRY_NOT_FAILED_RUN")
    frozen.advance(70)
    assert reason(fapi, queued) == (False, "RETRY_NOT_FAILED_RUN")  # it succeeded
    frozen.set_outcome("error")
    cancelled = trigger(fapi, job_id)["id"]
    fapi.post(f"/runs/{cancelled}/cancel/")
    assert reason(fapi, cancelled) == (False, "RETRY_NOT_FAILED_RUN")
    failed = finished(frozen, fapi, job_id)
    assert reason(fapi, failed) == (True, None)


@pytest.mark.parametrize("outcome", ["deps_error", "connect_error"])
def test_a_run_that_left_no_run_results_cannot_be_retried(frozen: Emulator, fapi: httpx.Client, outcome: str) -> None:
    frozen.set_outcome(outcome)
    run_id = finished(frozen, fapi, frozen.ci_job_id or 0)
    assert reason(fapi, run_id) == (False, "RETRY_NO_RUN_RESULTS")


def test_a_run_missing_its_run_results_cannot_be_retried(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("error")
    frozen.set_artifacts_missing(["run_results.json"])
    assert reason(fapi, finished(frozen, fapi, frozen.ci_job_id or 0)) == (False, "RETRY_NO_RUN_RESULTS")


def test_a_run_of_a_job_with_a_later_run_cannot_be_retried(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    other = frozen.seed_job("Other")
    frozen.set_outcome("error")
    failed = finished(frozen, fapi, job_id)
    finished(frozen, fapi, other)  # a later run of another job changes nothing
    assert reason(fapi, failed) == (True, None)
    later = trigger(fapi, job_id)["id"]  # still queued: any status counts
    assert reason(fapi, failed) == (False, "RETRY_NOT_LATEST_RUN")
    fapi.post(f"/runs/{later}/cancel/")
    assert reason(fapi, failed) == (False, "RETRY_NOT_LATEST_RUN")
    listed = fapi.get("/runs/", params={"job_definition_id": job_id}).json()["data"]
    assert {r["id"]: r["retry_not_supported_reason"] for r in listed} == {
        failed: "RETRY_NOT_LATEST_RUN",
        later: "RETRY_NOT_FAILED_RUN",
    }


def test_no_run_results_is_said_before_not_latest(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("deps_error")
    job_id = frozen.ci_job_id or 0
    failed = finished(frozen, fapi, job_id)
    trigger(fapi, job_id)
    assert reason(fapi, failed) == (False, "RETRY_NO_RUN_RESULTS")


# -- POST /runs/{id}/retry/ ----------------------------------------------------------------------------------------


def test_a_retry_queues_a_run_of_the_same_job_with_the_same_trigger(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_outcome("transient_error", job_id=job_id, times=1)
    failed = finished(frozen, fapi, job_id, **PR_TRIGGER)
    response = fapi.post(f"/runs/{failed}/retry/")
    assert response.status_code == 200, response.text
    assert [problem for problem in spec_problems(response, RETRY_PATH, "post") if problem not in THIN_JOB] == []
    new = response.json()["data"]
    assert new["id"] > failed
    assert (new["job_definition_id"], new["status"], new["job"]["id"]) == (job_id, 1, job_id)
    assert new["trigger"]["cause"] == f"Retry of run {failed}"
    assert {key: new["trigger"][key] for key in PR_TRIGGER} == PR_TRIGGER
    original = run(fapi, failed, include_related='["trigger"]')
    assert original["trigger"]["cause"] == "test"  # the failed run is as it was
    assert original["retrying_run_id"] is None
    assert (original["can_retry"], original["retry_not_supported_reason"]) == (False, "RETRY_NOT_LATEST_RUN")
    frozen.advance(70)
    done = run(fapi, new["id"], include_related='["run_steps"]')
    # An ordinary run: the transient failure does not recur, its steps are the job's, its profile in the PR's schema.
    assert (done["status"], done["git_sha"], done["git_branch"]) == (10, "a" * 40, "feature")
    assert done["run_steps"][-1]["name"] == "Invoke dbt with `dbt build --select state:modified+`"
    assert "override schema to 'dbt_cloud_pr_1001_12'" in done["run_steps"][1]["name"]


def test_a_retry_follows_the_outcome_rules_as_any_run(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("error", git_sha="broken")
    failed = finished(frozen, fapi, frozen.ci_job_id or 0, git_sha="broken")
    again = retried(fapi, failed)["id"]
    frozen.advance(70)
    assert statuses(frozen)[again] == 20
    assert reason(fapi, again) == (True, None)
    assert retried(fapi, again)["trigger"]["cause"] == f"Retry of run {again}"


def test_a_retry_can_lose_the_failed_runs_trigger_fields(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("error", times=1)
    frozen.set_retry_trigger(False)
    failed = finished(frozen, fapi, frozen.ci_job_id or 0, **PR_TRIGGER)
    new = retried(fapi, failed)
    assert new["trigger"]["cause"] == f"Retry of run {failed}"
    assert {key: new["trigger"][key] for key in PR_TRIGGER} == dict.fromkeys(PR_TRIGGER)
    frozen.advance(70)
    done = run(fapi, new["id"], include_related='["run_steps"]')
    assert done["git_sha"] != "a" * 40 and done["git_branch"] == "main"  # the job's default branch, not the PR's
    assert "override schema" not in done["run_steps"][1]["name"]
    assert admin(frozen, "POST", "retry_trigger", {"keeps": True}).status_code == 200
    frozen.set_outcome("error", times=1)
    kept = retried(fapi, finished(frozen, fapi, frozen.ci_job_id or 0, **PR_TRIGGER))
    assert {key: kept["trigger"][key] for key in PR_TRIGGER} == PR_TRIGGER


@pytest.mark.parametrize("keeps", [None, 1, "false"])
def test_the_retry_trigger_knob_takes_a_boolean(frozen: Emulator, keeps: Any) -> None:
    with pytest.raises(ValueError, match="keeps"):
        frozen.set_retry_trigger(keeps)
    assert admin(frozen, "POST", "retry_trigger", {"keeps": keeps}).status_code == 400


def test_a_run_that_cannot_be_retried_gets_a_400_naming_why(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    succeeded = finished(frozen, fapi, job_id)
    frozen.set_outcome("connect_error", times=1)
    refused = finished(frozen, fapi, job_id)
    frozen.set_outcome("error", times=1)
    failed = finished(frozen, fapi, job_id)
    trigger(fapi, job_id)
    for run_id, why in ((succeeded, "RETRY_NOT_FAILED_RUN"), (refused, "RETRY_NO_RUN_RESULTS")):
        body = envelope(fapi.post(f"/runs/{run_id}/retry/"), 400)
        assert body["status"]["user_message"] == f"Run {run_id} cannot be retried: {why}."
    body = envelope(fapi.post(f"/runs/{failed}/retry/"), 400)
    assert body["status"]["user_message"] == f"Run {failed} cannot be retried: RETRY_NOT_LATEST_RUN."
    assert len(frozen.runs()) == 4  # nothing queued


def test_an_unknown_run_is_a_404_as_on_the_other_run_endpoints(frozen: Emulator, fapi: httpx.Client) -> None:
    retry = envelope(fapi.post("/runs/999999/retry/"), 404)
    cancel = envelope(fapi.post("/runs/999999/cancel/"), 404)
    assert retry["status"]["user_message"] == cancel["status"]["user_message"] == "Run 999999 not found."


def test_a_retry_is_refused_as_a_trigger_of_its_job_would_be(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_outcome("error")
    failed = finished(frozen, fapi, job_id)
    frozen.set_account(locked=True, lock_reason="Payment overdue")
    locked = envelope(fapi.post(f"/runs/{failed}/retry/"), 403)
    assert locked["status"] == envelope(fapi.post(f"/jobs/{job_id}/run/", json={"cause": "x"}), 403)["status"]
    frozen.set_account(locked=False, lock_reason=None)
    assert fapi.delete(f"/jobs/{job_id}/").status_code == 200
    deleted = envelope(fapi.post(f"/runs/{failed}/retry/"), 404)
    assert deleted["status"] == envelope(fapi.post(f"/jobs/{job_id}/run/", json={"cause": "x"}), 404)["status"]
    assert len(frozen.runs()) == 1


def test_a_job_runner_token_may_not_retry() -> None:
    config = EmulatorConfig(tokens={"runner": "runner"}, speed=0, start_seconds=10, run_seconds=60)
    with Emulator(config) as emu, client(emu, "runner") as runner:
        emu.set_outcome("error")
        run_id = trigger(runner, emu.ci_job_id or 0)["id"]
        emu.advance(70)
        assert reason(runner, run_id) == (True, None)
        envelope(runner.post(f"/runs/{run_id}/retry/"), 403)
