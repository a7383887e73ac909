from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from autoscale_ci.rules.decide import (
    ActiveRun,
    Follow,
    Trigger,
)
from autoscale_ci.rules.markers import PushOrder
from autoscale_ci.rules.verdict import (
    FinishedRun,
    RunStatus,
    Verdict,
    decide_again,
    explained,
    not_waited_for,
    superseded_by,
    timed_out,
    verdict,
    with_results,
)
from tests.rules.runs import JOB, LATER, OTHER_JOB, PUSHED, SHA_NEW, SHA_OLD, clone_run, run


def finished(status: int, message: str | None = None) -> FinishedRun:
    return FinishedRun(20, status, SHA_OLD, "https://run/20", message)


def test_a_successful_run_passes_and_a_failed_one_fails_with_dbt_clouds_message() -> None:
    assert verdict(finished(10), 1, "ooooooo", None) == Verdict(RunStatus.SUCCESS)
    failed = verdict(finished(20, "Database Error in model x"), 1, "ooooooo", None)
    assert failed is not None
    assert (failed.status, failed.exit_code) == (RunStatus.ERROR, 1)
    assert failed.message == "dbt Cloud run 20 failed: Database Error in model x. See the run's logs: https://run/20"


STEP = "step 4 (`dbt build`)"
ERRORS = ("Database Error in model stg_orders", 'relation "raw.orders" does not exist')


@pytest.mark.parametrize("said", ["dbt command failed", "dbt command failed.", None])
def test_a_failure_dbt_cloud_does_not_explain_is_told_by_its_failed_step(said: str | None) -> None:
    run = finished(20, said)
    failed = verdict(run, 1, "ooooooo", None)
    assert failed is not None
    told = explained(failed, run, STEP, ERRORS)
    assert told.message == (
        'dbt Cloud run 20 failed in step 4 (`dbt build`): Database Error in model stg_orders; relation "raw.orders" '
        "does not exist. See the run's logs: https://run/20"
    )
    assert (told.status, told.exit_code) == (RunStatus.ERROR, 1)
    assert explained(failed, run, STEP, ()).message.startswith("dbt Cloud run 20 failed in step 4 (`dbt build`). ")


def test_dbt_clouds_own_explanation_and_other_verdicts_are_kept() -> None:
    run = finished(20, "Database Error in model x")
    failed = verdict(run, 1, "ooooooo", None)
    assert failed is not None
    assert explained(failed, run, STEP, ERRORS) == failed
    assert explained(failed, finished(20, "dbt command failed"), None, ERRORS) == failed  # no failed step known
    passed = Verdict(RunStatus.SUCCESS)
    assert explained(passed, finished(10, "dbt command failed"), STEP, ERRORS) == passed


def test_a_cancelled_run_is_superseded_only_by_a_newer_push() -> None:
    superseded = verdict(finished(30), 1, "ooooooo", SHA_NEW)
    assert superseded is not None
    assert (superseded.status, superseded.exit_code, superseded.superseded_by) == (RunStatus.SUPERSEDED, 0, SHA_NEW)
    assert "commit nnnnnnn of PR #1 superseded ooooooo" in superseded.message
    cancelled = verdict(finished(30), 1, "ooooooo", None)
    assert cancelled is not None
    assert (cancelled.status, cancelled.exit_code) == (RunStatus.CANCELLED, 1)


@pytest.mark.parametrize(
    ("later", "expected"),
    [
        (ActiveRun(21, JOB, "CI", 1, SHA_NEW, order=LATER), SHA_NEW),
        (clone_run(21, 1, SHA_NEW), None),  # no push time: not known to be newer
        (ActiveRun(21, JOB, "CI", 1, SHA_NEW, order=PUSHED), None),  # pushed at the same time: a re-run
        (ActiveRun(21, JOB, "CI", 2, SHA_NEW, order=LATER), None),  # another PR
        (ActiveRun(21, OTHER_JOB, "Other", 1, SHA_NEW, order=LATER), None),  # another job
        (ActiveRun(21, JOB, "CI", 1, SHA_OLD, order=LATER), None),  # the same commit again
        (ActiveRun(19, JOB, "CI", 1, SHA_NEW, order=LATER), None),  # started before ours
    ],
)
def test_what_supersedes_a_cancelled_run(later: ActiveRun, expected: str | None) -> None:
    assert superseded_by(finished(30), JOB, 1, PUSHED, [later]) == expected
    assert superseded_by(finished(30), JOB, 1, None, [later]) is None  # our own push time unknown


def test_with_wait_false_a_failure_does_not_fail_the_step() -> None:
    failed = Verdict(RunStatus.ERROR, 1, "dbt Cloud run 20 failed.")
    assert not_waited_for(failed) == Verdict(
        RunStatus.ERROR, 0, "dbt Cloud run 20 failed. (wait is false, so the step does not fail)"
    )
    assert not_waited_for(Verdict(RunStatus.SUCCESS)) == Verdict(RunStatus.SUCCESS)


def test_a_lost_followed_run_is_decided_again_once() -> None:
    follow = Follow("in flight", run(10, sha=SHA_NEW))
    assert decide_again(follow, RunStatus.CANCELLED, 1)
    assert not decide_again(follow, RunStatus.CANCELLED, 2)
    assert not decide_again(follow, RunStatus.SUPERSEDED, 1)
    assert not decide_again(Trigger("idle"), RunStatus.CANCELLED, 1)


def test_run_status_of_dbt_clouds_codes() -> None:
    assert [RunStatus.of(code) for code in (1, 2, 3, 10, 20, 30)] == [
        RunStatus.QUEUED,
        RunStatus.STARTING,
        RunStatus.RUNNING,
        RunStatus.SUCCESS,
        RunStatus.ERROR,
        RunStatus.CANCELLED,
    ]
    assert RunStatus.of(99) is RunStatus.ERROR


TIMED_OUT = "This run timed out after running for 30 seconds, which exceeded the configured timeout of 30 seconds."


def test_a_run_dbt_cloud_cancelled_for_its_timeout_is_a_timeout_with_dbt_clouds_words() -> None:
    run_ = finished(30, TIMED_OUT)
    assert timed_out(run_)
    judged = verdict(run_, 1, "ooooooo", None)  # no second look: no newer commit is involved
    assert judged is not None
    assert (judged.status, judged.exit_code) == (RunStatus.TIMEOUT, 1)
    assert judged.message.startswith(f"dbt Cloud cancelled run 20 because it outlasted its timeout: {TIMED_OUT[:-1]}.")
    assert not timed_out(finished(30, "Cancelled by user."))
    assert not timed_out(finished(20, TIMED_OUT))


def test_a_cancelled_run_shows_dbt_clouds_message() -> None:
    judged = verdict(finished(30, "Cancelled by user."), 1, "ooooooo", None)
    assert judged is not None
    assert "was cancelled before it finished: Cancelled by user. Run:" in judged.message


def test_a_success_that_built_nothing_is_a_warning_and_still_a_success() -> None:
    success = Verdict(RunStatus.SUCCESS)
    empty = with_results(success, 20, 0)
    assert (empty.status, empty.exit_code) == (RunStatus.SUCCESS, 0)
    assert "built nothing" in empty.message
    assert with_results(success, 20, 5) == success
    assert with_results(success, 20, None) == success  # no results to read: nothing to say
    failed = Verdict(RunStatus.ERROR, 1, "failed")
    assert with_results(failed, 20, 0) == failed


def test_a_queue_entry_takes_over_from_its_pull_requests_pushes_and_only_a_later_entry_from_an_entry() -> None:
    made = datetime(2026, 1, 1, 11, 0, tzinfo=UTC)  # made before the push's time: entries and pushes never compare
    entry = ActiveRun(21, JOB, "CI", 1, SHA_NEW, order=PushOrder.queued(made))
    assert superseded_by(finished(30), JOB, 1, PUSHED, [entry]) == SHA_NEW
    assert superseded_by(finished(30), JOB, 1, None, [entry]) is None  # our own push time unknown
    ours = PushOrder.queued(made)
    assert superseded_by(finished(30), JOB, 1, ours, [ActiveRun(21, JOB, "CI", 1, SHA_NEW, order=LATER)]) is None
    later_entry = ActiveRun(21, JOB, "CI", 1, SHA_NEW, order=PushOrder.queued(made + timedelta(minutes=1)))
    assert superseded_by(finished(30), JOB, 1, ours, [later_entry]) == SHA_NEW
