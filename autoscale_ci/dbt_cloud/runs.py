"""The run endpoints of dbt Cloud API v2: the account's active and recent runs, one run and its artifacts, and a
trigger that is never sent twice, or a cancel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from autoscale_ci.dbt_cloud.calls import PAGE_SIZE, Calls
from autoscale_ci.dbt_cloud.errors import DbtCloudError, parse, user_message
from autoscale_ci.dbt_cloud.models import ACTIVE_STATUSES, ERROR, PR_FIELDS, SUCCESS, Run, parse_timestamp

RELATED = '["trigger","job"]'
# The same, with the run's steps and their logs so far: for a caller that reads how far the run has got.
RELATED_WITH_STEPS = '["trigger","job","run_steps"]'
# The fix of a 400 to a trigger: its body is built from the step's inputs.
INPUTS_BUILT_IT = (
    "check the inputs the trigger was built from (cause, schema-override, git-branch and the *-override inputs)"
)


def _status_in(statuses: tuple[int, ...]) -> str:
    # One JSON-style value, as the clients that have run against the live API for years send it.
    return "[" + ",".join(map(str, statuses)) + "]"


class RunEndpoints(Calls):
    """The runs of one account: read, triggered and cancelled."""

    def _runs_params(
        self, *, job_id: int | None, statuses: tuple[int, ...], id_gt: int | None, order_by: str
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"include_related": RELATED, "order_by": order_by}
        if job_id is not None:
            params["job_definition_id"] = job_id
        if statuses:
            params["status__in"] = _status_in(statuses)
        if id_gt is not None:
            params["id__gt"] = id_gt
        return params

    def active_run_rows(self) -> list[Any]:
        """Every queued, starting or running run in the account, as dbt Cloud sent it: runs of other teams' jobs
        may carry any shape, so the caller decides which rows to read strictly."""
        params = self._runs_params(job_id=None, statuses=ACTIVE_STATUSES, id_gt=None, order_by="id")
        return self._keyed("/runs/", params, operation="list runs")

    def recent_run_rows(
        self,
        *,
        job_id: int | None = None,
        id_gt: int | None = None,
        statuses: tuple[int, ...] = (),
        limit: int = PAGE_SIZE,
        attempts: int | None = None,
    ) -> list[Any]:
        """One page of runs, newest first, as dbt Cloud sent them: a read that stays one request however busy the
        account is (enough to find a run made moments ago)."""
        params = self._runs_params(job_id=job_id, statuses=statuses, id_gt=id_gt, order_by="-id")
        page = {**params, "limit": limit, "offset": 0}
        return self._page("/runs/", page, operation="list runs", attempts=attempts).rows

    def get_run(self, run_id: int, *, related: str = RELATED, attempts: int | None = None) -> Run:
        """One run with the related objects asked for (by default its trigger and job); `attempts` in all, for a
        caller that paces its own retries."""
        data, _ = self._call(
            "GET",
            f"/runs/{run_id}/",
            operation=f"read run {run_id}",
            attempts=attempts,
            params={"include_related": related},
        )
        return parse(Run, data, f"read run {run_id}")

    def get_artifact(self, run_id: int, path: str, *, step: int | None = None) -> bytes:
        """A file a finished run produced, such as run_results.json, as dbt Cloud stores it: from the given step,
        or the run's last."""
        params = {"step": step} if step is not None else None
        response = self._transport.send("GET", f"/runs/{run_id}/artifacts/{path}", idempotent=True, params=params)
        return _artifact(response, response.content, run_id, path)

    def get_artifact_within(
        self, run_id: int, path: str, limit: int, *, step: int | None = None, seconds: float = 120.0
    ) -> bytes | None:
        """The same file, read as it streams; None when it is longer than `limit` bytes or takes longer than
        `seconds` to arrive, of which no more is read."""
        params = {"step": step} if step is not None else None
        response, body = self._transport.download(
            f"/runs/{run_id}/artifacts/{path}", limit=limit, params=params, seconds=seconds
        )
        if response.is_success and body is None:
            return None
        return _artifact(response, body or b"", run_id, path)

    def cancel_run(self, run_id: int) -> Run:
        """Cancel a run; harmless on a finished one."""
        data, _ = self._call("POST", f"/runs/{run_id}/cancel/", operation=f"cancel run {run_id}")
        return parse(Run, data, f"cancel run {run_id}")

    def retry_run(self, run_id: int, job_id: int, body: Mapping[str, Any]) -> Run:
        """Rerun a failed run from its point of failure (dbt Cloud's retry, which takes no body); after an ambiguous
        failure, a later run of the job for the same pull request and commit as `body` is taken for it."""

        def send() -> Run:
            data, _ = self._call("POST", f"/runs/{run_id}/retry/", operation=f"retry run {run_id}", idempotent=False)
            return parse(Run, data, f"retry run {run_id}")

        def find() -> Run | None:
            for row in self.recent_run_rows(job_id=job_id, id_gt=run_id):
                run = parse(Run, row, "list runs")
                pr = run.pr_number
                if (
                    pr is not None
                    and run.sha == body.get("git_sha")
                    and pr in {body.get(f) for f in PR_FIELDS.values()}
                ):
                    return run
            return None

        return self._confirmed_write(f"retry run {run_id}", send, find)

    def trigger_run(self, job_id: int, body: Mapping[str, Any], *, since: datetime | None = None) -> Run:
        """Trigger a run; after an ambiguous failure, look for the run (active, or created since `since`)
        before sending again."""

        def send() -> Run:
            data, _ = self._call(
                "POST",
                f"/jobs/{job_id}/run/",
                operation=f"trigger job {job_id}",
                not_found=f"check that job-id {job_id} is a job of account {self.account_id}",
                bad_request=INPUTS_BUILT_IT,
                idempotent=False,
                json=dict(body),
            )
            return parse(Run, data, f"trigger job {job_id}")

        return self._confirmed_write(f"trigger job {job_id}", send, lambda: self._find_triggered(job_id, body, since))

    def _find_triggered(self, job_id: int, body: Mapping[str, Any], since: datetime | None) -> Run | None:
        for row in self.recent_run_rows(job_id=job_id):
            run = parse(Run, row, "list runs")
            trigger = run.trigger
            created = parse_timestamp(run.created_at)
            recent = run.is_active or (since is not None and created is not None and created >= since)
            if (
                recent
                and trigger is not None
                and run.sha == body.get("git_sha")
                and run.pr_number in {body.get(field) for field in PR_FIELDS.values()}
                and trigger.cause == body.get("cause")
            ):
                return run
        return None

    def recent_durations(self, job_id: int) -> list[float]:
        """How long the job's last few finished runs ran, in seconds, newest first; one try, as it is only a hint."""
        durations = []
        for row in self.recent_run_rows(job_id=job_id, statuses=(SUCCESS, ERROR), limit=10, attempts=1):
            run = parse(Run, row, "list runs")
            started, finished = parse_timestamp(run.started_at), parse_timestamp(run.finished_at)
            if started is not None and finished is not None:
                durations.append((finished - started).total_seconds())
        return durations


def _artifact(response: httpx.Response, body: bytes, run_id: int, path: str) -> bytes:
    if response.is_success:
        return body
    said = user_message(response).rstrip(".")
    raise DbtCloudError(
        f"dbt Cloud answered {response.status_code} for artifact {path} of run {run_id}{': ' + said if said else ''}.",
        status_code=response.status_code,
        operation=f"download {path}",
    )
