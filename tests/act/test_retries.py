from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from autoscale_ci.act.leftovers import Leftovers
from autoscale_ci.act.retries import RETRIED, TRIGGERED, Retries
from autoscale_ci.act.waiting import Waiting
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report.artifacts import Findings
from autoscale_ci.report.failed_step import FailedStep
from autoscale_ci.report.results import Node, RunResults
from autoscale_ci.rules.markers import PushOrder, push_marker
from autoscale_ci.rules.verdict import RunStatus
from tests.builders import ACCOUNT, HOST, JOB, SHA_A, SHA_B, TOKEN, envelope, failure, run

PR = PullRequest(number=7, head_sha=SHA_A)
PUSHED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
PAYLOAD = {"cause": "c", "git_sha": SHA_A, "github_pull_request_id": 7, "schema_override": f"dbt_cloud_pr_{JOB}_7"}
DROPPED = "Database Error in model stg_orders\n  server closed the connection unexpectedly"
FAILED = Run.model_validate(run(100, status=20, pr=7, sha=SHA_A))


class Cancels(list[int]):
    """The runs a retry asked to cancel."""

    def __call__(self, run_id: int) -> bool:
        self.append(run_id)
        return True


def retries(attempts: int = 1, *, seconds_left: float = float("inf")) -> tuple[Retries, io.StringIO]:
    out = io.StringIO()
    runtime = Runtime({}, out)
    client = DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None, max_attempts=2, user_agent="test")
    waiting = Waiting(
        client, runtime, job_id=JOB, poll_interval=1.0, deadline=float("inf"), clock=lambda: 0.0,
        sleep=lambda _s: None, elapsed=lambda: "0m00s",
    )  # fmt: skip
    found = Retries(client, runtime, Leftovers(runtime), waiting, attempts=attempts, seconds_left=lambda: seconds_left)
    return found, out


def findings(message: str = DROPPED, status: str = "error") -> Findings:
    return Findings(RunResults({status: 1}, (Node("model.p.stg_orders", status, message),)))


def no_newer_runs(api: respx.MockRouter) -> None:
    api.get("/runs/").respond(json=envelope([]))
    api.get("/jobs/").respond(json=envelope([]))


def test_a_failure_on_weather_takes_an_attempt_while_any_is_left(api: respx.MockRouter) -> None:
    no_newer_runs(api)
    found, _ = retries(attempts=1)
    assert found.cause(RunStatus.ERROR, findings(), FAILED, PR) == "server closed the connection unexpectedly"
    assert found.cause(RunStatus.ERROR, findings(), FAILED, PR) is None  # none left
    short, out = retries(attempts=3, seconds_left=119)
    assert short.cause(RunStatus.ERROR, findings(), FAILED, PR) is None  # under two minutes left
    assert "only 119 s of timeout-minutes are left" in out.getvalue() and short.left == 3
    long_run = FAILED.model_copy(update={"run_duration": "00:10:00"})
    assert short.cause(RunStatus.ERROR, findings(), long_run, PR) is None
    enough, _ = retries(attempts=3, seconds_left=601)
    assert enough.cause(RunStatus.ERROR, findings(), long_run, PR) is not None


def test_a_real_failure_or_another_verdict_takes_none(api: respx.MockRouter) -> None:
    no_newer_runs(api)
    found, _ = retries(attempts=3)
    assert found.cause(RunStatus.ERROR, findings('relation "raw.orders" does not exist'), FAILED, PR) is None
    assert found.cause(RunStatus.ERROR, findings("Got 3 results", "fail"), FAILED, PR) is None
    assert found.cause(RunStatus.CANCELLED, findings(), FAILED, PR) is None
    refused = Findings(failed_step=FailedStep(4, "Invoke dbt with `dbt build`", (), False, ("Connection refused",)))
    assert found.cause(RunStatus.ERROR, refused, FAILED, PR) == "Connection refused"
    assert found.left == 2


def test_a_newer_commits_run_takes_over_and_nothing_is_tried_again(api: respx.MockRouter) -> None:
    newer = run(101, pr=7, sha=SHA_B)
    newer["trigger"]["cause"] = "x" + push_marker(PUSHED + timedelta(minutes=5))
    api.get("/runs/").respond(json=envelope([newer]))
    api.get("/jobs/").respond(json=envelope([]))
    found, out = retries(attempts=1)
    ordered = PullRequest(number=7, head_sha=SHA_A, order=PushOrder.pushed(PUSHED))
    assert found.cause(RunStatus.ERROR, findings(), FAILED, ordered) is None
    assert "has taken over: it is not tried again" in out.getvalue() and found.left == 1


def kept(run_id: int) -> dict[str, Any]:
    retried = run(run_id, status=1, pr=7, sha=SHA_A)
    retried["trigger"].update(cause="Retry of run 100", schema_override=PAYLOAD["schema_override"])
    return retried


def test_dbt_clouds_retry_is_used_when_it_may_and_keeps_the_trigger(api: respx.MockRouter) -> None:
    api.get("/runs/100/").respond(json=envelope({**run(100, status=20), "can_retry": True}))
    api.post("/runs/100/retry/").respond(json=envelope(kept(101)))
    api.get("/runs/101/").respond(json=envelope(kept(101)))
    found, _ = retries()
    cancelled = Cancels()
    new, how = found.again(FAILED, PAYLOAD, cancelled)
    assert (new.id, how, cancelled) == (101, RETRIED, [])


def test_a_retry_that_lost_the_trigger_is_cancelled_and_replaced(api: respx.MockRouter) -> None:
    lost = {**run(101, status=1), "trigger": {"cause": "Retry of run 100"}}
    api.get("/runs/100/").respond(json=envelope({**run(100, status=20), "can_retry": True}))
    api.post("/runs/100/retry/").respond(json=envelope(lost))
    api.get("/runs/101/").respond(json=envelope(lost))
    trigger = api.post(f"/jobs/{JOB}/run/").respond(json=envelope(kept(102)))
    found, out = retries()
    cancelled = Cancels()
    new, how = found.again(FAILED, PAYLOAD, cancelled)
    assert (new.id, how, cancelled) == (102, TRIGGERED, [101])
    assert "without the pull request's git_sha, schema_override, github_pull_request_id" in out.getvalue()
    assert trigger.calls.last.request.content == httpx.Request("POST", "/", json=PAYLOAD).content


def test_a_run_dbt_cloud_cannot_retry_or_a_refused_retry_is_triggered_afresh(api: respx.MockRouter) -> None:
    api.get("/runs/100/").respond(
        json=envelope({**run(100, status=20), "can_retry": False, "retry_not_supported_reason": "RETRY_NO_RUN_RESULTS"})
    )
    api.post(f"/jobs/{JOB}/run/").respond(json=envelope(kept(102)))
    found, out = retries()
    assert found.again(FAILED, PAYLOAD, lambda _id: True)[1] == TRIGGERED
    assert "cannot retry run 100 from its point of failure (RETRY_NO_RUN_RESULTS)" in out.getvalue()
    api.get("/runs/100/").respond(json=envelope({**run(100, status=20), "can_retry": True}))
    api.post("/runs/100/retry/").respond(400, json=failure(400, "Run 100 cannot be retried: RETRY_NOT_LATEST_RUN."))
    assert found.again(FAILED, PAYLOAD, lambda _id: True)[1] == TRIGGERED
    assert "did not retry run 100" in out.getvalue() and "RETRY_NOT_LATEST_RUN" in out.getvalue()


def test_an_ambiguous_retry_finds_the_run_it_made_before_anything_is_sent_again(api: respx.MockRouter) -> None:
    api.get("/runs/100/").respond(json=envelope({**run(100, status=20), "can_retry": True}))
    retry = api.post("/runs/100/retry/")
    retry.side_effect = [httpx.Response(502)]
    api.get("/runs/").respond(json=envelope([kept(101)]))
    api.get("/runs/101/").respond(json=envelope(kept(101)))
    found, _ = retries()
    new, how = found.again(FAILED, PAYLOAD, lambda _id: True)
    assert (new.id, how, retry.call_count) == (101, RETRIED, 1)


def test_a_failed_read_of_later_runs_takes_no_attempt(api: respx.MockRouter) -> None:
    api.get("/runs/").respond(403, json=failure(403, "Forbidden"))
    api.get("/jobs/").respond(json=envelope([]))
    found, out = retries(attempts=1)
    assert found.cause(RunStatus.ERROR, findings(), FAILED, PR) is None
    assert "the read of later runs failed" in out.getvalue() and found.left == 1


def test_a_lost_retry_that_cannot_be_cancelled_stops_the_attempts(api: respx.MockRouter) -> None:
    lost = {**run(101, status=1), "trigger": {"cause": "Retry of run 100"}}
    api.get("/runs/100/").respond(json=envelope({**run(100, status=20), "can_retry": True}))
    api.post("/runs/100/retry/").respond(json=envelope(lost))
    api.get("/runs/101/").respond(json=envelope(lost))
    trigger = api.post(f"/jobs/{JOB}/run/")
    found, _ = retries()
    with pytest.raises(DbtCloudError, match="run 101, dbt Cloud's retry without the pull request's trigger"):
        found.again(FAILED, PAYLOAD, lambda _id: False)
    assert not trigger.called  # no second run beside one that builds without the PR's schema
