"""Safe retries, end to end: a run that failed on weather tried again through the real entrypoint, against the
emulator's transient failures, its retry endpoint and its refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dbt_cloud_emulator import Emulator
from tests.harness import pr_event, wait_for
from tests.integration.conftest import StepFactory, run_of, trigger, writes_of

SHA_A, SHA_B = "a" * 40, "b" * 40


def test_a_transient_failure_is_retried_from_the_point_of_failure_and_the_step_passes(
    emu: Emulator, step: StepFactory
) -> None:
    emu.set_outcome("transient_error", git_sha=SHA_A, times=1)
    action = step(7, SHA_A)
    done = action.run()
    assert done.returncode == 0, done.stdout
    writes = writes_of(emu, action)
    assert writes[0] == f"POST /jobs/{emu.ci_job_id}/run/"
    retried = [w for w in writes if w.endswith("/retry/")]
    assert len(retried) == 1, writes
    assert done.outputs["attempts"] == "2" and done.outputs["run-status"] == "success"
    final = run_of(emu, int(done.outputs["run-id"]))
    assert final["trigger"]["cause"].startswith("Retry of run")
    assert final["trigger"]["schema_override"] == f"dbt_cloud_pr_{emu.ci_job_id}_7"
    assert "server closed the connection unexpectedly" in done.summary and "Tried 2 times" in done.summary
    assert any("failed on what looks transient" in line for line in done.lines("::notice"))


def test_on_a_clone_the_retry_runs_on_it_and_the_clone_goes_after(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=SHA_B)
    trigger(emu, 8, SHA_B)  # another PR keeps the job busy: this one runs on a clone
    emu.set_outcome("transient_error", git_sha=SHA_A, times=1)
    done = step(7, SHA_A).run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "clone-and-trigger" and done.outputs["attempts"] == "2"
    clone = int(done.outputs["cloned-job-id"])
    assert run_of(emu, int(done.outputs["run-id"]))["job_definition_id"] == clone
    assert next(job for job in emu.jobs() if job["id"] == clone)["state"] == 2  # deleted once the last attempt ended
    assert done.state.get("clone_job_id", "") == "" and done.state.get("run_id", "") == ""


def test_a_retry_that_lost_the_prs_schema_and_id_is_caught_and_replaced(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("transient_error", git_sha=SHA_A, times=1)
    emu.set_retry_trigger(False)
    action = step(7, SHA_A)
    done = action.run()
    assert done.returncode == 0, done.stdout
    writes = writes_of(emu, action)
    retry = next(w for w in writes if w.endswith("/retry/"))
    lost_run = next(run for run in emu.runs() if run["trigger"]["cause"].startswith("Retry of run"))
    assert writes[writes.index(retry) + 1 :] == [
        f"POST /runs/{lost_run['id']}/cancel/",
        f"POST /jobs/{emu.ci_job_id}/run/",
    ]
    assert run_of(emu, lost_run["id"])["status"] == 30
    final = run_of(emu, int(done.outputs["run-id"]))
    assert (final["trigger"]["git_sha"], final["trigger"]["github_pull_request_id"]) == (SHA_A, 7)
    assert any("Retry replaced" in line for line in done.lines("::warning"))


def test_a_failure_before_any_node_ran_is_triggered_afresh(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("connect_error", git_sha=SHA_A, times=1)
    action = step(7, SHA_A)
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert [w for w in writes_of(emu, action) if not w.endswith("/cancel/")] == [f"POST /jobs/{emu.ci_job_id}/run/"] * 2
    assert "RETRY_NO_RUN_RESULTS" in done.stdout
    assert "Connection refused" in done.summary and done.outputs["attempts"] == "2"


@pytest.mark.parametrize("failing_nodes", [None, 2], ids=["sql-error", "failing-test"])
def test_a_real_failure_is_never_retried(emu: Emulator, step: StepFactory, failing_nodes: int | None) -> None:
    emu.set_outcome("error", git_sha=SHA_A, times=1)
    if failing_nodes:
        emu.set_failing_nodes(failing_nodes)  # a model's error and a test that fails
    action = step(7, SHA_A)
    done = action.run()
    assert done.returncode == 1
    assert writes_of(emu, action) == [f"POST /jobs/{emu.ci_job_id}/run/"]
    assert done.outputs["attempts"] == "1"


def test_retry_transient_0_retries_nothing(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("transient_error", git_sha=SHA_A, times=1)
    action = step(7, SHA_A, **{"retry-transient": "0"})
    done = action.run()
    assert done.returncode == 1
    assert writes_of(emu, action) == [f"POST /jobs/{emu.ci_job_id}/run/"]


def test_a_newer_push_during_the_retry_supersedes_it(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("transient_error", git_sha=SHA_A, times=1)
    emu.hold(git_sha=SHA_A)
    pushed = datetime.now(UTC)
    first = step(7, SHA_A, event=pr_event(7, SHA_A, updated_at=pushed)).start()
    wait_for(lambda: any(r["trigger"]["git_sha"] == SHA_A for r in emu.runs()), what="the first attempt's run")
    (failing,) = [r for r in emu.runs() if r["trigger"]["git_sha"] == SHA_A]
    # The next run the emulator makes is the retry: it stays in flight; the first attempt may end.
    emu.hold(run_id=failing["id"] + 1)
    emu.release(git_sha=SHA_A)
    wait_for(
        lambda: any(r["id"] == failing["id"] + 1 and r["status"] in (1, 2, 3) for r in emu.runs()), what="the retry"
    )
    second = step(7, SHA_B, event=pr_event(7, SHA_B, updated_at=pushed + timedelta(minutes=1))).run()
    done = first.wait()
    assert second.returncode == 0, second.stdout
    assert run_of(emu, failing["id"] + 1)["status"] == 30
    assert done.returncode == 0, done.stdout
    assert done.outputs["run-status"] == "superseded" and done.outputs["attempts"] == "2"


def test_an_attempt_dbt_cloud_refuses_leaves_the_verdict_of_the_run_that_failed(
    emu: Emulator, step: StepFactory
) -> None:
    emu.set_outcome("transient_error", git_sha=SHA_A, times=1)
    emu.hold(git_sha=SHA_A)
    action = step(7, SHA_A).start()
    wait_for(lambda: any(r["trigger"]["git_sha"] == SHA_A for r in emu.runs()), what="the first attempt's run")
    emu.set_account(locked=True, lock_reason="Trial ended")  # no run may be triggered or retried from now on
    emu.release(git_sha=SHA_A)
    done = action.wait()
    assert done.returncode == 1, done.stdout
    assert done.outputs["run-status"] == "error" and done.outputs["attempts"] == "1"
    assert any("title=Retry failed" in line and "locked" in line for line in done.lines("::warning")), done.stdout
    assert "model.emulated_project.stg_orders" in done.summary  # the failed run's nodes are still reported
