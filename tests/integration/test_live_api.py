"""The action against dbt Cloud as it really is: what the live API refuses, the thinner and odder answers it gives,
its soft deletes, its 404 for a missing permission, and the pages that move under a busy account. Each test runs
the real entrypoint against the emulator in its production behaviour (spec/dbt-cloud-api/NOTES.md)."""

from __future__ import annotations

from typing import Any

import httpx

from autoscale_ci.rules.clone_body import WRITABLE_FIELDS
from dbt_cloud_emulator import Emulator, caller_id
from tests.harness import wait_for
from tests.integration.conftest import TOKENS, StepFactory, run_of, trigger, writes_of

SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40
STATE_AWARE = "State aware orchestration is not available for CI or Merge jobs"


def busy(emu: Emulator, job_id: int | None = None) -> dict[str, Any]:
    """Another PR keeps the job busy until the test ends, with a run slot free."""
    emu.hold(git_sha=SHA_B)
    return trigger(emu, 8, SHA_B, job_id)


def job_of(emu: Emulator, job_id: int) -> dict[str, Any]:
    """A job as `GET /jobs/{id}/` answers it."""
    response = httpx.get(
        f"{emu.url}/api/v2/accounts/{emu.account_id}/jobs/{job_id}/", headers={"Authorization": f"Token {emu.token}"}
    )
    data: dict[str, Any] = response.raise_for_status().json()["data"]
    return data


def bodies(emu: Emulator, method: str, path: str) -> list[Any]:
    """The bodies of the requests made to one path."""
    prefix = f"/api/v2/accounts/{emu.account_id}"
    return [e["body"] for e in emu.requests() if e["method"] == method and e["path"] == prefix + path]


def test_a_clone_equals_its_job_in_every_writable_field_but_its_name_triggers_and_schedule(
    emu: Emulator, step: StepFactory
) -> None:
    # Fields a job embedded in a run lacks in live answers: a clone copied from it would lint nothing, compare with
    # other flags and drop dbt State, and pass what the job would fail.
    job = emu.seed_job(
        "CI with lint",
        run_lint=True,
        errors_on_lint_failure=True,
        compare_changes_flags="--select state:modified+ --exclude tag:slow",
        cost_optimization_features=["efficient_testing"],
        generate_sources=True,
        run_compare_changes=True,
        description="d" * 400,
        dbt_version="1.9.0",
        deferring_environment_id=4321,
        execution={"timeout_seconds": 1800},
        settings={"threads": 8, "target_name": "ci_target"},
        triggers_on_draft_pr=True,
        triggers={"github_webhook": False, "schedule": True, "git_provider_webhook": False, "on_merge": False},
    )
    busy(emu, job)
    done = step(7, SHA_A, wait="false", **{"delete-clone": "false", "job-id": str(job)}).run()
    assert done.returncode == 0, done.stdout
    clone = job_of(emu, int(done.outputs["cloned-job-id"]))
    original = job_of(emu, job)
    differ = {field for field in WRITABLE_FIELDS if clone.get(field) != original.get(field)}
    assert differ == {"name", "triggers", "schedule", "description", "triggers_on_draft_pr"}
    assert clone["description"] == original["description"][:255]
    assert not any(clone["triggers"].values()) and clone["triggers_on_draft_pr"] is False
    # What the live API wants of a create body: `id` as null, and a schedule.
    (created,) = bodies(emu, "POST", "/jobs/")
    assert created["id"] is None and set(created["schedule"]) == {"date", "time"}
    emu.release(every=True)


def test_a_reused_clone_is_updated_with_its_own_id(emu: Emulator, step: StepFactory) -> None:
    busy(emu)
    first = step(7, SHA_A, **{"delete-clone": "false"}).run()
    assert first.returncode == 0, first.stdout
    clone = int(first.outputs["cloned-job-id"])
    second = step(9, SHA_C, **{"delete-clone": "false"}).run()
    assert second.returncode == 0, second.stdout
    assert second.outputs["cloned-job-id"] == str(clone)
    (updated,) = bodies(emu, "POST", f"/jobs/{clone}/")
    assert updated["id"] == clone  # without it: 400 "The provided id does not match."
    assert "PR #9" in job_of(emu, clone)["name"]
    emu.release(every=True)


def test_a_ci_job_with_state_aware_orchestration_runs_on_the_job_with_dbt_clouds_words(
    emu: Emulator, step: StepFactory
) -> None:
    job = emu.seed_job("CI with dbt State", job_type="ci", cost_optimization_features=["dbt_state"])
    busy(emu, job)
    action = step(7, SHA_A, wait="false", **{"job-id": str(job)})
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "plain-trigger" and done.outputs["cloned-job-id"] == ""
    assert writes_of(emu, action) == ["POST /jobs/", f"POST /jobs/{job}/run/"]  # the 405 made nothing
    (warning,) = [line for line in done.lines("::warning") if "Clone" in line]
    assert warning.startswith("::warning title=Clone refused::dbt Cloud answered 405 when asked to create a clone job")
    assert f'("{STATE_AWARE}")' in warning
    assert f"switch off state-aware orchestration (dbt State, the job's cost optimization features) in job {job}" in (
        warning
    )
    assert "refused the clone (answered 405)" in done.summary
    emu.release(every=True)


def test_a_clone_refused_with_field_errors_runs_on_the_job_and_quotes_them(emu: Emulator, step: StepFactory) -> None:
    # A job stored with a definition a create body may not carry (a null timeout: this test's own example of a field
    # dbt Cloud would refuse), so that dbt Cloud refuses its clone with field errors.
    job = emu.seed_foreign_job("CI made by hand", job_type="other", execution={"timeout_seconds": None})
    busy(emu, job)
    done = step(7, SHA_A, wait="false", **{"job-id": str(job)}).run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "plain-trigger"
    (warning,) = [line for line in done.lines("::warning") if "Clone" in line]
    assert "::warning title=Clone refused::dbt Cloud answered 400 when asked to create a clone job" in warning
    assert "(execution: " in warning  # dbt Cloud's field error, a string, quoted as it came
    assert f"check job {job}'s settings in dbt Cloud" in warning
    emu.release(every=True)


def test_other_teams_odd_jobs_never_fail_the_step_and_still_hold_their_slots(emu: Emulator, step: StepFactory) -> None:
    odd = emu.seed_foreign_job(
        "Adaptive nightly",
        job_type="adaptive",
        settings=None,
        triggers={"github_webhook": None, "schedule": None, "git_provider_webhook": None, "on_merge": None},
        triggers_on_draft_pr=None,
    )
    emu.hold(job_id=odd)
    other = trigger(emu, 41, SHA_C, odd)
    wait_for(lambda: run_of(emu, other["id"])["status"] == 3, what="the odd job's run holding a slot")
    busy(emu)
    emu.hold(git_sha=SHA_A)
    emu.set_account(run_slots=3)
    done = step(7, SHA_A, wait="false", **{"delete-clone": "false"}).run()
    assert done.returncode == 0, done.stdout
    # Its run is no run of this job's, and it still holds one of the three slots.
    assert done.outputs["decision"] == "clone-and-trigger"
    assert "2 of 3 run slots are in use" in done.stdout
    full = step(9, SHA_C, wait="false").run()
    assert full.outputs["decision"] == "plain-trigger"
    assert "all 3 run slots are in use" in full.stdout
    emu.release(every=True)


def test_a_clone_the_token_may_no_longer_delete_is_a_warning_that_names_it(emu: Emulator, step: StepFactory) -> None:
    busy(emu)
    emu.hold(git_sha=SHA_A)
    action = step(7, SHA_A).start()
    wait_for(lambda: any(j["state"] == 1 and "PR #7" in j["name"] for j in emu.jobs()), what="the clone")
    clone = next(j["id"] for j in emu.jobs() if "PR #7" in j["name"])
    wait_for(lambda: any(r["job_definition_id"] == clone for r in emu.runs()), what="the clone's run")
    # The permission is taken away while the run goes; dbt Cloud answers the refused delete with a 404.
    emu.set_refusal_status(404)
    emu.set_role(action.env["INPUT_DBT-CLOUD-TOKEN"], "runner")
    emu.release(git_sha=SHA_A)
    done = action.wait()
    assert done.returncode == 0, done.stdout  # the run passed: a clone left behind never changes the verdict
    assert job_of(emu, clone)["state"] == 1
    assert f"Clone job {clone} was already gone" not in done.stdout
    (warning,) = [line for line in done.lines("::warning") if "delete" in line]
    assert f"Could not delete clone job {clone}: dbt Cloud answered 404 to delete job {clone}" in warning
    assert "Please check that you have the proper permissions" in warning
    assert f"yet job {clone} is still there: the token may not delete jobs" in warning
    assert "Job Admin" in warning
    assert done.state["clone_job_id"] == str(clone)  # the post step tries again
    emu.release(every=True)


def test_a_deleted_clone_is_gone_for_the_post_step_without_a_second_delete(emu: Emulator, step: StepFactory) -> None:
    busy(emu)
    action = step(7, SHA_A)
    done = action.run()
    assert done.returncode == 0, done.stdout
    clone = int(done.outputs["cloned-job-id"])
    assert job_of(emu, clone)["state"] == 2  # a soft delete: still readable
    # As if the main step had died just after its delete: its record still names the clone.
    (action.workdir / "state").write_text(f"clone_job_id<<EOF\n{clone}\nEOF\n", encoding="utf-8")
    before = len(emu.requests())
    post = action.post()
    assert post.returncode == 0
    assert f"Clone job {clone} was already gone." in post.stdout
    assert [e["method"] for e in emu.requests()[before:]] == ["GET"]
    emu.release(every=True)


def test_a_failure_dbt_cloud_calls_dbt_command_failed_is_told_by_its_failed_step(
    emu: Emulator, step: StepFactory
) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    done = step(7, SHA_A).run()
    assert done.returncode == 1
    run = run_of(emu, int(done.outputs["run-id"]))
    assert run["status_message"] == "dbt command failed"
    verdict = done.lines("::error title=dbt Cloud run error")
    assert len(verdict) == 1
    assert "failed in step 4 (`dbt build --select state:modified+`): Database Error in model stg_orders" in verdict[0]
    assert 'relation "raw.orders" does not exist' in verdict[0]
    assert "dbt command failed" not in verdict[0]


def test_a_failed_steps_log_leaves_out_the_lines_that_hold_only_a_time(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("deps_error", git_sha=SHA_A)
    done = step(7, SHA_A).run()
    assert done.returncode == 1
    fence = done.summary.split("```")[1].splitlines()
    assert fence and all(line.strip() and not line.strip().replace(":", "").isdigit() for line in fence[1:])


def test_after_a_cancel_the_verdict_reads_a_page_or_two_whatever_the_account_made_meanwhile(
    emu: Emulator, step: StepFactory
) -> None:
    emu.hold(git_sha=SHA_A)
    action = step(7, SHA_A).start()
    wait_for(lambda: any(r["trigger"]["git_sha"] == SHA_A for r in emu.runs()), what="the step's run")
    ours = next(r["id"] for r in emu.runs() if r["trigger"]["git_sha"] == SHA_A)
    nightly = emu.seed_job("Nightly", job_type="scheduled", run_seconds=0, start_seconds=0)
    emu.seed_runs(nightly, 2_500)
    wait_for(
        lambda: sum(1 for r in emu.runs() if r["status"] == 10) >= 2_500,
        what="2,500 runs of other jobs finishing",
        timeout=120,
    )
    me = caller_id(action.env["INPUT_DBT-CLOUD-TOKEN"])
    # Once the step polls its run, every read before the wait (the job's run times among them) is behind it.
    wait_for(
        lambda: any(e["caller"] == me and e["path"].endswith(f"/runs/{ours}/") for e in emu.requests()),
        what="the step polling its run",
    )
    before = len(emu.requests())
    httpx.post(
        f"{emu.url}/api/v2/accounts/{emu.account_id}/runs/{ours}/cancel/",
        headers={"Authorization": f"Token {emu.token}"},
    ).raise_for_status()
    done = action.wait()
    assert done.outputs["run-status"] == "cancelled"
    lists = [e for e in emu.requests()[before:] if e["caller"] == me and e["path"].endswith("/runs/")]
    # One page of the job's newest runs, then one of the account's, for each of the verdict's two looks.
    assert len(lists) <= 4, lists
    assert all(e["query"].get("offset") == ["0"] and e["query"].get("order_by") == ["-id"] for e in lists)
    assert all(e["query"].get("id__gt") == [str(ours)] for e in lists)


def test_runs_landing_between_two_page_reads_are_each_counted_once(emu: Emulator, step: StepFactory) -> None:
    emu.set_account(run_slots=4)
    busy(emu)  # run 1: the job, busy with PR #8
    backfill = emu.seed_job("Backfill", job_type="other")
    deploy = emu.seed_job("Deploy", job_type="scheduled")
    emu.hold(job_id=backfill)
    emu.hold(job_id=deploy)
    trigger(emu, 50, SHA_C, backfill)  # runs 2 and 3 execute beside it
    trigger(emu, 51, SHA_C, deploy)
    emu.seed_runs(backfill, 97)  # queued behind run 2: one hundred active runs in all
    wait_for(lambda: sum(1 for r in emu.runs() if r["status"] == 3) == 3, what="three runs executing")
    # Other teams' runs land before each page read: offset pages would repeat the last row of page 1 (an executing
    # run, counted twice); pages keyed by id read each run once.
    emu.churn(backfill, 1)
    done = step(7, SHA_A, wait="false").run()
    emu.churn(None)
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "clone-and-trigger"
    assert "3 of 4 run slots are in use" in done.stdout
    lists = [e["query"] for e in emu.requests() if e["path"].endswith("/runs/") and "status__in" in e["query"]]
    assert [query.get("id__gt") for query in lists[:2]] == [None, [str(max(r["id"] for r in emu.runs()[:100]))]]
    emu.release(every=True)


def test_every_request_the_action_made_here_is_one_the_live_api_takes(emu: Emulator, step: StepFactory) -> None:
    busy(emu)
    done = step(7, SHA_A, **{"delete-clone": "false"}).run()
    assert done.returncode == 0, done.stdout
    again = step(9, SHA_C, **{"delete-clone": "false"}).run()
    assert again.returncode == 0, again.stdout
    mine = {caller_id(token) for token in TOKENS[:2]}
    refused = [e for e in emu.requests() if e["caller"] in mine and (e["status"] or 0) >= 400]
    assert refused == []
    emu.release(every=True)
