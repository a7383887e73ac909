"""Reads what the decision needs from dbt Cloud: the independent reads start together, and each answer is
used as soon as the decision needs it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from pydantic import ValidationError

from autoscale_ci.act.threads import in_background
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.dbt_cloud.errors import parse
from autoscale_ci.dbt_cloud.models import RUNNING, Account, Job, Run
from autoscale_ci.errors import ActionError
from autoscale_ci.rules.decide import AccountFacts, ActiveRun, Snapshot
from autoscale_ci.rules.markers import clone_marker_prefix, clone_source, push_order

# A run of another team's job whose shape the action does not know is read for the run slot it holds, and known to be
# no run of this pull request. Listed among the active runs, it is taken as running, of a job no one knows, when even
# its status or job cannot be read: a slot wrongly counted free would let a clone take a slot that is not there.
UNKNOWN_JOB = 0


def as_active(run: Run) -> ActiveRun:
    """The rules' view of a run."""
    return ActiveRun(
        id=run.id,
        job_id=run.job_definition_id,
        job_name=run.job.name if run.job else None,
        pr_number=run.pr_number,
        sha=run.sha,
        href=run.href,
        order=push_order(run.trigger.cause if run.trigger else None),
        status=run.status,
        job_type=run.job.job_type if run.job else None,
    )


def of_family(row: Mapping[str, Any], job_id: int) -> bool:
    """Whether a run as dbt Cloud sent it is a run of `job_id` or of one of its clones (by the clone's name)."""
    job = row.get("job")
    name = job.get("name") if isinstance(job, dict) else None
    return row.get("job_definition_id") == job_id or clone_source(name if isinstance(name, str) else None) == job_id


def read_runs(rows: list[Any], job_id: int, debug: Callable[[str], None]) -> list[Run]:
    """Runs as dbt Cloud sent them: those of `job_id` and its clones strictly (a shape the action cannot read fails
    the step: its decision rests on them), others leniently. Another team's odd row is read for its slot alone, or
    skipped when even that is missing; one debug line each."""
    runs: list[Run] = []
    for row in rows:
        if isinstance(row, dict) and of_family(row, job_id):
            runs.append(parse(Run, row, "list runs"))
            continue
        try:
            runs.append(Run.model_validate(row))
            continue
        except ValidationError as exc:
            why = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors()[:2])
        run_id = row.get("id") if isinstance(row, dict) else None
        if not isinstance(run_id, int) or isinstance(run_id, bool):
            debug(f"Skipped a run of another job that dbt Cloud sent in an unexpected shape ({why}).")
            continue
        job_id, status = row.get("job_definition_id"), row.get("status")
        job_id = job_id if type(job_id) is int else UNKNOWN_JOB
        runs.append(Run(id=run_id, job_definition_id=job_id, status=status if type(status) is int else RUNNING))
        debug(f"Read run {run_id} of job {job_id} for its run slot only ({why}).")
    return runs


class SnapshotReader:
    """Active runs, the account, the job's own definition (and, when clones may be reused, this job's clones), read
    in parallel: the job id is known before anything is read, so its definition costs no round trip of its own."""

    def __init__(self, client: DbtCloudClient, job_id: int, *, list_clones: bool, debug: Callable[[str], None]) -> None:
        self.client = client
        self.job_id = job_id
        self._debug = debug
        # On daemon threads: a read still retrying when the step is cancelled never holds the step past the runner's
        # kill; on a normal path the host check waits for the account anyway.
        self._account: Future[Account] = in_background(client.get_account)
        self._job: Future[Job] = in_background(client.get_job, job_id)
        self._clones: Future[list[Job]] | None = (
            in_background(client.list_jobs, clone_marker_prefix(job_id)) if list_clones else None
        )
        self._runs: list[Run] | None = None

    def runs(self) -> list[Run]:
        """Every active run in the account, read on the calling thread: the decision always waits for them."""
        if self._runs is None:
            rows = self.client.active_run_rows()
            self._runs = [run for run in read_runs(rows, self.job_id, self._debug) if run.is_active]
        return self._runs

    def account(self) -> Account | None:
        """The account as read, or None when it could not be read (the decision reports that on its own)."""
        try:
            return self._account.result()
        except ActionError:
            return None

    def complete(self) -> Snapshot:
        """The whole snapshot; waits for the account, the job's own read (its type) and the clone list."""
        # The runs first: they are read on this thread, so the other reads run beside them rather than before them.
        runs = self.runs()
        account = self._account.result()
        clones = self._clones.result() if self._clones is not None else []
        return Snapshot(
            job_id=self.job_id,
            active_runs=tuple(map(as_active, runs)),
            clone_job_ids=frozenset(clone.id for clone in clones if clone_source(clone.name) == self.job_id),
            account=AccountFacts(account.run_slots, account.locked, account.lock_reason, account.plan),
            job_type=self._job_type(),
        )

    def _job_type(self) -> str | None:
        """The job's type from its own read; None when that read failed (a clone then reports why on its own)."""
        try:
            return self._job.result().job_type
        except ActionError:
            return None

    def deleted_job(self) -> ActionError:
        """The error for a job-id whose job was deleted."""
        return ActionError(
            f"Job {self.job_id} was deleted in dbt Cloud: set job-id to the CI job the workflow should trigger.",
            title="Invalid input: job-id",
        )

    def job_deleted(self) -> bool:
        """Whether the job's own read says it was deleted (False when that read failed)."""
        try:
            return self._job.result().deleted
        except ActionError:
            return False

    def job_if_readable(self) -> Job | None:
        """The job's own definition, or None when it could not be read or was deleted (the trigger then says why)."""
        try:
            job = self._job.result()
        except ActionError:
            return None
        return None if job.deleted else job

    def job(self) -> Job:
        """The job's own definition (`GET /jobs/{id}/`), the only one whole enough to copy: a job embedded in a run
        lacks fields such as `run_lint`, `compare_changes_flags` and `cost_optimization_features`."""
        job = self._job.result()
        if job.deleted:
            raise self.deleted_job()
        if job.account_id != self.client.account_id:
            raise ActionError(
                f"Job {self.job_id} belongs to account {job.account_id}, not to account-id {self.client.account_id}: "
                "set account-id to the job's account.",
                title="Invalid input: job-id",
            )
        return job
