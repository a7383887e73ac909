"""Reads what the decision needs from dbt Cloud, the independent reads in parallel."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from autoscale_ci.clone import clone_source, marker_prefix
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.engine import ActiveRun, Snapshot
from autoscale_ci.errors import ActionError
from autoscale_ci.models import Account, Job, Run
from autoscale_ci.payload import pushed_at


@dataclass(frozen=True)
class Observed:
    """The snapshot for the engine plus the objects the executor needs."""

    snapshot: Snapshot
    account: Account
    job: Job


def _active(run: Run) -> ActiveRun:
    return ActiveRun(
        id=run.id,
        job_id=run.job_definition_id,
        job_name=run.job.name if run.job else None,
        pr_number=run.pr_number,
        sha=run.sha,
        href=run.href,
        pushed_at=pushed_at(run.trigger.cause if run.trigger else None),
        status=run.status,
    )


def observe(client: DbtCloudClient, job_id: int, *, list_clones: bool) -> Observed:
    """Account, job, active runs (and, when clones may be reused, this job's clones) in one round trip."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        account_f = pool.submit(client.get_account)
        job_f = pool.submit(client.get_job, job_id)
        runs_f = pool.submit(client.active_runs)
        clones_f: Future[list[Job]] | None = (
            pool.submit(client.list_jobs, marker_prefix(job_id)) if list_clones else None
        )
        # The account and job say most about a wrong input, so their errors are raised first.
        account, job, runs = account_f.result(), job_f.result(), runs_f.result()
        clones = clones_f.result() if clones_f is not None else []
    if job.account_id != client.account_id:
        raise ActionError(
            f"Job {job_id} belongs to account {job.account_id}, not to account-id {client.account_id}: "
            "set account-id to the job's account.",
            title="Invalid input: job-id",
        )
    snapshot = Snapshot(
        job_id=job_id,
        run_slots=account.run_slots,
        active_runs=tuple(_active(run) for run in runs if run.is_active),
        clone_job_ids=frozenset(clone.id for clone in clones if clone_source(clone.name) == job_id),
        locked=account.locked,
        lock_reason=account.lock_reason,
    )
    return Observed(snapshot=snapshot, account=account, job=job)
