"""Reads what the decision needs from dbt Cloud: the independent reads start together, and each answer is
used as soon as the decision needs it."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.engine import AccountFacts, ActiveRun, Snapshot
from autoscale_ci.errors import ActionError
from autoscale_ci.markers import clone_marker_prefix, clone_source, pushed_at
from autoscale_ci.models import Account, Job, Run


def as_active(run: Run) -> ActiveRun:
    """The engine's view of a run."""
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


class SnapshotReader:
    """Active runs, the account (and, when clones may be reused, this job's clones), read in parallel."""

    def __init__(self, client: DbtCloudClient, job_id: int, *, list_clones: bool) -> None:
        self.client = client
        self.job_id = job_id
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._account: Future[Account] = self._pool.submit(client.get_account)
        self._clones: Future[list[Job]] | None = (
            self._pool.submit(client.list_jobs, clone_marker_prefix(job_id)) if list_clones else None
        )
        self._runs: list[Run] | None = None

    def __enter__(self) -> SnapshotReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        # A read the decision did not need (the account, on an idle job) may still be in flight: let it finish.
        self._pool.shutdown(wait=True)

    def runs(self) -> list[Run]:
        """Every active run in the account, read on the calling thread: the decision always waits for them."""
        if self._runs is None:
            self._runs = [run for run in self.client.active_runs() if run.is_active]
        return self._runs

    def without_account(self) -> Snapshot:
        """The snapshot before the account (slots, lock) is known: enough for what the active runs alone settle."""
        return Snapshot(job_id=self.job_id, active_runs=tuple(map(as_active, self.runs())))

    def account(self) -> Account | None:
        """The account as read, or None when it could not be read (the decision reports that on its own)."""
        try:
            return self._account.result()
        except ActionError:
            return None

    def complete(self) -> Snapshot:
        """The whole snapshot; waits for the account (and the clone list)."""
        account = self._account.result()
        clones = self._clones.result() if self._clones is not None else []
        return Snapshot(
            job_id=self.job_id,
            active_runs=tuple(map(as_active, self.runs())),
            clone_job_ids=frozenset(clone.id for clone in clones if clone_source(clone.name) == self.job_id),
            account=AccountFacts(account.run_slots, account.locked, account.lock_reason),
        )

    def job(self) -> Job:
        """The job's definition, for a clone: from its busy run when that carries it whole, else read."""
        included = [
            run.job.as_job(self.job_id) for run in self.runs() if run.job_definition_id == self.job_id and run.job
        ]
        job = next((job for job in included if job is not None), None) or self.client.get_job(self.job_id)
        if job.account_id != self.client.account_id:
            raise ActionError(
                f"Job {self.job_id} belongs to account {job.account_id}, not to account-id {self.client.account_id}: "
                "set account-id to the job's account.",
                title="Invalid input: job-id",
            )
        return job
