"""Active runs and snapshots for the rules' tests."""

from __future__ import annotations

from datetime import UTC, datetime

from autoscale_ci.rules.decide import AccountFacts, ActiveRun, Snapshot
from autoscale_ci.rules.markers import PushOrder, clone_marker

JOB = 5
OTHER_JOB = 6
CLONE = 50
SHA_NEW, SHA_OLD, SHA_OLDER = "n" * 40, "o" * 40, "p" * 40


def run(run_id: int, job_id: int = JOB, pr: int | None = 1, sha: str | None = SHA_OLD, name: str = "CI") -> ActiveRun:
    return ActiveRun(id=run_id, job_id=job_id, job_name=name, pr_number=pr, sha=sha)


def clone_run(run_id: int, pr: int, sha: str, clone_id: int = CLONE, source: int = JOB) -> ActiveRun:
    return run(run_id, job_id=clone_id, pr=pr, sha=sha, name=f"CI{clone_marker(source, pr)}")


def snap(*runs: ActiveRun, slots: int = 3, clones: frozenset[int] = frozenset()) -> Snapshot:
    return Snapshot(job_id=JOB, active_runs=runs, clone_job_ids=clones, account=AccountFacts(slots))


PUSHED = PushOrder.pushed(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
LATER = PushOrder.pushed(datetime(2026, 1, 1, 12, 1, tzinfo=UTC))
