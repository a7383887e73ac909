"""Run lifecycle and scheduling: one run per job at a time, `run_slots` per account, cancels, outcomes."""

from __future__ import annotations

import threading
from datetime import datetime

import httpx
import pytest

from dbt_cloud_emulator import Emulator, EmulatorConfig
from tests.harness import wait_for

from .helpers import client, run, statuses, trigger

TS = "%Y-%m-%d %H:%M:%S.%f%z"


def parse(ts: str) -> datetime:
    """Parse dbt Cloud's timestamp format."""
    return datetime.strptime(ts, TS)


def test_trigger_answers_queued_with_its_trigger(frozen: Emulator, fapi: httpx.Client) -> None:
    data = trigger(
        fapi,
        frozen.ci_job_id or 0,
        cause="PR #7",
        git_sha="abc123",
        git_branch="feature",
        github_pull_request_id=7,
        schema_override="dbt_cloud_pr_1_7",
        steps_override=["dbt build --select state:modified+"],
        threads_override=8,
    )
    assert data["status"] == 1
    assert data["status_humanized"] == "Queued"
    assert data["in_progress"] is True
    assert data["is_complete"] is False
    assert data["git_sha"] == data["trigger"]["git_sha"] == "abc123"
    assert data["git_branch"] == "feature"
    assert data["job_definition_id"] == data["job_id"] == frozen.ci_job_id
    assert data["trigger"]["github_pull_request_id"] == 7
    assert data["trigger"]["schema_override"] == "dbt_cloud_pr_1_7"
    assert data["trigger"]["steps_override"] == ["dbt build --select state:modified+"]
    assert data["trigger"]["threads_override"] == 8
    assert data["trigger"]["gitlab_merge_request_id"] is None
    assert data["trigger"]["cause"] == "PR #7"
    assert data["trigger_id"] == data["trigger"]["id"]
    assert data["job"]["id"] == frozen.ci_job_id
    assert data["href"] == (f"{frozen.url}/deploy/{frozen.account_id}/projects/{frozen.project_id}/runs/{data['id']}/")
    assert data["created_at"].endswith("+00:00")
    parse(data["created_at"])


def test_lifecycle_on_a_frozen_clock(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = trigger(fapi, frozen.ci_job_id or 0)["id"]
    starting = run(fapi, run_id)
    assert (starting["status"], starting["status_humanized"]) == (2, "Starting")
    assert starting["dequeued_at"] == starting["created_at"]
    assert starting["started_at"] is None
    assert starting["git_sha"]  # filled in once the repository is "cloned"
    frozen.advance(10)
    running = run(fapi, run_id)
    assert (running["status"], running["is_running"]) == (3, True)
    assert (parse(running["started_at"]) - parse(running["dequeued_at"])).total_seconds() == 10
    assert fapi.get(f"/runs/{run_id}/artifacts/").json()["data"] == []
    frozen.advance(59)
    assert run(fapi, run_id)["status"] == 3
    frozen.advance(1)
    done = run(fapi, run_id)
    assert (done["status"], done["status_humanized"], done["is_success"], done["in_progress"]) == (
        10,
        "Success",
        True,
        False,
    )
    assert (parse(done["finished_at"]) - parse(done["started_at"])).total_seconds() == 60
    assert done["status_message"] is None
    assert done["duration"] == "00:01:10"
    assert done["run_duration"] == "00:01:00"
    assert done["queued_duration"] == "00:00:00"
    assert done["run_duration_humanized"] == "1 minute"
    assert done["artifacts_saved"] is True
    assert frozen.wait_idle(timeout=1)


def test_lifecycle_on_the_wall_clock() -> None:
    with Emulator(EmulatorConfig(start_seconds=0.02, run_seconds=0.08)) as emu, client(emu) as api:
        run_id = trigger(api, emu.ci_job_id or 0)["id"]
        seen: set[int] = set()

        def finished() -> bool:
            seen.add(run(api, run_id)["status"])
            return 10 in seen

        wait_for(finished, what=f"run {run_id} reaching success on the wall clock")
        assert seen <= {2, 3, 10}
        assert emu.wait_idle(timeout=30)


def test_runs_of_one_job_execute_one_at_a_time(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_account(run_slots=5)
    ids = [trigger(fapi, frozen.ci_job_id or 0)["id"] for _ in range(3)]
    assert [statuses(frozen)[i] for i in ids] == [2, 1, 1]
    frozen.advance(70)
    assert [statuses(frozen)[i] for i in ids] == [10, 2, 1]
    first, second = (run(fapi, i) for i in ids[:2])
    assert second["dequeued_at"] == first["finished_at"]
    assert second["queued_duration"] == "00:01:10"
    frozen.advance(70 * 2)
    assert [statuses(frozen)[i] for i in ids] == [10, 10, 10]


def test_run_slots_bound_the_account(frozen: Emulator, fapi: httpx.Client) -> None:
    jobs = [frozen.ci_job_id or 0, frozen.seed_job("B"), frozen.seed_job("C")]
    ids = [trigger(fapi, job)["id"] for job in jobs]
    assert [statuses(frozen)[i] for i in ids] == [2, 2, 1]
    frozen.advance(70)
    assert [statuses(frozen)[i] for i in ids] == [10, 10, 2]
    more = [trigger(fapi, job)["id"] for job in jobs[:2]]
    frozen.set_account(run_slots=3)
    assert [statuses(frozen)[i] for i in more] == [2, 2]


def test_queued_runs_start_in_id_order(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_account(run_slots=1)
    a, b = frozen.ci_job_id or 0, frozen.seed_job("B")
    ids = [trigger(fapi, job)["id"] for job in (a, b, a, b)]
    order = []
    for _ in range(4):
        order.append(next(i for i, s in statuses(frozen).items() if s in (2, 3)))
        frozen.advance(70)
    assert order == ids


def test_per_job_and_default_timing(frozen: Emulator, fapi: httpx.Client) -> None:
    quick = frozen.seed_job("Quick", start_seconds=1, run_seconds=2)
    slow = frozen.seed_job("Slow", run_seconds=600)
    frozen.set_account(run_slots=3)
    frozen.set_timing(run_seconds=5)
    ids = [trigger(fapi, job)["id"] for job in (quick, slow, frozen.ci_job_id or 0)]
    frozen.advance(3)
    assert [statuses(frozen)[i] for i in ids] == [10, 2, 2]
    frozen.advance(12)
    assert [statuses(frozen)[i] for i in ids] == [10, 3, 10]
    frozen.set_timing(job_id=slow, run_seconds=1)  # a running run keeps the duration it started with
    frozen.advance(594)
    assert statuses(frozen)[ids[1]] == 3
    frozen.advance(1)
    assert statuses(frozen)[ids[1]] == 10


@pytest.mark.parametrize("phase", [1, 2, 3])
def test_cancel_in_each_active_state(frozen: Emulator, fapi: httpx.Client, phase: int) -> None:
    frozen.set_account(run_slots=1)
    blocker = trigger(fapi, frozen.ci_job_id or 0)["id"]
    target = trigger(fapi, frozen.ci_job_id or 0)["id"] if phase == 1 else blocker
    if phase == 3:
        frozen.advance(10)
    assert statuses(frozen)[target] == phase
    response = fapi.post(f"/runs/{target}/cancel/")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["status"], data["status_humanized"], data["is_cancelled"]) == (30, "Cancelled", True)
    assert data["finished_at"] is not None
    assert data["artifacts_saved"] is False
    assert fapi.get(f"/runs/{target}/artifacts/").json()["data"] == []


def test_cancel_frees_the_job_for_the_next_run(frozen: Emulator, fapi: httpx.Client) -> None:
    first = trigger(fapi, frozen.ci_job_id or 0)["id"]
    second = trigger(fapi, frozen.ci_job_id or 0)["id"]
    fapi.post(f"/runs/{first}/cancel/")
    assert statuses(frozen)[second] == 2


def test_cancel_a_finished_run_changes_nothing(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = trigger(fapi, frozen.ci_job_id or 0)["id"]
    frozen.advance(70)
    before = run(fapi, run_id)
    after = fapi.post(f"/runs/{run_id}/cancel/", params={"include_related": "trigger"}).json()["data"]
    assert after["status"] == 10
    assert after["finished_at"] == before["finished_at"]
    assert "trigger" in after


def test_deleting_a_job_cancels_its_active_runs(frozen: Emulator, fapi: httpx.Client) -> None:
    other = frozen.seed_job("Other")
    done = trigger(fapi, frozen.ci_job_id or 0)["id"]
    frozen.advance(70)
    running = trigger(fapi, frozen.ci_job_id or 0)["id"]
    queued = trigger(fapi, frozen.ci_job_id or 0)["id"]
    untouched = trigger(fapi, other)["id"]
    frozen.advance(10)
    assert fapi.delete(f"/jobs/{frozen.ci_job_id}/").status_code == 200
    assert [statuses(frozen)[i] for i in (done, running, queued, untouched)] == [10, 30, 30, 3]
    cancelled = run(fapi, running, include_related="job")
    assert "deleted" in cancelled["status_message"]
    assert cancelled["job"]["state"] == 2


def test_outcome_rules(frozen: Emulator, fapi: httpx.Client) -> None:
    job = frozen.ci_job_id or 0
    other = frozen.seed_job("Other")
    frozen.set_account(run_slots=10)
    frozen.set_outcome("error", git_sha="bad")
    frozen.set_outcome("error", job_id=other)
    frozen.set_outcome("success", git_sha="good", job_id=other)
    cases = [(job, "bad", 20), (job, "fine", 10), (other, "fine", 20), (other, "good", 10)]
    ids = []
    for job_id, sha, _ in cases:
        ids.append(trigger(fapi, job_id, git_sha=sha)["id"])
        frozen.advance(70)
    assert [statuses(frozen)[i] for i in ids] == [expected for *_, expected in cases]
    failed = run(fapi, ids[0])
    assert (failed["is_error"], failed["status_humanized"]) == (True, "Error")
    # A later run of its job exists (the "fine" one), so it can no longer be retried (NOTES.md: the latest run only).
    assert (failed["can_retry"], failed["retry_not_supported_reason"]) == (False, "RETRY_NOT_LATEST_RUN")
    assert failed["status_message"] == "dbt command failed"  # NOTES.md: often only that; the step's logs say what
    frozen.set_outcome(None, git_sha="bad")
    again = trigger(fapi, job, git_sha="bad")["id"]
    frozen.advance(70)
    assert statuses(frozen)[again] == 10
    frozen.set_outcome("error")
    anything = trigger(fapi, job)["id"]
    frozen.advance(70)
    assert statuses(frozen)[anything] == 20
    with pytest.raises(ValueError, match="outcome"):
        frozen.set_outcome("flaky")


def run_outcomes(seed: int) -> list[int]:
    """Statuses of 20 runs with a 50% error rate."""
    config = EmulatorConfig(speed=0, start_seconds=0, run_seconds=1, error_rate=0.5, seed=seed, run_slots=1)
    with Emulator(config) as emu, client(emu) as api:
        for _ in range(20):
            trigger(api, emu.ci_job_id or 0)
            emu.advance(1)
        return [r["status"] for r in emu.runs()]


def test_seeded_error_rate_is_reproducible() -> None:
    first = run_outcomes(7)
    assert first == run_outcomes(7)
    assert set(first) == {10, 20}


def test_speed_compresses_time() -> None:
    config = EmulatorConfig(speed=600, start_seconds=6, run_seconds=60)
    with Emulator(config) as emu, client(emu) as api:
        run_id = trigger(api, emu.ci_job_id or 0)["id"]
        assert emu.wait_idle(timeout=10)
        done = run(api, run_id)
        assert done["status"] == 10
        assert (parse(done["finished_at"]) - parse(done["started_at"])).total_seconds() == pytest.approx(60)


def test_wait_idle_times_out_when_time_is_frozen(frozen: Emulator, fapi: httpx.Client) -> None:
    trigger(fapi, frozen.ci_job_id or 0)
    assert frozen.wait_idle(timeout=0.05) is False


def test_trigger_overrides_shape_the_run(frozen: Emulator, fapi: httpx.Client) -> None:
    data = trigger(fapi, frozen.ci_job_id or 0, dbt_version_override="1.8.0", generate_docs_override=True)
    assert data["dbt_version"] == "1.8.0"
    frozen.advance(70)
    assert "catalog.json" in fapi.get(f"/runs/{data['id']}/artifacts/").json()["data"]
    assert run(fapi, data["id"])["has_docs_generated"] is True


def test_many_concurrent_clients_keep_the_invariants() -> None:
    config = EmulatorConfig(run_slots=3, start_seconds=0.005, run_seconds=0.02)
    with Emulator(config) as emu:
        jobs = [emu.ci_job_id or 0, *(emu.seed_job(f"J{i}") for i in range(4))]
        violations: list[str] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                executing = [r for r in emu.runs() if r["status"] in (2, 3)]
                if len(executing) > 3:
                    violations.append(f"{len(executing)} executing")
                per_job = [r["job_definition_id"] for r in executing]
                if len(per_job) != len(set(per_job)):
                    violations.append("two runs of one job")

        def worker(n: int) -> None:
            with client(emu) as api:
                for i in range(8):
                    trigger(api, jobs[(n + i) % len(jobs)])
                    api.get("/runs/", params={"status__in": "[1,2,3]"})

        watcher = threading.Thread(target=watch)
        watcher.start()
        workers = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        assert emu.wait_idle(timeout=30)
        stop.set()
        watcher.join()
        runs = emu.runs()
        assert len(runs) == 80
        assert len({r["id"] for r in runs}) == 80
        assert {r["status"] for r in runs} == {10}
        assert violations == []


def test_a_held_run_keeps_running_past_its_end_until_released(frozen: Emulator, fapi: httpx.Client) -> None:
    job = frozen.ci_job_id or 0
    frozen.hold(git_sha="abc")
    held = trigger(fapi, job, git_sha="abc")["id"]  # the rule holds runs triggered after it, too
    frozen.advance(10_000)
    assert statuses(frozen)[held] == 3
    queued = trigger(fapi, job, git_sha="def")["id"]
    frozen.advance(10_000)
    assert statuses(frozen)[queued] == 1  # still behind the held run of its job
    frozen.release(git_sha="abc")
    assert statuses(frozen)[held] == 10  # past its end: finishes on release, without another tick
    frozen.advance(70)
    assert statuses(frozen)[queued] == 10  # not held: its own 10 + 60 seconds


def test_a_run_released_before_its_end_runs_its_full_time(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = trigger(fapi, frozen.ci_job_id or 0)["id"]
    frozen.hold(run_id=run_id)
    frozen.advance(20)
    frozen.release(run_id=run_id)
    assert statuses(frozen)[run_id] == 3
    frozen.advance(49)
    assert statuses(frozen)[run_id] == 3
    frozen.advance(1)
    assert statuses(frozen)[run_id] == 10


def test_a_held_run_can_be_cancelled_and_every_hold_released_at_once(frozen: Emulator, fapi: httpx.Client) -> None:
    first, second = frozen.ci_job_id or 0, frozen.seed_job("Second")
    frozen.hold()  # every run
    frozen.hold(job_id=second)
    cancelled = trigger(fapi, first)["id"]
    kept = trigger(fapi, second)["id"]
    frozen.advance(10_000)
    assert fapi.post(f"/runs/{cancelled}/cancel/").status_code == 200
    assert statuses(frozen) == {cancelled: 30, kept: 3}
    frozen.release()  # the rule for every run goes; the one for job `second` stands
    assert statuses(frozen)[kept] == 3
    frozen.release(every=True)
    assert statuses(frozen)[kept] == 10


def test_a_run_that_outlasts_its_timeout_is_cancelled_with_dbt_clouds_message(
    frozen: Emulator, fapi: httpx.Client
) -> None:
    slow = trigger(fapi, frozen.ci_job_id or 0, timeout_seconds_override=30)["id"]  # runs take 60 s here
    frozen.advance(10 + 29)
    assert statuses(frozen)[slow] == 3
    frozen.advance(1)
    ended = run(fapi, slow)
    assert ended["status"] == 30
    assert ended["status_message"] == (
        "This run timed out after running for 30 seconds, which exceeded the configured timeout of 30 seconds."
    )
    quick = trigger(fapi, frozen.ci_job_id or 0, timeout_seconds_override=600)["id"]
    frozen.advance(70)
    assert run(fapi, quick)["status"] == 10  # within its timeout
