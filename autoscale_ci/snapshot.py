"""Reads what the decision needs from dbt Cloud: the independent reads start together, and each answer is
used as soon as the decision needs it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.dbt_cloud.errors import parse
from autoscale_ci.engine import AccountFacts, ActiveRun, Snapshot
from autoscale_ci.errors import ActionError
from autoscale_ci.markers import clone_marker_prefix, clone_source, pushed_at
from autoscale_ci.models import Account, Job, Run

# What a run of another team's job is read for when the rest of it has a shape the action does not know: enough to
# count the run slot it holds, and to know it is no run of this pull request.
_SLOT_FIELDS = ("id", "job_definition_id", "status")


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
        slot = {key: row.get(key) for key in _SLOT_FIELDS} if isinstance(row, dict) else None
        try:
            runs.append(Run.model_validate(slot))
        except ValidationError:
            debug(f"Skipped a run of another job that dbt Cloud sent in an unexpected shape ({why}).")
            continue
        debug(f"Read run {row['id']} of job {row['job_definition_id']} for its run slot only ({why}).")
    return runs


class SnapshotReader:
    """Active runs, the account, the job's own definition (and, when clones may be reused, this job's clones), read
    in parallel: the job id is known before anything is read, so its definition costs no round trip of its own."""

    def __init__(self, client: DbtCloudClient, job_id: int, *, list_clones: bool, debug: Callable[[str], None]) -> None:
        self.client = client
        self.job_id = job_id
        self._debug = debug
        self._pool = ThreadPoolExecutor(max_workers=3)
        self._account: Future[Account] = self._pool.submit(client.get_account)
        self._job: Future[Job] = self._pool.submit(client.get_job, job_id)
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
            rows = self.client.active_run_rows()
            self._runs = [run for run in read_runs(rows, self.job_id, self._debug) if run.is_active]
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
        """The job's own definition (`GET /jobs/{id}/`), the only one whole enough to copy: a job embedded in a run
        lacks fields such as `run_lint`, `compare_changes_flags` and `cost_optimization_features`."""
        job = self._job.result()
        if job.deleted:
            raise ActionError(
                f"Job {self.job_id} was deleted in dbt Cloud: set job-id to the CI job the workflow should trigger.",
                title="Invalid input: job-id",
            )
        if job.account_id != self.client.account_id:
            raise ActionError(
                f"Job {self.job_id} belongs to account {job.account_id}, not to account-id {self.client.account_id}: "
                "set account-id to the job's account.",
                title="Invalid input: job-id",
            )
        return job
