from __future__ import annotations

from datetime import UTC, datetime, timedelta

from autoscale_ci.act.stale_clones import select
from autoscale_ci.dbt_cloud.models import Job
from autoscale_ci.rules.markers import clone_marker
from tests.builders import JOB, job

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def clone(job_id: int, pr: int, age_minutes: float, source: int = JOB, updated_minutes: float | None = None) -> Job:
    created = (NOW - timedelta(minutes=age_minutes)).isoformat(sep=" ")
    updated = (NOW - timedelta(minutes=updated_minutes if updated_minutes is not None else age_minutes)).isoformat(
        sep=" "
    )
    return Job.model_validate(job(job_id, name=f"CI{clone_marker(source, pr)}", created_at=created, updated_at=updated))


def test_idle_clones_older_than_the_limit_are_deleted() -> None:
    clones = [clone(1, pr=1, age_minutes=90), clone(2, pr=2, age_minutes=10), clone(3, pr=3, age_minutes=120)]
    found = select(clones, {3}, job_id=JOB, now=NOW, max_age=timedelta(minutes=60), closed_pr=None)
    assert found.deleted == (1,)
    assert found.kept_busy == (3,)
    assert found.kept_young == (2,)


def test_clones_of_a_closed_pr_go_at_once_unless_busy() -> None:
    clones = [clone(1, pr=7, age_minutes=1), clone(2, pr=7, age_minutes=1), clone(3, pr=8, age_minutes=1)]
    found = select(clones, {2}, job_id=JOB, now=NOW, max_age=timedelta(minutes=60), closed_pr=7)
    assert found.deleted == (1,)
    assert found.kept_busy == (2,)
    assert found.kept_young == (3,)


def test_other_jobs_clones_and_plain_jobs_are_never_touched() -> None:
    others = [clone(1, pr=1, age_minutes=999, source=JOB + 1), Job.model_validate(job(2, name=f"CI [autoscale {JOB}"))]
    found = select(others, set(), job_id=JOB, now=NOW, max_age=timedelta(0), closed_pr=1)
    assert found == select([], set(), job_id=JOB, now=NOW, max_age=timedelta(0), closed_pr=1)
    assert found.deleted == ()


def test_a_clone_without_a_readable_creation_time_is_kept() -> None:
    # It may be one a running step has just made and not yet triggered.
    unknown = Job.model_validate(job(1, name=f"CI{clone_marker(JOB, 1)}", created_at="yesterday", updated_at="today"))
    found = select([unknown], set(), job_id=JOB, now=NOW, max_age=timedelta(minutes=60), closed_pr=None)
    assert found.deleted == ()
    assert found.kept_young == (1,)


def test_a_clone_reused_lately_counts_as_young() -> None:
    # delete-clone: false updates an idle clone just before triggering it; cleanup must not delete it meanwhile.
    reused = clone(1, pr=3, age_minutes=600, updated_minutes=1)
    found = select([reused], set(), job_id=JOB, now=NOW, max_age=timedelta(minutes=60), closed_pr=None)
    assert found.kept_young == (1,)
