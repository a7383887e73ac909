from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from autoscale_ci.engine import (
    ActiveRun,
    Move,
    Plan,
    Request,
    Snapshot,
    decide,
    decide_early,
    in_family,
    precheck,
    slots_in_use,
    without_clone,
)
from autoscale_ci.errors import ActionError
from autoscale_ci.markers import clone_marker

JOB = 5
OTHER_JOB = 6
CLONE = 50
SHA_NEW, SHA_OLD, SHA_OLDER = "n" * 40, "o" * 40, "p" * 40


def run(run_id: int, job_id: int = JOB, pr: int | None = 1, sha: str | None = SHA_OLD, name: str = "CI") -> ActiveRun:
    return ActiveRun(id=run_id, job_id=job_id, job_name=name, pr_number=pr, sha=sha)


def clone_run(run_id: int, pr: int, sha: str, clone_id: int = CLONE, source: int = JOB) -> ActiveRun:
    return run(run_id, job_id=clone_id, pr=pr, sha=sha, name=f"CI{clone_marker(source, pr)}")


def snap(*runs: ActiveRun, slots: int = 3, clones: frozenset[int] = frozenset()) -> Snapshot:
    return Snapshot(job_id=JOB, run_slots=slots, active_runs=runs, clone_job_ids=clones)


REQ = Request(pr_number=1, sha=SHA_NEW)


def test_closed_pr_is_skipped_before_anything_else() -> None:
    plan = decide(snap(run(1)), Request(pr_number=1, sha=SHA_NEW, closed=True))
    assert plan.move is Move.SKIP
    assert plan.decision == "skip"
    assert "closed" in plan.reason


def test_draft_pr_is_skipped_unless_drafts_are_enabled() -> None:
    assert decide(snap(), Request(pr_number=1, sha=SHA_NEW, draft=True)).move is Move.SKIP
    assert decide(snap(), Request(pr_number=1, sha=SHA_NEW, draft=True, run_on_draft=True)).move is Move.TRIGGER


def test_precheck_passes_an_open_ready_pr() -> None:
    assert precheck(REQ) is None


def test_locked_account_is_a_clear_error() -> None:
    locked = Snapshot(job_id=JOB, run_slots=3, locked=True, lock_reason="payment overdue")
    with pytest.raises(ActionError, match="payment overdue"):
        decide(locked, REQ)


def test_active_run_at_this_sha_is_followed_not_duplicated() -> None:
    plan = decide(snap(run(10, sha=SHA_NEW), run(11, sha=SHA_NEW), run(12, sha=SHA_OLD)), REQ)
    assert plan.move is Move.FOLLOW
    assert plan.follow is not None and plan.follow.id == 11
    assert plan.cancel == ()
    assert plan.decision == "follow"


def test_active_run_on_a_clone_at_this_sha_is_followed() -> None:
    plan = decide(snap(run(9, pr=2), clone_run(10, pr=1, sha=SHA_NEW)), REQ)
    assert plan.move is Move.FOLLOW
    assert plan.follow is not None and plan.follow.id == 10


def test_every_stale_run_of_the_job_and_its_clones_is_cancelled_then_job_triggered() -> None:
    runs = (run(10, sha=SHA_OLDER), run(11, sha=SHA_OLD), clone_run(12, pr=1, sha=SHA_OLD))
    plan = decide(snap(*runs), REQ)
    assert [r.id for r in plan.cancel] == [10, 11, 12]
    assert plan.move is Move.TRIGGER
    assert plan.decision == "cancel-and-retrigger"


def test_runs_of_other_jobs_and_other_prs_are_never_cancelled() -> None:
    runs = (
        run(10, job_id=OTHER_JOB, pr=1, sha=SHA_OLD),  # another job, same PR number
        run(11, pr=2, sha=SHA_OLD),  # this job, another PR
        clone_run(12, pr=1, sha=SHA_OLD, clone_id=60, source=OTHER_JOB),  # another job's clone
        run(13, pr=1, sha=SHA_OLD),  # the only stale run of this job for this PR
    )
    plan = decide(snap(*runs, slots=10), REQ)
    assert [r.id for r in plan.cancel] == [13]
    assert plan.move is Move.CLONE  # run 11 keeps the job busy


def test_idle_job_is_triggered() -> None:
    plan = decide(snap(run(10, job_id=OTHER_JOB, pr=None)), REQ)
    assert plan.move is Move.TRIGGER
    assert plan.decision == "plain-trigger"
    assert "idle" in plan.reason


def test_busy_job_with_a_free_slot_is_cloned() -> None:
    plan = decide(snap(run(10, pr=2), slots=2), REQ)
    assert plan.move is Move.CLONE
    assert plan.decision == "clone-and-trigger"
    assert plan.reuse_clone_id is None
    assert "run 10" in plan.reason and "PR #2" in plan.reason


def test_busy_job_without_a_free_slot_is_triggered_and_queues() -> None:
    plan = decide(snap(run(10, pr=2), run(11, job_id=OTHER_JOB, pr=None), slots=2), REQ)
    assert plan.move is Move.TRIGGER
    assert "queues" in plan.reason


def test_slot_usage_counts_queued_runs_across_the_account() -> None:
    runs = (run(10, pr=2), run(11, job_id=OTHER_JOB, pr=None), run(12, job_id=7, pr=None))
    assert decide(snap(*runs, slots=3), REQ).move is Move.TRIGGER
    assert decide(snap(*runs, slots=4), REQ).move is Move.CLONE


def test_cancelled_runs_free_their_slot_and_the_job() -> None:
    # Run 10 is this PR's stale run and the only reason the job is busy: after cancelling it, plain trigger.
    assert decide(snap(run(10, sha=SHA_OLD), slots=1), REQ).move is Move.TRIGGER
    # With another PR's run on the job, the cancelled run's slot becomes free for a clone.
    plan = decide(snap(run(9, pr=2), clone_run(10, pr=1, sha=SHA_OLD), slots=2), REQ)
    assert plan.move is Move.CLONE
    assert [r.id for r in plan.cancel] == [10]
    assert plan.decision == "cancel-and-retrigger"


def test_max_run_slots_caps_this_jobs_share() -> None:
    runs = (run(10, pr=2), clone_run(11, pr=3, sha=SHA_OLD, clone_id=51))
    capped = decide(snap(*runs, slots=10), Request(pr_number=1, sha=SHA_NEW, max_run_slots=2))
    assert capped.move is Move.TRIGGER
    assert "max-run-slots" in capped.reason
    assert decide(snap(*runs, slots=10), Request(pr_number=1, sha=SHA_NEW, max_run_slots=3)).move is Move.CLONE


def test_idle_clone_is_reused_only_when_clones_are_kept() -> None:
    runs = (run(10, pr=2), clone_run(11, pr=3, sha=SHA_OLD, clone_id=51))
    clones = frozenset({51, 52})
    kept = decide(snap(*runs, clones=clones), Request(pr_number=1, sha=SHA_NEW, delete_clone=False))
    assert kept.move is Move.CLONE
    assert kept.reuse_clone_id == 52  # 51 is busy
    assert decide(snap(*runs, clones=clones), REQ).reuse_clone_id is None


def test_clone_of_a_cancelled_run_is_not_reused_while_its_run_winds_down() -> None:
    runs = (run(10, pr=2), clone_run(11, pr=1, sha=SHA_OLD, clone_id=51))
    plan = decide(snap(*runs, clones=frozenset({51})), Request(pr_number=1, sha=SHA_NEW, delete_clone=False))
    assert plan.move is Move.CLONE
    assert plan.reuse_clone_id is None


def test_family_is_recognised_by_marker_or_listed_clone_id() -> None:
    s = snap(clones=frozenset({77}))
    assert in_family(run(1), s)
    assert in_family(run(2, job_id=77, name="renamed"), s)
    assert in_family(clone_run(3, pr=1, sha=SHA_OLD, clone_id=88), s)
    assert not in_family(run(4, job_id=OTHER_JOB, name=f"CI{clone_marker(OTHER_JOB, 1)}"), s)


def test_a_late_workflow_for_an_older_commit_never_cancels_the_newer_run() -> None:
    older, newer = datetime(2026, 1, 1, 12, 0, tzinfo=UTC), datetime(2026, 1, 1, 12, 1, tzinfo=UTC)
    in_flight = ActiveRun(10, JOB, "CI", 1, SHA_NEW, pushed_at=newer)
    plan = decide(snap(in_flight), Request(pr_number=1, sha=SHA_OLD, pushed_at=older))
    assert plan.move is Move.SKIP
    assert plan.cancel == ()
    assert "pushed to PR #1 after this one" in plan.reason


def test_runs_pushed_earlier_or_without_a_push_time_are_stale() -> None:
    older, newer = datetime(2026, 1, 1, 12, 0, tzinfo=UTC), datetime(2026, 1, 1, 12, 1, tzinfo=UTC)
    runs = (ActiveRun(10, JOB, "CI", 1, SHA_OLD, pushed_at=older), ActiveRun(11, JOB, "CI", 1, SHA_OLDER))
    plan = decide(snap(*runs), Request(pr_number=1, sha=SHA_NEW, pushed_at=newer))
    assert [r.id for r in plan.cancel] == [10, 11]
    # Without a push time of its own (workflow_dispatch), a request treats every other commit as stale.
    late = (ActiveRun(12, JOB, "CI", 1, SHA_OLD, pushed_at=newer),)
    assert [r.id for r in decide(snap(*late), REQ).cancel] == [12]


def test_a_run_queued_behind_its_own_job_holds_no_slot() -> None:
    executing = ActiveRun(10, JOB, "CI", 2, SHA_OLD, status=3)
    waiting_for_job = ActiveRun(11, JOB, "CI", 3, SHA_OLD, status=1)
    plan = decide(snap(executing, waiting_for_job, slots=2), REQ)
    assert plan.move is Move.CLONE
    assert "1 of 2 run slots" in plan.reason
    # A queued run of an idle job is waiting for a slot, so it counts.
    waiting_for_slot = ActiveRun(12, OTHER_JOB, "Other", None, None, status=1)
    assert decide(snap(executing, waiting_for_job, waiting_for_slot, slots=2), REQ).move is Move.TRIGGER


def test_slots_in_use() -> None:
    runs = [
        ActiveRun(1, JOB, None, None, None, status=3),
        ActiveRun(2, JOB, None, None, None, status=1),
        ActiveRun(3, OTHER_JOB, None, None, None, status=1),
        ActiveRun(4, 7, None, None, None, status=2),
    ]
    assert slots_in_use(runs) == 3
    assert slots_in_use([]) == 0


def test_decide_early_settles_only_what_the_runs_alone_settle() -> None:
    assert decide_early(snap(), REQ) == Plan(Move.TRIGGER, f"job {JOB} is idle")
    assert decide_early(snap(run(10, job_id=OTHER_JOB, pr=None)), REQ) is not None
    assert decide_early(snap(run(10, pr=2)), REQ) is None  # busy job: slots decide
    assert decide_early(snap(run(10, pr=1, sha=SHA_OLD, job_id=CLONE, name=f"CI{clone_marker(JOB, 1)}")), REQ) is None
    followed = decide_early(snap(run(10, sha=SHA_NEW)), REQ)
    assert followed is not None
    assert followed.move is Move.FOLLOW
    closed = decide_early(snap(run(10, pr=2)), Request(pr_number=1, sha=SHA_NEW, closed=True))
    assert closed is not None
    assert closed.move is Move.SKIP


def test_decide_early_agrees_with_decide() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        runs = tuple(
            ActiveRun(
                i,
                rng.choice((JOB, OTHER_JOB, CLONE)),
                rng.choice(("CI", f"CI{clone_marker(JOB, 1)}")),
                rng.choice((1, 2, None)),
                rng.choice((SHA_NEW, SHA_OLD)),
                status=rng.choice((1, 2, 3)),
            )
            for i in range(rng.randint(0, 4))
        )
        snapshot = snap(*runs, slots=rng.randint(1, 4))
        early = decide_early(snapshot, REQ)
        if early is not None:
            assert early == decide(snapshot, REQ)


def test_with_cloning_off_a_busy_job_is_triggered_and_queues() -> None:
    busy = snap(run(1, pr=2), run(2, pr=1, sha=SHA_OLD))
    assert decide(busy, REQ).move is Move.CLONE
    plan = decide(busy, Request(pr_number=1, sha=SHA_NEW, clone=False))
    assert (plan.move, plan.decision) == (Move.TRIGGER, "cancel-and-retrigger")
    assert [stale.id for stale in plan.cancel] == [2]
    assert "cloning is off (clone: false)" in plan.reason
    idle = decide(snap(), Request(pr_number=1, sha=SHA_NEW, clone=False))
    assert (idle.move, idle.reason) == (Move.TRIGGER, f"job {JOB} is idle")


def test_a_refused_clone_becomes_a_trigger_of_the_job_that_keeps_its_cancels() -> None:
    plan = decide(snap(run(1, pr=2), run(2, pr=1, sha=SHA_OLD)), REQ)
    instead = without_clone(plan, "answered 403")
    assert (instead.move, instead.decision, instead.cancel) == (Move.TRIGGER, "cancel-and-retrigger", plan.cancel)
    assert instead.reason.startswith(plan.reason)
    assert "refused the clone (answered 403)" in instead.reason
    plain = without_clone(decide(snap(run(1, pr=2)), REQ), "answered 404")
    assert plain.decision == "plain-trigger"
