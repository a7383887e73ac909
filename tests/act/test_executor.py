from __future__ import annotations

import io
import json
import os
import re
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from autoscale_ci.act import signals
from autoscale_ci.act.executor import Executor, Options
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.dbt_cloud.models import Job
from autoscale_ci.errors import Aborted
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report.summary import decision
from autoscale_ci.rules.decide import ActiveRun, Clone, Follow, Skip, Trigger
from autoscale_ci.rules.markers import PushOrder, clone_marker, push_marker
from tests.builders import ACCOUNT, HOST, JOB, SHA_A, SHA_B, TOKEN, envelope, failure, job, no_overrides, overrides, run

ON_GITHUB = {"GITHUB_ACTIONS": "true"}

PUSHED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PR = PullRequest(number=7, head_sha=SHA_A, updated_at=PUSHED, order=PushOrder.pushed(PUSHED))
PAYLOAD = {"cause": "c", "git_sha": SHA_A, "github_pull_request_id": 7}
CLONE_ID = 900
CLONE_NAME = f"CI{clone_marker(JOB, 7)}"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def no_history(api: respx.MockRouter) -> respx.Route:
    """The job has no finished runs to predict a run's length from, and runs leave no artifacts."""
    api.get(url__regex=r".*/artifacts/.*").respond(404, json=failure(404, "Not found"))
    no_overrides(api)
    api.get(path__regex=r"/runs/\d+/$", params={"include_related": '["run_steps"]'}).respond(
        json=envelope({**run(11, status=20), "run_steps": []})
    )
    return api.get("/runs/", params={"status__in": "[10,20]"}).respond(json=envelope([]))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def out() -> io.StringIO:
    return io.StringIO()


def make(clock: Clock, out: io.StringIO, **options: object) -> Executor:
    client = DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None)
    opts = Options(job_id=JOB, poll_interval=5.0, **options)  # type: ignore[arg-type]
    return Executor(client, Runtime(ON_GITHUB, out), opts, clock=clock, sleep=clock.sleep)


def statuses(api: respx.MockRouter, run_id: int, *codes: int, job_id: int = JOB, **kw: object) -> respx.Route:
    route = api.get(f"/runs/{run_id}/")
    route.side_effect = [httpx.Response(200, json=envelope(run(run_id, status=c, job_id=job_id, **kw))) for c in codes]  # type: ignore[arg-type]
    return route


def recorder(events: list[str], name: str, response: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    def record(_request: httpx.Request) -> httpx.Response:
        events.append(name)
        return response

    return record


TRIGGER = Trigger("job is idle")
CLONE = Clone("busy")
# The job's own pull request trigger off, as the action asks (its schedule on: a clone must still turn it off).
PR_TRIGGER_OFF = {"github_webhook": False, "schedule": True, "git_provider_webhook": False, "on_merge": False}
JOB_OBJ = Job.model_validate(job(triggers=PR_TRIGGER_OFF))


def test_plain_trigger_waits_and_logs_each_status_change(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    trigger = api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1, pr=7, sha=SHA_A)))
    polls = statuses(api, 11, 1, 3, 3, 10)
    outcome = make(clock, out).execute(TRIGGER, PR, JOB_OBJ, PAYLOAD)
    assert json.loads(trigger.calls.last.request.content) == PAYLOAD
    assert polls.call_count == 4
    assert (outcome.run_status, outcome.exit_code, outcome.job_id) == ("success", 0, JOB)
    lines = [line for line in out.getvalue().splitlines() if "] run 11:" in line]
    assert [line.split(": ")[-1] for line in lines] == ["queued", "running", "success"]
    assert clock.sleeps == [2.0] * 4  # not started (no run time reported yet): looked at again soon


def test_without_wait_the_accepted_trigger_is_enough(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    read = statuses(api, 11, 1)
    outcome = make(clock, out, wait=False).execute(TRIGGER, PR, JOB_OBJ, PAYLOAD)
    assert (outcome.run_status, outcome.exit_code) == ("queued", 0)
    assert read.call_count == 0  # never read again: not even for the job's triggers, which its own read has
    assert clock.sleeps == []
    assert "Duplicate CI runs" not in out.getvalue()


def test_failed_run_is_exit_1_with_the_link(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    statuses(api, 11, 20, status_message="Database Error in model orders")
    outcome = make(clock, out).execute(TRIGGER, PR, JOB_OBJ, PAYLOAD)
    assert (outcome.run_status, outcome.exit_code) == ("error", 1)
    assert "Database Error in model orders" in outcome.message
    assert f"{HOST}/deploy/{ACCOUNT}/projects/10/runs/11/" in outcome.message


def pushed(run_json: dict[str, object], when: datetime) -> dict[str, object]:
    """A run whose cause records when its commit was pushed, as the action writes it."""
    run_json["trigger"] = {**run_json["trigger"], "cause": "x" + push_marker(when)}  # type: ignore[dict-item]
    return run_json


def test_run_superseded_by_a_newer_commit_is_not_a_failure(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1, pr=7, sha=SHA_A)))
    statuses(api, 11, 30, pr=7, sha=SHA_A)
    later = PUSHED + timedelta(minutes=1)
    newer = api.get("/runs/").respond(
        json=envelope(
            [
                pushed(run(12, job_id=5, pr=7, sha=SHA_B), later),  # another job
                pushed(run(13, pr=8, sha=SHA_B), later),  # another PR
                pushed(run(14, job_id=CLONE_ID, pr=7, sha=SHA_B, job_name=CLONE_NAME), later),
            ]
        )
    )
    outcome = make(clock, out).execute(TRIGGER, PR, JOB_OBJ, PAYLOAD)
    assert (outcome.run_status, outcome.exit_code, outcome.superseded_by) == ("superseded", 0, SHA_B)
    assert "bbbbbbb" in outcome.message
    assert newer.calls.last.request.url.params["id__gt"] == "11"


@pytest.mark.parametrize("when", [PUSHED - timedelta(minutes=1), None])
def test_a_run_cancelled_by_an_older_or_unordered_commit_is_a_failure(
    api: respx.MockRouter, clock: Clock, out: io.StringIO, when: datetime | None
) -> None:
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1, pr=7, sha=SHA_A)))
    statuses(api, 11, 30, pr=7, sha=SHA_A)
    other = run(12, pr=7, sha=SHA_B)  # a re-run of an older commit, or a manual run with no push time
    api.get("/runs/").respond(json=envelope([pushed(other, when) if when else other]))
    api.get("/jobs/").respond(json=envelope([]))  # no clone of the PR's
    outcome = make(clock, out).execute(TRIGGER, PR, JOB_OBJ, PAYLOAD)
    assert (outcome.run_status, outcome.exit_code) == ("cancelled", 1)


def test_cancelled_run_without_a_newer_commit_fails(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1, pr=7, sha=SHA_A)))
    statuses(api, 11, 30, pr=7, sha=SHA_A)
    api.get("/runs/").respond(json=envelope([run(12, pr=7, sha=SHA_A)]))
    api.get("/jobs/").respond(json=envelope([]))  # no clone of the PR's
    outcome = make(clock, out).execute(TRIGGER, PR, JOB_OBJ, PAYLOAD)
    assert (outcome.run_status, outcome.exit_code) == ("cancelled", 1)


STALE = (ActiveRun(3, JOB, "CI", 7, SHA_B), ActiveRun(4, CLONE_ID, CLONE_NAME, 7, SHA_B))


def cancelled(run_id: int) -> httpx.Response:
    return httpx.Response(200, json=envelope(run(run_id, status=30)))


def test_stale_runs_are_cancelled_once_the_trigger_is_accepted(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    triggered = threading.Event()
    seen: list[bool] = []

    def cancel(request: httpx.Request) -> httpx.Response:
        # A cancel sent before the trigger was accepted would find the event unset.
        seen.append(triggered.is_set())
        return cancelled(int(request.url.path.split("/")[-3]))

    def trigger(_request: httpx.Request) -> httpx.Response:
        triggered.set()
        return httpx.Response(200, json=envelope(run(11, status=1)))

    api.post(url__regex=r".*/runs/[34]/cancel/$").mock(side_effect=cancel)
    api.post(f"/jobs/{JOB}/run/").mock(side_effect=trigger)
    statuses(api, 11, 1)
    outcome = make(clock, out, wait=False).execute(Trigger("r", cancel=STALE), PR, JOB_OBJ, PAYLOAD)
    assert seen == [True, True]
    assert outcome.cancelled_run_ids == (3, 4)
    log = out.getvalue()
    assert "Cancelled run 3 of job" in log and "Cancelled run 4 of job" in log
    assert log.index("Cancelled run 4") < log.index("::notice::dbt Cloud run 11")


def test_a_stale_run_that_cannot_be_cancelled_is_a_warning(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    api.post("/runs/3/cancel/").respond(403, json=failure(403, "Forbidden"))
    api.post("/runs/4/cancel/").mock(return_value=cancelled(4))
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    statuses(api, 11, 1)
    outcome = make(clock, out, wait=False).execute(Trigger("r", cancel=STALE), PR, JOB_OBJ, PAYLOAD)
    assert (outcome.exit_code, outcome.cancelled_run_ids) == (0, (4,))
    assert outcome.run is not None and outcome.run.id == 11
    log = out.getvalue()
    assert "::warning title=Stale run not cancelled::Could not cancel run 3 of job" in log
    assert "this commit's run waits for it" in log


def test_a_cancel_that_breaks_unexpectedly_is_a_warning_too(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    api.post("/runs/3/cancel/").mock(side_effect=httpx.DecodingError("bad gzip"))
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    statuses(api, 11, 1)
    outcome = make(clock, out, wait=False).execute(Trigger("r", cancel=STALE[:1]), PR, JOB_OBJ, PAYLOAD)
    assert (outcome.exit_code, outcome.cancelled_run_ids) == (0, ())
    assert "Could not cancel run 3 of job" in out.getvalue() and "DecodingError: bad gzip" in out.getvalue()


def test_cancels_wait_until_the_clone_exists(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    # Not an answer about the clone but weather (a refusal of the clone falls back to the job, see the next test).
    api.post("/jobs/").respond(429, json=failure(429, "Too many requests"))
    cancel = api.post(url__regex=r".*/runs/\d+/cancel/$").mock(return_value=cancelled(3))
    with pytest.raises(DbtCloudError, match="Too many requests"):
        make(clock, out).execute(Clone("busy", cancel=STALE), PR, JOB_OBJ, PAYLOAD)
    assert cancel.call_count == 0


@pytest.mark.parametrize(
    ("status", "body", "title", "change"),
    [
        (403, failure(403, "You do not have permission"), "Clone not allowed", "the Job Admin permission set"),
        (404, failure(404, "Please check that you have the proper permissions"), "Clone not allowed", "404 for a"),
        (400, failure(400, "Invalid", {"name": "required key not provided"}), "Clone refused", "check job 73797's"),
        (
            405,
            {"detail": "State aware orchestration is not available for CI or Merge jobs"},
            "Clone refused",
            "dbt State",
        ),
    ],
)
def test_a_clone_refused_triggers_the_job_and_still_cancels(
    api: respx.MockRouter, clock: Clock, out: io.StringIO, status: int, body: object, title: str, change: str
) -> None:
    api.post("/jobs/").respond(status, json=body)
    cancel = api.post(url__regex=r".*/runs/[34]/cancel/$").mock(
        side_effect=lambda r: cancelled(int(r.url.path.split("/")[-3]))
    )
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    outcome = make(clock, out, wait=False).execute(Clone("busy", cancel=STALE), PR, JOB_OBJ, PAYLOAD)
    assert isinstance(outcome.plan, Trigger)
    assert decision(outcome.plan) == "cancel-and-retrigger"
    assert (outcome.job_id, outcome.cloned_job_id, outcome.cancelled_run_ids) == (JOB, None, (3, 4))
    assert cancel.call_count == 2
    warnings = [line for line in out.getvalue().splitlines() if line.startswith("::warning title=Clone")]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"::warning title={title}::dbt Cloud answered {status} when asked to create a clone job"
    )
    assert change in warnings[0]


def test_a_trigger_that_fails_cancels_nothing(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    cancel = api.post(url__regex=r".*/runs/[34]/cancel/$").mock(
        side_effect=lambda r: cancelled(int(r.url.path.split("/")[-3]))
    )
    api.post(f"/jobs/{JOB}/run/").respond(400, json=failure(400, "Queue limit reached"))
    with pytest.raises(DbtCloudError, match="Queue limit reached"):
        make(clock, out).execute(Trigger("r", cancel=STALE), PR, JOB_OBJ, PAYLOAD)
    assert cancel.call_count == 0  # the PR keeps its last run
    assert "Cancelled run" not in out.getvalue()


def test_clone_is_deleted_only_after_its_run_is_terminal(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    events: list[str] = []
    create = api.post("/jobs/").mock(
        side_effect=recorder(events, "create", httpx.Response(200, json=envelope(job(CLONE_ID, name=CLONE_NAME))))
    )
    api.post(f"/jobs/{CLONE_ID}/run/").mock(
        side_effect=recorder(events, "trigger", httpx.Response(200, json=envelope(run(11, status=1, job_id=CLONE_ID))))
    )
    responses = iter([1, 3, 10])

    def poll(_request: httpx.Request) -> httpx.Response:
        code = next(responses)
        events.append(f"poll {code}")
        return httpx.Response(200, json=envelope(run(11, status=code, job_id=CLONE_ID)))

    api.get("/runs/11/").mock(side_effect=poll)
    api.delete(f"/jobs/{CLONE_ID}/").mock(side_effect=recorder(events, "delete", httpx.Response(204)))
    # wait=false: the clone path still waits, because deleting a clone early would cancel its run.
    outcome = make(clock, out, wait=False).execute(CLONE, PR, Job.model_validate(job()), PAYLOAD)
    assert events == ["create", "trigger", "poll 1", "poll 3", "poll 10", "delete"]
    body = json.loads(create.calls.last.request.content)
    assert re.fullmatch(rf"CI \[autoscale {JOB} PR #7 [0-9a-f]{{6}}\]", body["name"])
    assert body["triggers"]["github_webhook"] is False and body["triggers"]["schedule"] is False
    assert (outcome.cloned_job_id, outcome.job_id, outcome.run_status) == (CLONE_ID, CLONE_ID, "success")


def test_clone_is_deleted_when_its_trigger_fails(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
    api.post(f"/jobs/{CLONE_ID}/run/").respond(400, json=failure(400, "bad"))
    delete = api.delete(f"/jobs/{CLONE_ID}/").respond(204)
    with pytest.raises(Exception, match="400"):
        make(clock, out).execute(CLONE, PR, JOB_OBJ, PAYLOAD)
    assert delete.call_count == 1


def test_kept_clone_is_reused_and_not_deleted(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    update = api.post(f"/jobs/{CLONE_ID}/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
    create = api.post("/jobs/")
    api.post(f"/jobs/{CLONE_ID}/run/").respond(json=envelope(run(11, status=1, job_id=CLONE_ID)))
    delete = api.delete(f"/jobs/{CLONE_ID}/")
    plan = Clone("busy", reuse_clone_id=CLONE_ID)
    outcome = make(clock, out, wait=False, delete_clone=False).execute(plan, PR, JOB_OBJ, PAYLOAD)
    assert update.call_count == 1 and create.call_count == 0 and delete.call_count == 0
    assert json.loads(update.calls.last.request.content)["name"].startswith(f"CI [autoscale {JOB} PR #7 ")
    assert outcome.cloned_job_id == CLONE_ID


def test_timeout_cancels_the_run_and_deletes_the_clone(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
    api.post(f"/jobs/{CLONE_ID}/run/").respond(json=envelope(run(11, status=1, job_id=CLONE_ID)))
    api.get("/runs/11/").respond(json=envelope(run(11, status=3, job_id=CLONE_ID)))
    cancel = api.post("/runs/11/cancel/").respond(json=envelope(run(11, status=30)))
    delete = api.delete(f"/jobs/{CLONE_ID}/").respond(204)
    outcome = make(clock, out, deadline=12.0).execute(CLONE, PR, JOB_OBJ, PAYLOAD)
    assert (outcome.run_status, outcome.exit_code) == ("timeout", 1)
    assert clock.sleeps == [2.0] * 6  # up to the 12 s deadline
    assert cancel.call_count == 1 and delete.call_count == 1
    assert "timeout-minutes" in outcome.message


def test_abort_while_waiting_cancels_and_cleans_up(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
    api.post(f"/jobs/{CLONE_ID}/run/").respond(json=envelope(run(11, status=1, job_id=CLONE_ID)))

    def interrupted(_request: httpx.Request) -> httpx.Response:
        raise Aborted(15)

    api.get("/runs/11/").mock(side_effect=interrupted)
    cancel = api.post("/runs/11/cancel/").respond(json=envelope(run(11, status=30)))
    delete = api.delete(f"/jobs/{CLONE_ID}/").respond(204)
    with pytest.raises(Aborted):
        make(clock, out).execute(CLONE, PR, JOB_OBJ, PAYLOAD)
    assert cancel.call_count == 1 and delete.call_count == 1


def test_follow_waits_on_the_run_in_flight_without_triggering_or_deleting(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    statuses(api, 11, 3, 3, 10, job_id=CLONE_ID, job_name=CLONE_NAME)
    trigger = api.post(url__regex=r".*/run/$")
    delete = api.delete(f"/jobs/{CLONE_ID}/")
    follow = Follow("in flight", run=ActiveRun(11, CLONE_ID, CLONE_NAME, 7, SHA_A))
    outcome = make(clock, out).execute(follow, PR, JOB_OBJ, PAYLOAD)
    assert trigger.call_count == 0
    assert outcome.run_status == "success"
    assert outcome.cloned_job_id == CLONE_ID
    assert delete.call_count == 0  # the clone belongs to the step that made it


@pytest.mark.parametrize("wait", [True, False])
def test_a_followed_run_is_never_cancelled_or_its_clone_deleted(
    api: respx.MockRouter, clock: Clock, out: io.StringIO, wait: bool
) -> None:
    api.get("/runs/11/").respond(json=envelope(run(11, status=3, job_id=CLONE_ID, job_name=CLONE_NAME)))
    writes = api.route(method__in=["POST", "DELETE"])
    follow = Follow("in flight", run=ActiveRun(11, CLONE_ID, CLONE_NAME, 7, SHA_A))
    outcome = make(clock, out, wait=wait, deadline=12.0).execute(follow, PR, JOB_OBJ, PAYLOAD)
    assert writes.call_count == 0
    assert outcome.run_status == ("timeout" if wait else "running")
    assert outcome.exit_code == (1 if wait else 0)


def test_wait_false_on_the_clone_path_waits_to_delete_but_does_not_fail(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
    api.post(f"/jobs/{CLONE_ID}/run/").respond(json=envelope(run(11, status=1, job_id=CLONE_ID)))
    statuses(api, 11, 3, 20, job_id=CLONE_ID, status_message="boom")
    delete = api.delete(f"/jobs/{CLONE_ID}/").respond(204)
    outcome = make(clock, out, wait=False).execute(CLONE, PR, JOB_OBJ, PAYLOAD)
    assert delete.call_count == 1
    assert (outcome.run_status, outcome.exit_code) == ("error", 0)
    assert "wait is false" in outcome.message


def test_a_cancel_that_fails_at_timeout_is_reported_truthfully(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    api.get("/runs/11/").respond(json=envelope(run(11, status=3)))
    cancel = api.post("/runs/11/cancel/").respond(403, json=failure(403, "Forbidden"))
    outcome = make(clock, out, deadline=12.0).execute(TRIGGER, PR, JOB_OBJ, PAYLOAD)
    assert cancel.call_count == 1
    assert "could not cancel it" in outcome.message
    assert "::warning::Could not cancel run 11" in out.getvalue()


def test_skip_touches_nothing(clock: Clock, out: io.StringIO) -> None:
    with respx.mock(assert_all_mocked=True) as router:
        outcome = make(clock, out).execute(Skip("closed"), PR, None, PAYLOAD)
        assert router.calls.call_count == 0
    assert (outcome.run_status, outcome.exit_code) == ("skipped", 0)


def test_failed_clone_delete_is_a_warning(api: respx.MockRouter, clock: Clock, out: io.StringIO) -> None:
    api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
    api.post(f"/jobs/{CLONE_ID}/run/").respond(json=envelope(run(11, status=1, job_id=CLONE_ID)))
    statuses(api, 11, 10, job_id=CLONE_ID)
    api.delete(f"/jobs/{CLONE_ID}/").respond(403, json=failure(403, "Forbidden"))
    outcome = make(clock, out).execute(CLONE, PR, JOB_OBJ, PAYLOAD)
    assert outcome.exit_code == 0
    assert f"::warning::Could not delete clone job {CLONE_ID}" in out.getvalue()


def test_signal_during_the_trigger_cancels_the_run_it_created(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    import os
    import signal

    from autoscale_ci.act import signals

    def trigger_then_signal(_request: httpx.Request) -> httpx.Response:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the trigger is in flight
        return httpx.Response(200, json=envelope(run(11, status=1, job_id=CLONE_ID)))

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signals.install()
    try:
        api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
        api.post(f"/jobs/{CLONE_ID}/run/").mock(side_effect=trigger_then_signal)
        cancel = api.post("/runs/11/cancel/").respond(json=envelope(run(11, status=30)))
        delete = api.delete(f"/jobs/{CLONE_ID}/").respond(204)
        with pytest.raises(Aborted):
            make(clock, out).execute(CLONE, PR, JOB_OBJ, PAYLOAD)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert cancel.call_count == 1
    assert delete.call_count == 1


def test_a_cancelled_step_cleans_up_without_waiting_for_stale_cancels(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    import os
    import signal

    from autoscale_ci.act import signals

    release = threading.Event()
    events: list[str] = []

    def slow_cancel(request: httpx.Request) -> httpx.Response:
        release.wait(timeout=5)  # dbt Cloud is slow to answer the stale run's cancel
        events.append("stale run cancelled")
        return cancelled(3)

    def trigger_then_signal(_request: httpx.Request) -> httpx.Response:
        os.kill(os.getpid(), signal.SIGTERM)
        return httpx.Response(200, json=envelope(run(11, status=1, job_id=CLONE_ID)))

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signals.install()
    try:
        api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
        api.post("/runs/3/cancel/").mock(side_effect=slow_cancel)
        api.post(f"/jobs/{CLONE_ID}/run/").mock(side_effect=trigger_then_signal)
        api.post("/runs/11/cancel/").mock(side_effect=recorder(events, "own run cancelled", cancelled(11)))
        api.delete(f"/jobs/{CLONE_ID}/").mock(side_effect=recorder(events, "clone deleted", httpx.Response(204)))
        plan = Clone("busy", cancel=STALE[:1])
        with pytest.raises(Aborted):
            make(clock, out).execute(plan, PR, JOB_OBJ, PAYLOAD)
        assert events == ["own run cancelled", "clone deleted"]  # the stale cancel is still unanswered
    finally:
        release.set()
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_cleanup_on_one_thread_leaves_other_threads_bounded() -> None:
    client = DbtCloudClient(HOST, TOKEN, ACCOUNT, deadline=5.0, clock=lambda: 0.0, interrupted=lambda: True)
    seen: list[tuple[float | None, bool]] = []

    def other() -> None:
        deadline, interrupted = client._transport._retry_budget()
        seen.append((deadline, interrupted()))

    with client.unbounded():
        deadline, interrupted = client._transport._retry_budget()
        assert (deadline, interrupted()) == (None, False)
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
    assert seen == [(5.0, True)]


def test_a_newer_run_on_a_clone_is_found_among_the_pull_requests_clones(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1, pr=7, sha=SHA_A)))
    statuses(api, 11, 30, pr=7, sha=SHA_A)
    newer = pushed(run(40, job_id=CLONE_ID, pr=7, sha=SHA_B, job_name=CLONE_NAME), PUSHED + timedelta(minutes=1))
    runs = api.get("/runs/").mock(
        side_effect=lambda request: httpx.Response(
            200, json=envelope([newer] if request.url.params.get("job_definition_id") == str(CLONE_ID) else [])
        )
    )
    made_later = {"created_at": "2027-01-01 00:00:00+00:00", "updated_at": "2027-01-01 00:00:00+00:00"}
    clones = api.get("/jobs/").respond(
        json=envelope(
            [
                job(CLONE_ID, name=CLONE_NAME, state=2, **made_later),  # deleted already: its run was short
                job(CLONE_ID + 1, name=f"CI{clone_marker(JOB, 71)}", **made_later),  # PR #71's, not #7's
                job(CLONE_ID + 2, name=CLONE_NAME, created_at="2025-01-01 00:00:00+00:00", updated_at=None),
            ]
        )
    )
    outcome = make(clock, out).execute(TRIGGER, PR, JOB_OBJ, PAYLOAD)
    assert (outcome.run_status, outcome.exit_code, outcome.superseded_by) == ("superseded", 0, SHA_B)
    # Not clone 902: made before run 11 was, it holds no newer run.
    assert [call.request.url.params.get("job_definition_id") for call in runs.calls][-2:] == [str(JOB), str(CLONE_ID)]
    listed = clones.calls.last.request.url.params
    assert (listed["name__icontains"], listed["state"]) == (f"[autoscale {JOB} PR #7", "all")


def test_checks_cluster_around_the_end_the_job_history_predicts(
    api: respx.MockRouter, clock: Clock, out: io.StringIO, no_history: respx.Route
) -> None:
    finished = run(1, status=10)
    finished.update(started_at="2026-01-01 12:00:00.000000+00:00", finished_at="2026-01-01 12:00:20.000000+00:00")
    no_history.respond(json=envelope([finished]))  # the job's runs take 20 s
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    polls = api.get("/runs/11/")
    polls.side_effect = [
        httpx.Response(200, json=envelope({**run(11, status=3), "run_duration": "00:00:02"})),
        httpx.Response(200, json=envelope({**run(11, status=3), "run_duration": "00:00:10"})),
        httpx.Response(200, json=envelope({**run(11, status=3), "run_duration": "00:00:12"})),
        httpx.Response(200, json=envelope(run(11, status=10))),
    ]
    executor = make(clock, out)
    executor.options = Options(job_id=JOB, poll_interval=30.0)
    outcome = executor.execute(TRIGGER, PR, JOB_OBJ, PAYLOAD)
    assert outcome.run_status == "success"
    # queued: soon, the queue can end any moment; then a sixth of the time left to the predicted end, at least 1.5 s
    assert clock.sleeps == pytest.approx([2.0, 3.0, 10 / 6, 1.5])


def test_timeout_without_cancel_leaves_the_run_and_its_clone(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
    api.post(f"/jobs/{CLONE_ID}/run/").respond(json=envelope(run(11, status=1, job_id=CLONE_ID)))
    api.get("/runs/11/").respond(json=envelope(run(11, status=3, job_id=CLONE_ID)))
    deletes = api.delete(f"/jobs/{CLONE_ID}/")
    cancels = api.post("/runs/11/cancel/")
    outcome = make(clock, out, deadline=12.0, cancel_on_timeout=False).execute(CLONE, PR, JOB_OBJ, PAYLOAD)
    assert deletes.call_count == 0
    assert cancels.call_count == 0
    assert (outcome.run_status, outcome.exit_code) == ("timeout", 1)
    assert "cancel-on-timeout is false" in outcome.message
    assert f"clone job {CLONE_ID} stays" in outcome.message


def test_a_signal_during_a_refused_clone_stops_the_step_before_anything_is_cancelled_or_triggered(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    def refuse_then_signal(_request: httpx.Request) -> httpx.Response:
        os.kill(os.getpid(), signal.SIGTERM)  # the workflow is cancelled while dbt Cloud refuses the clone
        return httpx.Response(403, json=failure(403, "You do not have permission to perform this action."))

    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signals.install()
    try:
        api.post("/jobs/").mock(side_effect=refuse_then_signal)
        cancel = api.post(url__regex=r".*/runs/\d+/cancel/$").mock(return_value=cancelled(3))
        triggered = api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
        with pytest.raises(Aborted):
            make(clock, out).execute(Clone("busy", cancel=STALE[:1]), PR, JOB_OBJ, PAYLOAD)
        assert (triggered.call_count, cancel.call_count) == (0, 0)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def test_a_reused_clone_that_is_gone_is_replaced_by_a_new_one(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    api.post(f"/jobs/{CLONE_ID}/").respond(404, json=failure(404, "Job definition not found."))  # swept meanwhile
    api.get(f"/jobs/{CLONE_ID}/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME, state=2)))  # soft-deleted
    created = api.post("/jobs/").respond(json=envelope(job(CLONE_ID + 1, name=CLONE_NAME)))
    api.post(f"/jobs/{CLONE_ID + 1}/run/").respond(json=envelope(run(11, status=1, job_id=CLONE_ID + 1)))
    outcome = make(clock, out, wait=False, delete_clone=False).execute(
        Clone("busy", reuse_clone_id=CLONE_ID), PR, JOB_OBJ, PAYLOAD
    )
    assert created.call_count == 1
    assert (outcome.exit_code, outcome.cloned_job_id, outcome.job_id) == (0, CLONE_ID + 1, CLONE_ID + 1)
    assert f"Idle clone job {CLONE_ID} is gone; creating a new clone." in out.getvalue()
    assert "Clone not allowed" not in out.getvalue()


def test_a_reused_clone_the_token_may_not_update_is_no_reason_to_make_another(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    refusal = "The requested resource was not found. Please check that you have the proper permissions."
    api.post(f"/jobs/{CLONE_ID}/").respond(404, json=failure(404, refusal))
    api.get(f"/jobs/{CLONE_ID}/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))  # still there
    created = api.post("/jobs/").respond(json=envelope(job(CLONE_ID + 1, name=CLONE_NAME)))
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    statuses(api, 11, 1)
    outcome = make(clock, out, wait=False, delete_clone=False).execute(
        Clone("busy", reuse_clone_id=CLONE_ID), PR, JOB_OBJ, PAYLOAD
    )
    assert created.call_count == 0
    assert (outcome.job_id, outcome.cloned_job_id) == (JOB, None)
    assert "is gone" not in out.getvalue()
    assert f"::warning title=Clone not allowed::dbt Cloud answered 404 when asked to update job {CLONE_ID}" in (
        out.getvalue()
    )


def test_the_time_waited_counts_from_the_start_of_the_step(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    api.get("/runs/11/").respond(json=envelope(run(11, status=1)))
    api.post("/runs/11/cancel/").respond(json=envelope(run(11, status=30)))
    clock.now = 100.0  # the step began at 0: reading and deciding (a first attempt, say) took 100 s
    executor = Executor(
        DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None),
        Runtime(ON_GITHUB, out),
        Options(job_id=JOB, poll_interval=5.0, deadline=110.0),
        clock=clock,
        sleep=clock.sleep,
        started=0.0,
    )
    outcome = executor.execute(TRIGGER, PR, JOB_OBJ, PAYLOAD)
    assert outcome.run_status == "timeout"
    assert "(1m50s waited)" in outcome.message
    assert outcome.seconds == 110.0


def test_a_clone_whose_overrides_may_not_be_copied_is_deleted_and_the_job_triggered(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    overrides(api, {"DBT_TARGET": {"job": {"id": 2, "value": "ci"}}})
    api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))
    copy = api.route(method="POST", host="cloud.getdbt.com", path__regex=r"^/api/v3/.*/environment-variables/$")
    copy.respond(403, json=failure(403, "You do not have permission to perform this action."))
    delete = api.delete(f"/jobs/{CLONE_ID}/").respond(204)
    trigger = api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    statuses(api, 11, 1)
    outcome = make(clock, out, wait=False).execute(CLONE, PR, JOB_OBJ, PAYLOAD)
    assert isinstance(outcome.plan, Trigger) and outcome.cloned_job_id is None
    assert delete.call_count == 1 and trigger.call_count == 1
    assert "::warning title=Clone not allowed::dbt Cloud answered 403 when asked to copy override DBT_TARGET" in (
        out.getvalue()
    )


def test_overrides_that_cannot_be_read_keep_the_run_on_the_job(
    api: respx.MockRouter, clock: Clock, out: io.StringIO
) -> None:
    overrides(api, None, status=403)
    api.post("/jobs/").respond(json=envelope(job(CLONE_ID, name=CLONE_NAME)))  # made while the read went out
    delete = api.delete(f"/jobs/{CLONE_ID}/").respond(204)
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1)))
    statuses(api, 11, 1)
    outcome = make(clock, out, wait=False).execute(CLONE, PR, JOB_OBJ, PAYLOAD)
    assert isinstance(outcome.plan, Trigger) and outcome.cloned_job_id is None
    assert delete.call_count == 1
    assert out.getvalue().count("::warning title=Clone skipped::Could not read the environment-variable overrides") == 1
