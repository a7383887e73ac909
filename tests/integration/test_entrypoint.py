"""The real entrypoint, run as the runner runs it, against the emulator: every decision path end to end.

Runs that a test needs in flight are held (`emu.hold`) until the test releases or cancels them, and every wait is
on a state being reached: no outcome here depends on how fast a process starts or a request is answered.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from autoscale_ci.rules.clone_body import WRITABLE_FIELDS
from dbt_cloud_emulator import Emulator, caller_id
from tests.harness import ROOT, pr_event, wait_for
from tests.integration.conftest import StepFactory, requests_of, run_of, trigger, writes_of

SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40


def active_run(emu: Emulator, pr: int, sha: str) -> dict[str, Any] | None:
    """The active run for PR `pr` at `sha`, if there is one."""
    for run in emu.runs():
        trigger_ = run["trigger"]
        if trigger_["github_pull_request_id"] == pr and trigger_["git_sha"] == sha and run["status"] in (1, 2, 3):
            return run
    return None


def wait_for_active(emu: Emulator, pr: int, sha: str) -> dict[str, Any]:
    """Block until a step has triggered a run for PR `pr` at `sha` (hold it first to keep it active)."""
    wait_for(lambda: active_run(emu, pr, sha), what=f"an active run for PR #{pr} at {sha[:7]}")
    run = active_run(emu, pr, sha)
    assert run is not None
    return run


def wait_for_poll(emu: Emulator, run_id: int) -> None:
    """Block until some step has read run `run_id` by itself, as a step waiting on it does."""
    wait_for(
        lambda: any(e["method"] == "GET" and e["path"].endswith(f"/runs/{run_id}/") for e in emu.requests()),
        what=f"a step reading run {run_id}",
    )


def test_idle_job_is_triggered_and_waited_for(emu: Emulator, step: StepFactory) -> None:
    action = step(7, SHA_A)
    done = action.run()
    assert done.returncode == 0, done.stdout
    made = requests_of(emu, action)
    # The account and the job are read alongside the runs, but on an idle job the trigger waits for neither.
    for beside in ("GET /", f"GET /jobs/{emu.ci_job_id}/"):
        assert made.count(beside) == 1
        made.remove(beside)
    assert made[:2] == ["GET /runs/", f"POST /jobs/{emu.ci_job_id}/run/"]
    assert made[2] == "GET /runs/"  # the job's recent run times, to time the checks
    run_path = "GET /runs/{}/".format(done.outputs["run-id"])
    assert set(made[3:-1]) == {run_path}
    assert made[-1] == f"{run_path}artifacts/run_results.json"  # the results for the summary
    assert done.outputs["decision"] == "plain-trigger"
    assert done.outputs["run-status"] == "success"
    run = run_of(emu, int(done.outputs["run-id"]))
    assert run["trigger"]["git_sha"] == SHA_A  # the PR head, not GITHUB_SHA
    assert run["trigger"]["github_pull_request_id"] == 7
    assert run["trigger"]["schema_override"] == f"dbt_cloud_pr_{emu.ci_job_id}_7"
    assert "### ✅ dbt Cloud CI: success" in done.summary


def test_a_job_that_does_not_exist_is_never_called_a_decision(emu: Emulator, step: StepFactory) -> None:
    action = step(7, SHA_A)
    action.env["INPUT_JOB-ID"] = "9999"
    done = action.run()
    assert done.returncode == 1
    assert not any(line.startswith("Decision:") for line in done.stdout.splitlines()), done.stdout
    errors = done.lines("::error")
    assert len(errors) == 1
    assert "job-id 9999" in errors[0]
    idle = step(8, SHA_B).run()
    assert f"Decision: plain-trigger: job {emu.ci_job_id} is idle." in idle.stdout.splitlines()  # once accepted


def test_busy_job_with_a_free_slot_is_cloned_and_the_clone_deleted_after_its_run(
    emu: Emulator, step: StepFactory
) -> None:
    emu.hold(git_sha=SHA_B)
    other = trigger(emu, 8, SHA_B)
    action = step(7, SHA_A, wait="false")
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "clone-and-trigger"
    clone_id = int(done.outputs["cloned-job-id"])
    assert writes_of(emu, action) == ["POST /jobs/", f"POST /jobs/{clone_id}/run/", f"DELETE /jobs/{clone_id}/"]
    assert done.outputs["job-id"] == str(clone_id)
    clone = next(job for job in emu.jobs() if job["id"] == clone_id)
    assert clone["state"] == 2  # deleted
    assert clone["triggers"]["github_webhook"] is False
    assert re.search(rf"\[autoscale {emu.ci_job_id} PR #7 [0-9a-f]{{6}}\]$", clone["name"])
    # deleted only after its run had finished: the run succeeded, it was not cancelled by the delete
    assert run_of(emu, int(done.outputs["run-id"]))["status"] == 10
    assert run_of(emu, other["id"])["status"] in (1, 2, 3)  # the other PR's run was left alone


@pytest.mark.parametrize("stale", [False, True])
def test_a_job_runner_token_on_a_busy_job_queues_on_the_job_with_one_warning(
    emu: Emulator, step: StepFactory, stale: bool
) -> None:
    emu.hold(git_sha=SHA_B)
    emu.hold(git_sha=SHA_C)
    trigger(emu, 8, SHA_B)  # another PR keeps the job busy; a slot is free, so the action tries to clone
    old = trigger(emu, 7, SHA_C) if stale else None
    action = step(7, SHA_A, wait="false", job_runner=True)
    done = action.run()
    assert done.returncode == 0, done.stdout
    warnings = [line for line in done.lines("::warning") if "title=Clone not allowed" in line]
    assert len(warnings) == 1, done.stdout
    assert "answered 403" in warnings[0]
    assert "Job Admin" in warnings[0]
    assert "clone: false" in warnings[0]
    expected = [f"POST /jobs/{emu.ci_job_id}/run/"] + ([f"POST /runs/{old['id']}/cancel/"] if old else [])
    writes = writes_of(emu, action)
    assert writes[0] == "POST /jobs/"  # refused, and asked before anything was cancelled
    assert sorted(writes[1:]) == sorted(expected)
    assert done.outputs["decision"] == ("cancel-and-retrigger" if stale else "plain-trigger")
    assert (done.outputs["job-id"], done.outputs["cloned-job-id"]) == (str(emu.ci_job_id), "")
    assert done.outputs["run-status"] == "queued"
    assert "refused the clone" in done.summary
    assert [job["id"] for job in emu.jobs()] == [emu.ci_job_id]  # no clone was made
    if old:
        assert run_of(emu, old["id"])["status"] == 30


def test_clone_false_never_clones_a_busy_job(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=SHA_B)
    trigger(emu, 8, SHA_B)
    # No GitHub answers here: with the comment on, asking it would be a warning of its own.
    action = step(7, SHA_A, wait="false", clone="false", **{"pr-comment": "never"})
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert writes_of(emu, action) == [f"POST /jobs/{emu.ci_job_id}/run/"]
    assert done.outputs["decision"] == "plain-trigger"
    assert "cloning is off (clone: false)" in done.summary
    assert done.lines("::warning") == []


def test_a_clone_the_token_may_not_delete_is_a_warning_naming_it(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=SHA_B)
    trigger(emu, 8, SHA_B)
    emu.inject(403, count=5, method="DELETE", path=r"/jobs/\d+/$")
    action = step(7, SHA_A)
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["run-status"] == "success"
    clone_id = done.outputs["cloned-job-id"]
    warnings = [line for line in done.lines("::warning") if f"Could not delete clone job {clone_id}" in line]
    assert len(warnings) == 1, done.stdout
    assert done.lines("::error") == []
    assert done.state.get("clone_job_id") == clone_id  # still recorded, so the post step tries again


def test_new_commit_cancels_the_stale_run_and_retriggers(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=SHA_B)
    stale = trigger(emu, 7, SHA_B)
    other_job = emu.seed_job(name="Nightly", job_type="scheduled")
    other = trigger(emu, 7, SHA_B, job_id=other_job)  # same PR number, another job: never touched
    action = step(7, SHA_A)
    done = action.run()
    assert done.returncode == 0, done.stdout
    # The cancel goes out with the trigger; the new run waits for the stale one to stop.
    assert sorted(writes_of(emu, action)) == [f"POST /jobs/{emu.ci_job_id}/run/", f"POST /runs/{stale['id']}/cancel/"]
    assert done.outputs["decision"] == "cancel-and-retrigger"
    assert done.outputs["cancelled-run-ids"] == str(stale["id"])
    assert run_of(emu, stale["id"])["status"] == 30
    assert run_of(emu, other["id"])["status"] in (1, 2, 3)


def test_no_free_slot_queues_on_the_job(emu: Emulator, step: StepFactory) -> None:
    emu.set_account(run_slots=1)
    emu.hold(git_sha=SHA_B)
    trigger(emu, 8, SHA_B)
    action = step(7, SHA_A, wait="false")
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert writes_of(emu, action) == [f"POST /jobs/{emu.ci_job_id}/run/"]
    assert done.outputs["decision"] == "plain-trigger"
    assert done.outputs["run-status"] == "queued"
    assert "queues" in done.summary


def test_same_commit_in_flight_is_followed(emu: Emulator, step: StepFactory) -> None:
    running = trigger(emu, 7, SHA_A)
    emu.hold(run_id=running["id"])
    action = step(7, SHA_A).start()
    wait_for_poll(emu, running["id"])
    emu.release(run_id=running["id"])
    done = action.wait()
    assert done.returncode == 0, done.stdout
    assert writes_of(emu, action) == []
    assert (done.outputs["decision"], done.outputs["run-id"]) == ("follow", str(running["id"]))


def test_closed_pr_makes_no_request(emu: Emulator, step: StepFactory) -> None:
    action = step(7, SHA_A, event=pr_event(7, SHA_A, state="closed"))
    done = action.run()
    assert done.returncode == 0
    assert requests_of(emu, action) == []
    assert done.outputs["decision"] == "skip"


def test_failed_dbt_run_fails_the_step_and_the_summary_shows_what_failed(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    action = step(7, SHA_A, artifacts="run_results.json manifest.json catalog.json", **{"artifacts-path": "out/dbt"})
    done = action.run()
    assert done.returncode == 1
    run_errors = [line for line in done.lines("::error") if "title=dbt Cloud run error" in line]
    assert len(run_errors) == 1
    assert f"dbt Cloud run {done.outputs['run-id']} failed" in run_errors[0]
    assert done.outputs["run-status"] == "error"
    node_errors = [line for line in done.lines("::error") if "title=model stg_orders%3A error" in line]
    assert node_errors  # the failed model is annotated with its message
    assert "#### dbt results" in done.summary
    assert "| error |" in done.summary
    # Artifacts are fetched after a failed run too; one the run did not produce is a warning, not a failure.
    saved = action.workdir / "out" / "dbt"
    assert json.loads((saved / "run_results.json").read_text(encoding="utf-8"))["results"]
    assert (saved / "manifest.json").exists()
    assert any("catalog.json" in line for line in done.lines("::warning"))


def test_with_docs_generated_the_summary_reports_the_build_not_the_docs_step(emu: Emulator, step: StepFactory) -> None:
    admin = httpx.Client(
        base_url=f"{emu.url}/api/v2/accounts/{emu.account_id}", headers={"Authorization": f"Token {emu.token}"}
    )
    with admin:
        job = admin.get(f"/jobs/{emu.ci_job_id}/").raise_for_status().json()["data"]
        body = {key: job[key] for key in WRITABLE_FIELDS if job.get(key) is not None}
        update = {**body, "id": emu.ci_job_id, "generate_docs": True}
        admin.post(f"/jobs/{emu.ci_job_id}/", json=update).raise_for_status()
    emu.set_outcome("error", git_sha=SHA_A)
    action = step(7, SHA_A, artifacts="catalog.json")
    done = action.run()
    assert done.returncode == 1
    # The last step is `dbt docs generate`, whose results mark every node a success; the build's are read instead.
    assert any("title=model stg_orders%3A error" in line for line in done.lines("::error"))
    assert "| error |" in done.summary
    assert (action.workdir / "target" / "catalog.json").exists()  # from the last step, where docs are generated


def test_superseded_run_is_a_warning_not_a_failure(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=SHA_A)
    pushed = datetime.now(UTC)
    first = step(7, SHA_A, event=pr_event(7, SHA_A, updated_at=pushed)).start()
    wait_for_active(emu, 7, SHA_A)
    second = step(7, SHA_B, event=pr_event(7, SHA_B, updated_at=pushed + timedelta(minutes=1))).run()
    old = first.wait()
    assert second.returncode == 0, second.stdout
    assert second.outputs["decision"] == "cancel-and-retrigger"
    assert old.returncode == 0, old.stdout
    assert old.outputs["run-status"] == "superseded"
    assert any("bbbbbbb" in line for line in old.lines("::warning"))


def test_a_head_run_cancelled_by_a_manual_run_of_an_older_commit_fails(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=SHA_B)
    head = step(7, SHA_B).start()
    wait_for_active(emu, 7, SHA_B)
    manual = step(7, SHA_A, event={"inputs": {"pr-number": "7", "git-sha": SHA_A}})
    manual.env["GITHUB_EVENT_NAME"] = "workflow_dispatch"
    assert manual.run().returncode == 0
    done = head.wait()
    assert done.returncode == 1  # the head commit was never tested: its check must not pass
    assert done.outputs["run-status"] == "cancelled"


def test_a_follower_stops_when_its_pr_is_closed_meanwhile(emu: Emulator, step: StepFactory) -> None:
    owners = trigger(emu, 7, SHA_A)
    emu.hold(run_id=owners["id"])  # the closing step cancels it
    follower = step(7, SHA_A).start()
    wait_for_poll(emu, owners["id"])
    closing = step(7, SHA_A, event=pr_event(7, SHA_A, state="closed"), mode="cleanup").run()
    assert closing.returncode == 0, closing.stdout
    done = follower.wait()
    assert done.returncode == 0, done.stdout
    assert "was closed" in done.stdout
    schema_runs = [r for r in emu.runs() if (r["trigger"]["github_pull_request_id"] == 7)]
    assert [r["id"] for r in schema_runs] == [owners["id"]]  # nothing new was started for the closed PR


@pytest.mark.parametrize("signum", [2, 15])
def test_cancelled_workflow_cancels_its_run_and_deletes_its_clone(
    emu: Emulator, step: StepFactory, signum: int
) -> None:
    emu.hold()  # every run: the other PR's keeps the job busy, this one's stays in flight until cancelled
    trigger(emu, 8, SHA_B)
    # A step that only noticed the signal at its next poll would take ten minutes; the runner allows 7.5 s
    # between SIGINT and SIGTERM (and 2.5 s more before it kills), so that is the bound, with margin to spare.
    action = step(7, SHA_A, **{"poll-interval": "600"}).start()
    run = wait_for_active(emu, 7, SHA_A)
    started = time.monotonic()
    action.signal(signum)
    done = action.wait(timeout=60)
    took = time.monotonic() - started
    assert took < 7.5, f"the step took {took:.1f} s after the signal: the runner would have sent SIGTERM"
    assert done.returncode == 128 + signum
    assert run_of(emu, int(str(run["id"])))["status"] == 30
    clone = next(job for job in emu.jobs() if job["id"] == run["job_definition_id"])
    assert clone["state"] == 2


def test_a_late_workflow_for_an_older_commit_leaves_the_newer_run_alone(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=SHA_B)
    pushed = datetime.now(UTC)
    newer = step(7, SHA_B, event=pr_event(7, SHA_B, updated_at=pushed + timedelta(minutes=1))).start()
    run = wait_for_active(emu, 7, SHA_B)
    late = step(7, SHA_A, event=pr_event(7, SHA_A, updated_at=pushed))
    done = late.run()
    assert done.returncode == 0, done.stdout
    assert writes_of(emu, late) == []
    assert done.outputs["decision"] == "skip"
    assert any("pushed to PR #7 after this one" in line for line in done.lines("::notice"))
    emu.release(git_sha=SHA_B)
    assert newer.wait().returncode == 0
    assert run_of(emu, int(str(run["id"])))["status"] == 10


def test_post_step_cleans_up_after_a_killed_main_step_and_is_idempotent(emu: Emulator, step: StepFactory) -> None:
    emu.hold()
    trigger(emu, 8, SHA_B)
    action = step(7, SHA_A).start()
    run = wait_for_active(emu, 7, SHA_A)
    clone_id = int(str(run["job_definition_id"]))
    wait_for(
        lambda: "clone_job_id" in (action.workdir / "state").read_text(encoding="utf-8"),
        what="the step saving its clone's id to GITHUB_STATE",
    )
    action.signal(signal.SIGKILL)  # no handler runs: the runner's last resort
    action.wait(timeout=10)
    assert run_of(emu, int(str(run["id"])))["status"] in (1, 2, 3)
    done = action.post()
    assert done.returncode == 0, done.stdout
    assert run_of(emu, int(str(run["id"])))["status"] == 30
    assert next(job for job in emu.jobs() if job["id"] == clone_id)["state"] == 2
    before = len(emu.requests())
    again = action.post()
    assert again.returncode == 0
    assert f"Clone job {clone_id} was already gone." in again.stdout
    assert all(entry["method"] == "GET" or entry["status"] == 404 for entry in emu.requests()[before:])


def test_post_step_after_a_clean_main_step_does_nothing(emu: Emulator, step: StepFactory) -> None:
    action = step(7, SHA_A, wait="false")
    assert action.run().returncode == 0
    before = len(emu.requests())
    done = action.post()
    assert done.returncode == 0
    assert "Nothing to clean up." in done.stdout
    assert len(emu.requests()) == before


def test_cleanup_mode_deletes_idle_clones_only(emu: Emulator, step: StepFactory) -> None:
    idle = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id} PR #3]")
    busy = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id} PR #4]")
    other = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id + 1000 if emu.ci_job_id else 0} PR #3]")
    emu.hold(job_id=busy)
    trigger(emu, 4, SHA_B, job_id=busy)
    for job_id in (idle, busy, other):
        with emu.state.lock:
            emu.state.jobs[job_id]["created_at"] = "2026-01-01 00:00:00.000000+00:00"  # long ago
            emu.state.jobs[job_id]["updated_at"] = "2026-01-01 00:00:00.000000+00:00"
    action = step(3, SHA_A, event={"schedule": "0 3 * * *"}, mode="cleanup", **{"clone-max-age-minutes": "10"})
    action.env["GITHUB_EVENT_NAME"] = "schedule"
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert writes_of(emu, action) == [f"DELETE /jobs/{idle}/"]
    assert done.outputs == {"decision": "cleanup", "deleted-clone-ids": str(idle), "cancelled-run-ids": ""}
    states = {job["id"]: job["state"] for job in emu.jobs()}
    assert (states[idle], states[busy], states[other]) == (2, 1, 1)


def test_a_closed_pr_leaves_nothing_behind(emu: Emulator, step: StepFactory) -> None:
    clone = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id} PR #7 abc123]")
    other_clone = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id} PR #8]")
    on_job = trigger(emu, 7, SHA_A)
    on_clone = trigger(emu, 7, SHA_B, job_id=clone)
    other_pr = trigger(emu, 8, SHA_C, job_id=other_clone)
    for run in (on_job, on_clone, other_pr):
        emu.hold(run_id=run["id"])  # in flight until the step cancels them; the schema drop runs to its end
    action = step(7, SHA_B, event=pr_event(7, SHA_B, state="closed"), mode="cleanup")
    done = action.run()
    assert done.returncode == 0, done.stdout
    writes = writes_of(emu, action)
    # The drop first, so that a step following one of the PR's runs sees it as it sees the cancel; the cancels go
    # out together; the clone goes last.
    assert writes[0] == f"POST /jobs/{emu.ci_job_id}/run/"  # the schema drop, nothing else
    assert sorted(writes[1:3]) == sorted([f"POST /runs/{on_job['id']}/cancel/", f"POST /runs/{on_clone['id']}/cancel/"])
    assert writes[3:] == [f"DELETE /jobs/{clone}/"]
    assert run_of(emu, on_job["id"])["status"] == 30
    assert run_of(emu, other_pr["id"])["status"] in (1, 2, 3)
    states = {job["id"]: job["state"] for job in emu.jobs()}
    assert (states[clone], states[other_clone]) == (2, 1)
    drop = run_of(emu, int(done.outputs["run-id"]))
    schema = f"dbt_cloud_pr_{emu.ci_job_id}_7"
    assert drop["trigger"]["schema_override"] == schema
    assert drop["trigger"]["steps_override"] == [
        f"dbt run-operation drop_pr_schema --args '{{schema: {schema}, pr: 7}}'"
    ]
    assert drop["status"] == 10
    assert done.outputs["cancelled-run-ids"] == f"{on_job['id']},{on_clone['id']}"
    assert done.outputs["deleted-clone-ids"] == str(clone)


def test_a_failed_schema_drop_is_a_clear_error_and_the_clones_still_go(emu: Emulator, step: StepFactory) -> None:
    clone = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id} PR #7]")
    emu.set_outcome("error", job_id=emu.ci_job_id)  # e.g. the macro was never copied into the project
    done = step(7, SHA_A, event=pr_event(7, SHA_A, state="closed"), mode="cleanup").run()
    assert done.returncode == 1
    errors = [line for line in done.lines("::error") if "title=Schema not dropped" in line]
    assert len(errors) == 1
    assert "copy dbt/macros/drop_pr_schema.sql" in errors[0]
    assert f"Its clones were deleted ({clone})." in errors[0]
    assert {job["id"]: job["state"] for job in emu.jobs()}[clone] == 2


@pytest.mark.parametrize(
    ("inputs", "name"),
    [
        ({"drop-schema-macro": "x; drop database prod"}, "drop-schema-macro"),
        ({"schema-override": "analytics"}, "schema-override"),
        (
            {"drop-schema-command": "dbt run-operation {macro} --args '{{schema: dbt_cloud_pr_1_1}}'"},
            "drop-schema-command",
        ),
    ],
)
def test_a_drop_that_fails_validation_changes_nothing(
    emu: Emulator, step: StepFactory, inputs: dict[str, str], name: str
) -> None:
    clone = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id} PR #7]")
    emu.hold(git_sha=SHA_A)
    running = trigger(emu, 7, SHA_A)
    action = step(7, SHA_A, event=pr_event(7, SHA_A, state="closed"), mode="cleanup", **inputs)
    done = action.run()
    assert done.returncode == 1
    assert requests_of(emu, action) == []
    errors = done.lines("::error")
    assert len(errors) == 1
    assert errors[0].startswith("::error title=Invalid input::") and name in errors[0]
    assert run_of(emu, running["id"])["status"] in (1, 2, 3)
    assert {job["id"]: job["state"] for job in emu.jobs()}[clone] == 1


def test_cleanup_as_a_command(emu: Emulator, tmp_path: Path) -> None:
    idle = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id} PR #3]")
    with emu.state.lock:
        emu.state.jobs[idle]["created_at"] = "2026-01-01 00:00:00.000000+00:00"
        emu.state.jobs[idle]["updated_at"] = "2026-01-01 00:00:00.000000+00:00"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_"))}
    env.update({"DBT_CLOUD_TOKEN": emu.token, "PYTHONPATH": str(ROOT)})
    result = subprocess.run(
        [sys.executable, "-m", "autoscale_ci", "cleanup", "--account-id", str(emu.account_id), "--job-id",
         str(emu.ci_job_id), "--dbt-cloud-host", emu.url, "--clone-max-age-minutes", "10"],
        env=env, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Deleted clone job {idle}." in result.stdout
    assert "output deleted-clone-ids=" + str(idle) in result.stdout
    assert emu.token not in result.stdout + result.stderr


def test_a_followed_run_cancelled_by_its_owner_is_replaced(emu: Emulator, step: StepFactory) -> None:
    with emu.state.lock:  # the job's own pull request trigger on: warned of once, however often the step decides
        emu.state.jobs[emu.ci_job_id or 0]["triggers"] = {
            **emu.state.jobs[emu.ci_job_id or 0]["triggers"],
            "github_webhook": True,
        }
    owners = trigger(emu, 7, SHA_A)  # started by another workflow for the same commit
    emu.hold(run_id=owners["id"])
    follower = step(7, SHA_A).start()
    wait_for_poll(emu, owners["id"])
    httpx.post(
        f"{emu.url}/api/v2/accounts/{emu.account_id}/runs/{owners['id']}/cancel/",
        headers={"Authorization": f"Token {emu.token}"},
    ).raise_for_status()  # that workflow was cancelled and took its run with it
    done = follower.wait()
    assert done.returncode == 0, done.stdout
    assert "deciding again" in done.stdout
    assert len([line for line in done.lines("::warning") if "Duplicate CI runs" in line]) == 1
    runs = [r for r in emu.runs() if r["trigger"]["github_pull_request_id"] == 7]
    assert [r["status"] for r in sorted(runs, key=lambda r: r["id"])] == [30, 10]
    assert done.outputs["run-id"] == str(max(r["id"] for r in runs))


def test_timeout_cancels_the_run_and_says_how_long_it_waited(emu: Emulator, step: StepFactory) -> None:
    emu.hold()
    done = step(7, SHA_A, **{"timeout-minutes": "0.02"}).run()
    assert done.returncode == 1
    assert done.outputs["run-status"] == "timeout"
    errors = done.lines("::error")
    assert len(errors) == 1
    waited = re.search(
        r"did not finish within timeout-minutes \((\d+)m(\d\d)s waited\); the action cancelled it", errors[0]
    )
    assert waited, errors[0]
    assert int(waited[1]) * 60 + int(waited[2]) >= 1  # at least the 1.2 s it was given (a busy machine waits longer)
    assert f"/runs/{done.outputs['run-id']}/" in errors[0]  # where to see it
    assert run_of(emu, int(done.outputs["run-id"]))["status"] == 30


def test_a_run_that_outlasts_its_dbt_cloud_timeout_is_reported_as_timed_out(emu: Emulator, step: StepFactory) -> None:
    emu.set_timing(run_seconds=3600)  # far longer than its timeout: dbt Cloud cancels it after one second
    done = step(7, SHA_A, **{"timeout-seconds-override": "1"}).run()
    assert done.returncode == 1
    assert done.outputs["run-status"] == "timeout"
    errors = [line for line in done.lines("::error") if "title=dbt Cloud run timeout" in line]
    assert len(errors) == 1, done.stdout
    assert "because it outlasted its timeout: This run timed out after running for 1 second" in errors[0]
    assert "timeout-seconds-override" in errors[0]
    assert "cancelled before it finished" not in done.stdout


def test_a_queued_run_is_looked_at_again_within_seconds(emu: Emulator, step: StepFactory) -> None:
    emu.set_account(run_slots=1)
    ahead = emu.seed_job(name="Production")
    emu.hold(job_id=ahead)
    trigger(emu, 99, SHA_C, job_id=ahead)  # takes the account's only slot: the step's run waits in the queue
    action = step(7, SHA_A, **{"poll-interval": "30"}).start()  # the default: a queued run was checked every 30 s
    run = wait_for_active(emu, 7, SHA_A)
    me = caller_id(action.env["INPUT_DBT-CLOUD-TOKEN"])

    def checks() -> int:
        mine = [e for e in emu.requests() if e["caller"] == me and e["path"].endswith(f"/runs/{run['id']}/")]
        return len(mine)

    # Three checks of the queued run come within seconds now; at one per poll-interval they would take a minute.
    wait_for(lambda: checks() >= 3, what="three checks of the queued run", timeout=45)
    assert run_of(emu, int(str(run["id"])))["status"] == 1  # still queued: the checks were of a queued run
    emu.release(job_id=ahead)
    done = action.wait()
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("wait", ["true", "false"])
def test_a_job_with_its_own_pr_trigger_gets_a_warning(emu: Emulator, step: StepFactory, wait: str) -> None:
    triggers = {"github_webhook": True, "schedule": False, "git_provider_webhook": True, "on_merge": False}
    with emu.state.lock:
        emu.state.jobs[emu.ci_job_id or 0]["triggers"] = triggers
    done = step(7, SHA_A, wait=wait).run()
    assert done.returncode == 0, done.stdout
    warnings = [line for line in done.lines("::warning") if "Duplicate CI runs" in line]
    assert len(warnings) == 1
    assert "switch off 'Run on pull requests'" in warnings[0]
