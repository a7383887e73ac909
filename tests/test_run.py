from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from autoscale_ci.rules.markers import clone_marker
from autoscale_ci.run import main
from tests.builders import JOB, SHA_A, SHA_B, TOKEN, account, envelope, failure, job, no_overrides, run
from tests.conftest import pr_event, read_outputs

CLONE_ID = 900
CLONE_NAME = f"CI{clone_marker(JOB, 7)}"


# The job's own pull request trigger off, as the action asks.
PR_TRIGGER_OFF = {"github_webhook": False, "schedule": True, "git_provider_webhook": False, "on_merge": False}


def dbt_cloud(
    api: respx.MockRouter, *, active: list[dict[str, object]], slots: int = 3, **account_extra: object
) -> None:
    """Reads for the snapshot, and a run that goes from queued to success."""
    api.get("/").respond(json=envelope(account(slots, **account_extra)))
    api.get(f"/jobs/{JOB}/").respond(json=envelope(job(triggers=PR_TRIGGER_OFF)))
    api.get("/runs/", params={"status__in": "[1,2,3]"}).respond(json=envelope(active))
    api.get("/runs/", params={"status__in": "[10,20]"}).respond(json=envelope([]))  # no history
    api.get(url__regex=r".*/artifacts/.*").respond(404, json=failure(404, "Not found"))
    no_overrides(api)
    for job_id in (JOB, CLONE_ID):
        api.post(f"/jobs/{job_id}/run/").respond(json=envelope(run(500, job_id=job_id, status=1, pr=7, sha=SHA_A)))
    api.get("/runs/500/").respond(json=envelope(run(500, status=10, pr=7, sha=SHA_A)))
    api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
    api.delete(f"/jobs/{CLONE_ID}/").respond(204)
    api.post(url__regex=r".*/runs/\d+/cancel/$").mock(
        side_effect=lambda request: httpx.Response(
            200, json=envelope(run(int(request.url.path.split("/")[-3]), status=30))
        )
    )


OVERRIDES = "GET /projects/10/environment-variables/job/"
JOB_READ = f"GET /jobs/{JOB}/"


def made(api: respx.MockRouter) -> list[str]:
    """The requests made, in order, without the base path and without the account and job reads and the job's
    overrides read, which go out with the runs read (the overrides when the job is busy) and land whenever they do."""
    calls = [f"{c.request.method} {c.request.url.path.split('/accounts/1', 1)[1]}" for c in api.calls]
    assert calls.count("GET /") == 1
    assert calls.count(JOB_READ) == 1  # the job's own definition, read beside the runs: a clone is made from it
    assert calls.count(OVERRIDES) <= 1
    return [call for call in calls if call not in ("GET /", JOB_READ, OVERRIDES)]


SNAPSHOT = ["GET /runs/"]
# The job's recent run times, the run itself, then its results for the summary.
WAIT = ["GET /runs/", "GET /runs/500/", "GET /runs/500/artifacts/run_results.json"]


def test_idle_job_plain_trigger(
    api: respx.MockRouter, action_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    dbt_cloud(api, active=[run(1, job_id=5, pr=None)])
    assert main() == 0
    assert made(api) == [*SNAPSHOT, f"POST /jobs/{JOB}/run/", *WAIT]
    trigger = next(c.request for c in api.calls if c.request.method == "POST")
    body = json.loads(trigger.content)
    assert body.pop("cause").startswith("Autoscaling Slim CI: PR #7 @ aaaaaaa [pushed ")
    assert body == {
        "git_sha": SHA_A,
        "github_pull_request_id": 7,
        "schema_override": f"dbt_cloud_pr_{JOB}_7",
    }
    outputs = read_outputs(action_env["output"])
    assert outputs == {
        "decision": "plain-trigger",
        "run-id": "500",
        "attempts": "1",
        "run-url": "https://cloud.getdbt.com/deploy/1/projects/10/runs/500/",
        "run-status": "success",
        "job-id": str(JOB),
        "cloned-job-id": "",
        "cancelled-run-ids": "",
        "failed-nodes": "",
        "nodes-summary": "",
        "comment-url": "",
    }
    summary = action_env["summary"].read_text(encoding="utf-8")
    assert "plain-trigger" in summary and "#7" in summary and "aaaaaaa" in summary and "success" in summary
    assert "::notice::dbt Cloud run 500" in capsys.readouterr().out


def test_new_commit_cancels_every_stale_run_and_retriggers(api: respx.MockRouter, action_env: dict[str, Path]) -> None:
    stale = [run(3, pr=7, sha=SHA_B), run(4, job_id=CLONE_ID, pr=7, sha=SHA_B, job_name=CLONE_NAME)]
    others = [run(5, job_id=6, pr=7, sha=SHA_B), run(6, job_id=JOB, status=1, pr=8, sha=SHA_B)]
    dbt_cloud(api, active=stale + others, slots=10)
    assert main() == 0
    # Run 6 (PR #8) keeps the job busy, so the new commit runs on a clone; the clone is made first so that a
    # token that may not create jobs leaves the stale runs alone, then the cancels go out with the trigger.
    calls = made(api)
    assert calls[:2] == [*SNAPSHOT, "POST /jobs/"]
    assert sorted(calls[2:5]) == sorted(["POST /runs/3/cancel/", "POST /runs/4/cancel/", f"POST /jobs/{CLONE_ID}/run/"])
    assert calls[5:] == [*WAIT, f"DELETE /jobs/{CLONE_ID}/"]
    outputs = read_outputs(action_env["output"])
    assert outputs["decision"] == "cancel-and-retrigger"
    assert outputs["cancelled-run-ids"] == "3,4"


def test_busy_job_with_free_slot_clones(api: respx.MockRouter, action_env: dict[str, Path]) -> None:
    dbt_cloud(api, active=[run(6, pr=8, sha=SHA_B)], slots=2)
    assert main() == 0
    overrides_read = [c.request for c in api.calls if c.request.url.path.endswith("/environment-variables/job/")]
    assert [r.url.params["job_definition_id"] for r in overrides_read] == [str(JOB)]
    assert made(api) == [*SNAPSHOT, "POST /jobs/", f"POST /jobs/{CLONE_ID}/run/", *WAIT, f"DELETE /jobs/{CLONE_ID}/"]
    outputs = read_outputs(action_env["output"])
    assert (outputs["decision"], outputs["cloned-job-id"], outputs["job-id"]) == (
        "clone-and-trigger",
        str(CLONE_ID),
        str(CLONE_ID),
    )


def test_no_free_slot_plain_trigger_queues(api: respx.MockRouter, action_env: dict[str, Path]) -> None:
    dbt_cloud(api, active=[run(6, pr=8, sha=SHA_B), run(9, job_id=5)], slots=2)
    assert main() == 0
    assert made(api) == [*SNAPSHOT, f"POST /jobs/{JOB}/run/", *WAIT]
    assert "queues" in action_env["summary"].read_text(encoding="utf-8")


def test_same_commit_in_flight_is_followed(api: respx.MockRouter, action_env: dict[str, Path]) -> None:
    dbt_cloud(api, active=[run(500, pr=7, sha=SHA_A)])
    assert main() == 0
    assert made(api) == [*SNAPSHOT, "GET /runs/500/", "GET /runs/500/artifacts/run_results.json"]
    assert read_outputs(action_env["output"])["decision"] == "follow"


def test_closed_pr_makes_no_request(
    api: respx.MockRouter, action_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    action_env["event.json"].write_text(json.dumps(pr_event(state="closed")), encoding="utf-8")
    assert main() == 0
    assert api.calls.call_count == 0
    assert "::notice::Nothing to run: PR #7 is closed" in capsys.readouterr().out
    assert read_outputs(action_env["output"])["run-status"] == "skipped"


def test_failed_run_exits_1_with_an_error_line(
    api: respx.MockRouter, action_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    dbt_cloud(api, active=[])
    api.get("/runs/500/").respond(json=envelope(run(500, status=20, status_message="Compilation Error")))
    assert main() == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "Compilation Error" in errors[0]
    assert read_outputs(action_env["output"])["run-status"] == "error"


@pytest.mark.parametrize(
    ("inputs", "names"),
    [
        ({"INPUT_DBT-CLOUD-TOKEN": ""}, ["dbt-cloud-token"]),
        ({"INPUT_JOB-ID": "abc", "INPUT_ACCOUNT-ID": "-1"}, ["account-id", "job-id"]),
        ({"INPUT_DBT-CLOUD-HOST": "http://cloud.getdbt.com"}, ["dbt-cloud-host"]),
        ({"INPUT_STEPS-OVERRIDE": "dbt run\n; curl evil"}, ["steps-override"]),
    ],
)
def test_bad_inputs_fail_before_any_request(
    api: respx.MockRouter,
    action_env: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    inputs: dict[str, str],
    names: list[str],
) -> None:
    for key, value in inputs.items():
        monkeypatch.setenv(key, value)
    assert main() == 1
    assert api.calls.call_count == 0
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == len(names)
    for line, name in zip(errors, names, strict=True):
        assert f"title=Invalid input::Input '{name}' " in line  # named once, in the message


def test_non_pr_event_is_one_clear_error(
    api: respx.MockRouter,
    action_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    assert main() == 1
    assert api.calls.call_count == 0
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "'push' event" in errors[0]


@pytest.mark.parametrize(("status", "says"), [(401, "unexpired token"), (403, "no access to account 1"), (404, "EMEA")])
def test_dbt_cloud_refusals_are_one_error_and_change_nothing(
    api: respx.MockRouter, action_env: dict[str, Path], capsys: pytest.CaptureFixture[str], status: int, says: str
) -> None:
    api.route().respond(status, json=failure(status, "Refused"))  # a bad token or account fails every request
    assert main() == 1
    assert all(call.request.method == "GET" for call in api.calls)
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert says in errors[0]
    assert "https://cloud.getdbt.com" in errors[0]


def test_locked_account_changes_nothing(
    api: respx.MockRouter, action_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    dbt_cloud(api, active=[run(3, pr=7, sha=SHA_B)], locked=True, lock_reason="Trial ended")
    api.post(f"/jobs/{JOB}/run/").respond(403, json=failure(403, "Account locked"))
    assert main() == 1
    # The account is read before anything is written: nothing is triggered, the stale run is left alone.
    assert [call.request.method for call in api.calls if call.request.method != "GET"] == []
    assert "Trial ended" in capsys.readouterr().out


def test_an_idle_job_on_a_locked_account_is_one_error_and_no_trigger(
    api: respx.MockRouter, action_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    dbt_cloud(api, active=[], locked=True, lock_reason="Trial ended")
    trigger = api.post(f"/jobs/{JOB}/run/").respond(403, json=failure(403, "Account locked"))
    assert main() == 1
    assert trigger.call_count == 0
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert "locked (Trial ended)" in errors[0]


def test_job_of_another_account_is_refused_before_cloning(
    api: respx.MockRouter, action_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    dbt_cloud(api, active=[run(6, pr=8, sha=SHA_B)])
    api.get(f"/jobs/{JOB}/").respond(json=envelope(job(account_id=2)))
    assert main() == 1
    assert all(call.request.method == "GET" for call in api.calls)
    assert "belongs to account 2" in capsys.readouterr().out


def test_a_deleted_job_is_refused_before_cloning(
    api: respx.MockRouter, action_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    dbt_cloud(api, active=[run(6, pr=8, sha=SHA_B)])
    api.get(f"/jobs/{JOB}/").respond(json=envelope({**job(), "state": 2}))  # a soft delete: still readable
    assert main() == 1
    assert all(call.request.method == "GET" for call in api.calls)
    assert f"Job {JOB} was deleted in dbt Cloud: set job-id" in capsys.readouterr().out


def test_token_only_appears_in_the_mask_command(
    api: respx.MockRouter,
    action_env: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dbt_cloud(api, active=[run(6, pr=8, sha=SHA_B)])
    assert main() == 0
    monkeypatch.setenv("INPUT_JOB-ID", "x")
    assert main() == 1
    printed = capsys.readouterr().out.splitlines()
    assert [line for line in printed if TOKEN in line] == [f"::add-mask::{TOKEN}"] * 2
    for name in ("output", "summary", "state"):
        assert TOKEN not in action_env[name].read_text(encoding="utf-8")


def test_state_records_run_and_clone_for_the_post_step(api: respx.MockRouter, action_env: dict[str, Path]) -> None:
    dbt_cloud(api, active=[run(6, pr=8, sha=SHA_B)])
    assert main() == 0
    lines = action_env["state"].read_text(encoding="utf-8").splitlines()
    # Run and clone are recorded as soon as they exist and cleared once settled: nothing is left for the post step.
    names = [line.split("<<")[0] for line in lines if "<<" in line]
    assert names == ["clone_job_id", "run_id", "run_id", "clone_job_id"]
    assert read_outputs(action_env["state"]) == {"clone_job_id": "", "run_id": ""}


def test_empty_token_on_a_fork_pr_explains_withheld_secrets(
    api: respx.MockRouter,
    action_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fork = pr_event(head={"sha": SHA_A, "ref": "patch-1", "repo": {"id": 2}})
    action_env["event.json"].write_text(json.dumps(fork), encoding="utf-8")
    monkeypatch.setenv("INPUT_DBT-CLOUD-TOKEN", "")
    assert main() == 1
    assert api.calls.call_count == 0
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert "comes from a fork" in errors[0]
    assert "pull_request_target" in errors[0]


def test_empty_token_on_a_same_repo_pr_is_a_plain_missing_input(
    api: respx.MockRouter,
    action_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("INPUT_DBT-CLOUD-TOKEN", "")
    assert main() == 1
    out = capsys.readouterr().out
    assert "is required" in out
    assert "fork" not in out


@pytest.mark.parametrize(("triggers", "warned"), [({"github_webhook": True}, True), ({"github_webhook": False}, False)])
def test_job_with_its_own_pr_trigger_is_warned_about(
    api: respx.MockRouter,
    action_env: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    triggers: dict[str, bool],
    warned: bool,
) -> None:
    dbt_cloud(api, active=[])
    api.get(f"/jobs/{JOB}/").respond(json=envelope(job(triggers={**triggers, "schedule": False})))
    assert main() == 0
    assert ("Duplicate CI runs" in capsys.readouterr().out) is warned


def test_an_unexpected_failure_never_shows_a_part_of_the_token(
    api: respx.MockRouter, action_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    api.get("/runs/").mock(side_effect=RuntimeError("x" * 285 + f"Token {TOKEN} rejected"))
    api.get("/").respond(json=envelope(account()))
    assert main() == 1
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert "Unexpected failure (RuntimeError" in errors[0]
    assert TOKEN[:8] not in errors[0]


def test_a_success_that_built_nothing_passes_with_a_warning(
    api: respx.MockRouter, action_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    api.get("/runs/500/artifacts/run_results.json").respond(json={"results": []})  # `state:modified+` found nothing
    dbt_cloud(api, active=[])
    assert main() == 0
    printed = capsys.readouterr().out.splitlines()
    # The host is the legacy one, which has a warning of its own (test_hosts); the run's is the other.
    warnings = [line for line in printed if line.startswith("::warning") and "dbt Cloud host" not in line]
    assert len(warnings) == 1
    assert "succeeded but built nothing" in warnings[0]
    assert "deferral" in warnings[0]
    assert read_outputs(action_env["output"])["run-status"] == "success"
    assert "built nothing" in action_env["summary"].read_text(encoding="utf-8")


def test_a_bad_github_token_is_masked_before_it_is_checked(
    action_env: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INPUT_GITHUB-TOKEN", "ghp_SuperSecretValue123 x")
    assert main() == 1
    printed = capsys.readouterr().out.splitlines()
    assert [line for line in printed if "SuperSecret" in line] == ["::add-mask::ghp_SuperSecretValue123 x"]
    assert "SuperSecret" not in action_env["summary"].read_text(encoding="utf-8")
