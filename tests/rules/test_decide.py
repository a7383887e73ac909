from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from autoscale_ci.errors import ActionError
from autoscale_ci.report.summary import decision
from autoscale_ci.rules.decide import (
    CONCURRENT_API_CI_PLANS,
    AccountFacts,
    ActiveRun,
    Clone,
    Follow,
    Plan,
    PrState,
    Skip,
    Snapshot,
    Trigger,
    decide,
    holds_a_slot,
    in_family,
    lock_error,
    precheck,
    queue_precheck,
    slot_arithmetic,
    slots_in_use,
    without_clone,
)
from autoscale_ci.rules.markers import PushOrder, clone_marker
from tests.rules.runs import CLONE, JOB, LATER, OTHER_JOB, PUSHED, SHA_NEW, SHA_OLD, SHA_OLDER, clone_run, run, snap


def decided(snapshot: Snapshot, request: PrState) -> Plan:
    """decide() with the account known, which always decides."""
    plan = decide(snapshot, request)
    assert plan is not None
    return plan


def moving(plan: Plan | None) -> Trigger | Clone:
    """A plan that triggers a run."""
    assert isinstance(plan, Trigger | Clone), plan
    return plan


REQ = PrState(pr_number=1, sha=SHA_NEW)


def test_closed_pr_is_skipped_before_anything_else() -> None:
    plan = decided(snap(run(1)), PrState(pr_number=1, sha=SHA_NEW, closed=True))
    assert isinstance(plan, Skip)
    assert decision(plan) == "skip"
    assert "closed" in plan.reason


def test_draft_pr_is_skipped_unless_drafts_are_enabled() -> None:
    assert isinstance(decided(snap(), PrState(pr_number=1, sha=SHA_NEW, draft=True)), Skip)
    assert isinstance(decided(snap(), PrState(pr_number=1, sha=SHA_NEW, draft=True, run_on_draft=True)), Trigger)


def test_precheck_passes_an_open_ready_pr() -> None:
    assert precheck(REQ) is None


QUEUE = "gh-readonly-queue/main/pr-7-" + "9" * 40


def test_a_push_to_a_merge_queue_branch_is_left_to_the_merge_group_event_whatever_merge_queue_says() -> None:
    for merge_queue in ("run", "skip"):
        plan = queue_precheck("push", QUEUE, merge_queue)
        assert plan == Skip(f"{QUEUE} is a merge queue branch, whose entry the merge_group event runs")


def test_a_merge_queue_entry_runs_unless_merge_queue_is_skip() -> None:
    assert queue_precheck("merge_group", QUEUE, "run") is None
    skipped = queue_precheck("merge_group", QUEUE, "skip")
    assert skipped == Skip(f"merge-queue is skip, so the merge queue entry {QUEUE} passes without a run")
    unnamed = queue_precheck("merge_group", "", "skip")
    assert unnamed is not None and "entry (unnamed) passes" in unnamed.reason


def test_events_of_no_merge_queue_go_on_to_the_pull_request() -> None:
    for event in ("pull_request", "push", "workflow_dispatch", "merge_group"):
        assert queue_precheck(event, None, "skip") is None


def test_locked_account_is_a_clear_error() -> None:
    locked = Snapshot(job_id=JOB, account=AccountFacts(3, locked=True, lock_reason="payment overdue"))
    with pytest.raises(ActionError, match="payment overdue"):
        decide(locked, REQ)


def test_active_run_at_this_sha_is_followed_not_duplicated() -> None:
    plan = decided(snap(run(10, sha=SHA_NEW), run(11, sha=SHA_NEW), run(12, sha=SHA_OLD)), REQ)
    assert isinstance(plan, Follow)
    assert plan.run.id == 11  # a Follow has nothing to cancel, by its type
    assert decision(plan) == "follow"


def test_active_run_on_a_clone_at_this_sha_is_followed() -> None:
    plan = decided(snap(run(9, pr=2), clone_run(10, pr=1, sha=SHA_NEW)), REQ)
    assert isinstance(plan, Follow)
    assert plan.run.id == 10


def test_every_stale_run_of_the_job_and_its_clones_is_cancelled_then_job_triggered() -> None:
    runs = (run(10, sha=SHA_OLDER), run(11, sha=SHA_OLD), clone_run(12, pr=1, sha=SHA_OLD))
    plan = moving(decide(snap(*runs), REQ))
    assert [r.id for r in plan.cancel] == [10, 11, 12]
    assert isinstance(plan, Trigger)
    assert decision(plan) == "cancel-and-retrigger"


def test_runs_of_other_jobs_and_other_prs_are_never_cancelled() -> None:
    runs = (
        run(10, job_id=OTHER_JOB, pr=1, sha=SHA_OLD),  # another job, same PR number
        run(11, pr=2, sha=SHA_OLD),  # this job, another PR
        clone_run(12, pr=1, sha=SHA_OLD, clone_id=60, source=OTHER_JOB),  # another job's clone
        run(13, pr=1, sha=SHA_OLD),  # the only stale run of this job for this PR
    )
    plan = moving(decide(snap(*runs, slots=10), REQ))
    assert [r.id for r in plan.cancel] == [13]
    assert isinstance(plan, Clone)  # run 11 keeps the job busy


def test_idle_job_is_triggered() -> None:
    plan = decided(snap(run(10, job_id=OTHER_JOB, pr=None)), REQ)
    assert isinstance(plan, Trigger)
    assert decision(plan) == "plain-trigger"
    assert "idle" in plan.reason


def test_busy_job_with_a_free_slot_is_cloned() -> None:
    plan = decided(snap(run(10, pr=2), slots=2), REQ)
    assert isinstance(plan, Clone)
    assert decision(plan) == "clone-and-trigger"
    assert plan.reuse_clone_id is None
    assert "run 10" in plan.reason and "PR #2" in plan.reason


def test_busy_job_without_a_free_slot_is_triggered_and_queues() -> None:
    plan = decided(snap(run(10, pr=2), run(11, job_id=OTHER_JOB, pr=None), slots=2), REQ)
    assert isinstance(plan, Trigger)
    assert "queues" in plan.reason


def test_slot_usage_counts_queued_runs_across_the_account() -> None:
    runs = (run(10, pr=2), run(11, job_id=OTHER_JOB, pr=None), run(12, job_id=7, pr=None))
    assert isinstance(decided(snap(*runs, slots=3), REQ), Trigger)
    assert isinstance(decided(snap(*runs, slots=4), REQ), Clone)


def test_cancelled_runs_free_their_slot_and_the_job() -> None:
    # Run 10 is this PR's stale run and the only reason the job is busy: after cancelling it, plain trigger.
    assert isinstance(decided(snap(run(10, sha=SHA_OLD), slots=1), REQ), Trigger)
    # With another PR's run on the job, the cancelled run's slot becomes free for a clone.
    plan = decided(snap(run(9, pr=2), clone_run(10, pr=1, sha=SHA_OLD), slots=2), REQ)
    assert isinstance(plan, Clone)
    assert [r.id for r in plan.cancel] == [10]
    assert decision(plan) == "cancel-and-retrigger"


def test_max_run_slots_caps_this_jobs_share() -> None:
    runs = (run(10, pr=2), clone_run(11, pr=3, sha=SHA_OLD, clone_id=51))
    capped = decided(snap(*runs, slots=10), PrState(pr_number=1, sha=SHA_NEW, max_run_slots=2))
    assert isinstance(capped, Trigger)
    assert "max-run-slots" in capped.reason
    assert isinstance(decided(snap(*runs, slots=10), PrState(pr_number=1, sha=SHA_NEW, max_run_slots=3)), Clone)


def test_idle_clone_is_reused_only_when_clones_are_kept() -> None:
    runs = (run(10, pr=2), clone_run(11, pr=3, sha=SHA_OLD, clone_id=51))
    clones = frozenset({51, 52})
    kept = decided(snap(*runs, clones=clones), PrState(pr_number=1, sha=SHA_NEW, delete_clone=False))
    assert isinstance(kept, Clone)
    assert kept.reuse_clone_id == 52  # 51 is busy
    reused = decided(snap(*runs, clones=clones), REQ)
    assert isinstance(reused, Clone)
    assert reused.reuse_clone_id is None


def test_clone_of_a_cancelled_run_is_not_reused_while_its_run_winds_down() -> None:
    runs = (run(10, pr=2), clone_run(11, pr=1, sha=SHA_OLD, clone_id=51))
    plan = decided(snap(*runs, clones=frozenset({51})), PrState(pr_number=1, sha=SHA_NEW, delete_clone=False))
    assert isinstance(plan, Clone)
    assert plan.reuse_clone_id is None


def test_family_is_recognised_by_marker_or_listed_clone_id() -> None:
    s = snap(clones=frozenset({77}))
    assert in_family(run(1), s)
    assert in_family(run(2, job_id=77, name="renamed"), s)
    assert in_family(clone_run(3, pr=1, sha=SHA_OLD, clone_id=88), s)
    assert not in_family(run(4, job_id=OTHER_JOB, name=f"CI{clone_marker(OTHER_JOB, 1)}"), s)


def test_a_late_workflow_for_an_older_commit_never_cancels_the_newer_run() -> None:
    older, newer = (
        PushOrder.pushed(datetime(2026, 1, 1, 12, 0, tzinfo=UTC)),
        PushOrder.pushed(datetime(2026, 1, 1, 12, 1, tzinfo=UTC)),
    )
    in_flight = ActiveRun(10, JOB, "CI", 1, SHA_NEW, order=newer)
    plan = decided(snap(in_flight), PrState(pr_number=1, sha=SHA_OLD, order=older))
    assert isinstance(plan, Skip)  # so nothing is cancelled
    assert "pushed to PR #1 after this one" in plan.reason


def test_runs_pushed_earlier_or_without_a_push_time_are_stale() -> None:
    older, newer = (
        PushOrder.pushed(datetime(2026, 1, 1, 12, 0, tzinfo=UTC)),
        PushOrder.pushed(datetime(2026, 1, 1, 12, 1, tzinfo=UTC)),
    )
    runs = (ActiveRun(10, JOB, "CI", 1, SHA_OLD, order=older), ActiveRun(11, JOB, "CI", 1, SHA_OLDER))
    plan = moving(decide(snap(*runs), PrState(pr_number=1, sha=SHA_NEW, order=newer)))
    assert [r.id for r in plan.cancel] == [10, 11]
    # Without a push time of its own (workflow_dispatch), a request treats every other commit as stale.
    late = (ActiveRun(12, JOB, "CI", 1, SHA_OLD, order=newer),)
    assert [r.id for r in moving(decide(snap(*late), REQ)).cancel] == [12]


def test_a_run_queued_behind_its_own_job_holds_no_slot() -> None:
    executing = ActiveRun(10, JOB, "CI", 2, SHA_OLD, status=3)
    waiting_for_job = ActiveRun(11, JOB, "CI", 3, SHA_OLD, status=1)
    plan = decided(snap(executing, waiting_for_job, slots=2), REQ)
    assert isinstance(plan, Clone)
    assert "1 of 2 run slots" in plan.reason
    # A queued run of an idle job is waiting for a slot, so it counts.
    waiting_for_slot = ActiveRun(12, OTHER_JOB, "Other", None, None, status=1)
    assert isinstance(decided(snap(executing, waiting_for_job, waiting_for_slot, slots=2), REQ), Trigger)


def test_slots_in_use() -> None:
    runs = [
        ActiveRun(1, JOB, None, None, None, status=3),
        ActiveRun(2, JOB, None, None, None, status=1),
        ActiveRun(3, OTHER_JOB, None, None, None, status=1),
        ActiveRun(4, 7, None, None, None, status=2),
    ]
    assert slots_in_use(runs) == 3
    assert slots_in_use([]) == 0


def test_a_stale_run_on_a_clone_is_cancelled_and_the_idle_job_triggered() -> None:
    stale_on_clone = run(10, pr=1, sha=SHA_OLD, job_id=CLONE, name=f"CI{clone_marker(JOB, 1)}")
    assert decide(snap(stale_on_clone), REQ) == Trigger(
        f"cancelling 1 run(s) of PR #1 at another commit; job {JOB} is idle", (stale_on_clone,)
    )


def test_with_cloning_off_a_busy_job_is_triggered_and_queues() -> None:
    busy = snap(run(1, pr=2), run(2, pr=1, sha=SHA_OLD))
    assert isinstance(decided(busy, REQ), Clone)
    plan = decided(busy, PrState(pr_number=1, sha=SHA_NEW, clone=False))
    assert isinstance(plan, Trigger)
    assert decision(plan) == "cancel-and-retrigger"
    assert [stale.id for stale in plan.cancel] == [2]
    assert "cloning is off (clone: false)" in plan.reason
    idle = decided(snap(), PrState(pr_number=1, sha=SHA_NEW, clone=False))
    assert idle == Trigger(f"job {JOB} is idle")


def test_a_refused_clone_becomes_a_trigger_of_the_job_that_keeps_its_cancels() -> None:
    plan = decided(snap(run(1, pr=2), run(2, pr=1, sha=SHA_OLD)), REQ)
    assert isinstance(plan, Clone)
    instead = without_clone(plan, "answered 403")
    assert (decision(instead), instead.cancel) == ("cancel-and-retrigger", plan.cancel)
    assert instead.reason.startswith(plan.reason)
    assert "refused the clone (answered 403)" in instead.reason
    busy = decided(snap(run(1, pr=2)), REQ)
    assert isinstance(busy, Clone)
    plain = without_clone(busy, "answered 404")
    assert decision(plain) == "plain-trigger"


def test_the_lock_error_names_the_reason() -> None:
    assert lock_error(AccountFacts(3)) is None
    assert lock_error(AccountFacts(3, lock_reason="renewed trial")) is None  # only `locked` decides
    error = lock_error(AccountFacts(3, locked=True))
    assert error is not None and "locked (no reason given)" in error.message


def test_a_commit_is_called_older_only_when_the_push_times_say_so() -> None:
    older = ActiveRun(10, JOB, "CI", 1, SHA_OLD, order=PUSHED)
    unknown = ActiveRun(11, JOB, "CI", 1, SHA_OLDER)
    plan = moving(decide(snap(older), PrState(pr_number=1, sha=SHA_NEW, order=LATER)))
    assert "run(s) of PR #1 at an older commit" in plan.reason
    plan = moving(decide(snap(older), REQ))  # this commit's own push time unknown (workflow_dispatch)
    assert "at another commit" in plan.reason and "older" not in plan.reason
    plan = moving(decide(snap(older, unknown), PrState(pr_number=1, sha=SHA_NEW, order=LATER)))
    assert "at other commits" in plan.reason


def on_plan(*runs: ActiveRun, plan: str | None, job_type: str | None, slots: int = 3) -> Snapshot:
    """A snapshot on an account of that plan, for a job of that type."""
    return Snapshot(job_id=JOB, active_runs=runs, account=AccountFacts(slots, plan=plan), job_type=job_type)


def typed(run_id: int, job_id: int, job_type: str | None, status: int = 3) -> ActiveRun:
    """A run of another PR of a job of that type."""
    return ActiveRun(id=run_id, job_id=job_id, job_name="J", pr_number=90 + run_id, sha=SHA_OLD, status=status,
                     job_type=job_type)  # fmt: skip


@pytest.mark.parametrize("plan", sorted(CONCURRENT_API_CI_PLANS))
def test_where_dbt_runs_a_ci_jobs_pull_requests_side_by_side_a_busy_job_is_triggered_not_cloned(plan: str) -> None:
    plan_made = moving(decide(on_plan(typed(10, JOB, "ci"), plan=plan, job_type="ci"), REQ))
    assert isinstance(plan_made, Trigger)
    assert f"dbt runs CI runs of this job concurrently on this plan ({plan})" in plan_made.reason


@pytest.mark.parametrize(
    ("plan", "job_type", "override"),
    [
        ("starter_2025", "ci", None),  # API-triggered CI runs one at a time on Starter
        ("enterprise", "other", None),  # a job not typed ci runs one at a time on every plan
        ("trial_2025", "ci", None),  # a plan the table does not know is taken as no
        (None, "ci", None),  # nor is an account that does not say
        ("enterprise", "ci", False),  # native-concurrency: false
    ],
)
def test_otherwise_a_busy_job_is_cloned(plan: str | None, job_type: str, override: bool | None) -> None:
    request = PrState(pr_number=1, sha=SHA_NEW, native_concurrency=override)
    assert isinstance(decide(on_plan(typed(10, JOB, job_type), plan=plan, job_type=job_type), request), Clone)


def test_native_concurrency_true_trusts_the_user_on_any_plan() -> None:
    request = PrState(pr_number=1, sha=SHA_NEW, native_concurrency=True)
    made = moving(decide(on_plan(typed(10, JOB, "other"), plan="usage_2026", job_type="other"), request))
    assert isinstance(made, Trigger) and "native-concurrency is true" in made.reason


@pytest.mark.parametrize(("plan", "in_use"), [("starter_2025", 1), ("enterprise_plus_2025", 1), ("team", 3), (None, 3)])
def test_runs_of_ci_jobs_hold_no_slot_where_dbt_says_so(plan: str | None, in_use: int) -> None:
    runs = [typed(10, OTHER_JOB, "ci"), typed(11, 7, "ci"), typed(12, 8, "scheduled")]
    assert slots_in_use(runs, plan) == in_use
    assert holds_a_slot(plan, "ci") == (in_use == 3)
    assert holds_a_slot(plan, "other")


def test_other_teams_ci_runs_leave_room_for_a_clone_and_a_ci_jobs_clone_needs_no_slot() -> None:
    others = [typed(11, OTHER_JOB, "ci"), typed(12, 7, "ci")]
    made = decide(on_plan(typed(10, JOB, "other"), *others, plan="starter_2025", job_type="other", slots=2), REQ)
    assert isinstance(made, Clone) and "1 of 2 run slots are in use" in made.reason
    full = [typed(11, OTHER_JOB, "scheduled"), typed(12, 7, "scheduled")]
    # On Starter a clone of a ci job runs without a slot, so full slots are no reason to queue.
    assert isinstance(
        decide(on_plan(typed(10, JOB, "ci"), *full, plan="starter_2025", job_type="ci", slots=2), REQ), Clone
    )
    assert isinstance(
        decide(on_plan(typed(10, JOB, "other"), *full, plan="starter_2025", job_type="other", slots=2), REQ), Trigger
    )


def test_the_slot_arithmetic_says_what_was_counted_and_what_not() -> None:
    runs = [
        typed(10, JOB, "other"),
        typed(11, JOB, "other", status=1),  # queued behind its own job's run
        typed(12, 7, "scheduled", status=1),  # its job waits for a slot
        typed(13, OTHER_JOB, "ci"),
    ]
    said = slot_arithmetic(runs, AccountFacts(4, plan="enterprise"))
    assert said == (
        "run slots: 4 (plan enterprise); in use 2 = 1 executing run(s) (runs 10) + 1 job(s) waiting for a slot "
        "(jobs 7); not counted: 1 run(s) queued behind their own job's run (runs 11); not counted: 1 run(s) of `ci` "
        "jobs, which hold no slot on enterprise (runs 13)"
    )


ENTRY_MADE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_a_pull_requests_own_push_never_cancels_nor_steps_aside_for_its_queue_entry() -> None:
    entry = ActiveRun(10, JOB, "CI", 1, SHA_OLD, order=PushOrder.queued(ENTRY_MADE))
    # Pushed (or labelled) later than the entry was made: the entry's check is the queue's all the same.
    request = PrState(pr_number=1, sha=SHA_NEW, order=PushOrder.pushed(ENTRY_MADE + timedelta(minutes=5)))
    plan = moving(decide(snap(entry), request))
    assert plan.cancel == ()
    assert isinstance(plan, Clone) and "busy" in plan.reason


def test_a_queue_entry_cancels_its_pull_requests_own_runs_and_its_earlier_entries_only() -> None:
    own = ActiveRun(10, JOB, "CI", 1, SHA_OLD, order=PushOrder.pushed(ENTRY_MADE + timedelta(minutes=9)))
    earlier = ActiveRun(11, JOB, "CI", 1, SHA_OLDER, order=PushOrder.queued(ENTRY_MADE - timedelta(minutes=1)))
    entry = PrState(pr_number=1, sha=SHA_NEW, order=PushOrder.queued(ENTRY_MADE))
    plan = moving(decide(snap(own, earlier), entry))  # a PR run ordered later is no reason to step aside
    assert [run.id for run in plan.cancel] == [10, 11]
    later = ActiveRun(12, JOB, "CI", 1, SHA_OLDER, order=PushOrder.queued(ENTRY_MADE + timedelta(minutes=1)))
    assert isinstance(decide(snap(later), entry), Skip)  # a later entry of the PR is in flight
