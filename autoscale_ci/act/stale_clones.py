"""Cleanup mode's sweep: delete this job's clones that no run uses any more."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from autoscale_ci.act.snapshot import read_runs
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.dbt_cloud.models import Job, parse_timestamp
from autoscale_ci.rules.markers import clone_marker_prefix, clone_pr, clone_source


@dataclass(frozen=True)
class Sweep:
    """What the sweep of idle clones found and did."""

    deleted: tuple[int, ...]
    kept_busy: tuple[int, ...]
    kept_young: tuple[int, ...]


def select(
    clones: list[Job], busy: set[int], *, job_id: int, now: datetime, max_age: timedelta, closed_pr: int | None
) -> Sweep:
    """Split the clones of `job_id` into those to delete and those to keep; pure."""
    deleted: list[int] = []
    busy_ids: list[int] = []
    young: list[int] = []
    for clone in sorted(clones, key=lambda j: j.id):
        if clone_source(clone.name) != job_id:
            continue
        # A clone reused with delete-clone: false is updated just before its trigger: its age runs from then.
        stamps = [parse_timestamp(clone.definition().get(key)) for key in ("created_at", "updated_at")]
        known = [stamp for stamp in stamps if stamp is not None]
        created = max(known) if known else None
        if clone.id in busy:
            busy_ids.append(clone.id)
        elif closed_pr is not None and clone_pr(clone.name) == closed_pr:
            deleted.append(clone.id)  # its pull request is closed: no later run will want it
        elif created is not None and now - created >= max_age:
            deleted.append(clone.id)
        else:
            young.append(clone.id)
    return Sweep(tuple(deleted), tuple(busy_ids), tuple(young))


def sweep(
    client: DbtCloudClient, runtime: Runtime, *, job_id: int, max_age: timedelta, closed_pr: int | None = None
) -> Sweep:
    """Delete the clones of `job_id` that have no active run and are older than `max_age`."""
    clones = client.list_jobs(clone_marker_prefix(job_id))
    busy = {run.job_definition_id for run in read_runs(client.active_run_rows(), job_id, runtime.debug)}
    found = select(clones, busy, job_id=job_id, now=datetime.now(UTC), max_age=max_age, closed_pr=closed_pr)
    deleted = tuple(clone_id for clone_id in found.deleted if delete_clone(client, runtime, clone_id))
    return replace(found, deleted=deleted)


def delete_clone(client: DbtCloudClient, runtime: Runtime, clone_id: int, whose: str = "") -> bool:
    """Delete a clone; whether this call deleted it. Deleting clones is what cleanup mode is for: a clone the token
    may not delete is a DbtCloudError that names it and the permission."""
    deleted = client.delete_job(clone_id)
    runtime.log(
        f"Deleted clone job {clone_id}{whose}." if deleted else f"Clone job {clone_id}{whose} was already gone."
    )
    return deleted


def report_line(job_id: int, deleted: int, found: Sweep, max_age: timedelta) -> str:
    """One line for the log; `deleted` counts every clone deleted, the closed PR's included."""
    return (
        f"Cleanup of job {job_id}'s clones: {deleted} deleted, {len(found.kept_busy)} kept (a run is using them), "
        f"{len(found.kept_young)} kept (younger than {max_age})."
    )
