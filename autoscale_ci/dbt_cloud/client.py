"""The dbt Cloud Administrative API v2 endpoints the action uses, typed: one method an endpoint, pagination, and
writes that are never sent twice. How requests are sent and retried is transport.py's; what errors say, errors.py's."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx

from autoscale_ci.dbt_cloud.errors import (
    ADMIN_NEEDED,
    REPORT_IT,
    RUNNER_NEEDED,
    SERVICE_TOKEN_PREFIX,
    AmbiguousWriteError,
    DbtCloudError,
    parse,
    refusal,
    unreadable,
    user_message,
)
from autoscale_ci.dbt_cloud.transport import Transport
from autoscale_ci.markers import PR_FIELDS
from autoscale_ci.models import (
    ACTIVE_STATUSES,
    ERROR,
    SECRET_PREFIX,
    SUCCESS,
    Account,
    Job,
    Override,
    Run,
    parse_timestamp,
)

PAGE_SIZE = 100
MAX_ITEMS = 20_000  # a runaway pagination loop stops here
RELATED = '["trigger","job"]'
# The fix of a 400 to a trigger: its body is built from the step's inputs.
INPUTS_BUILT_IT = (
    "check the inputs the trigger was built from (cause, schema-override, git-branch and the *-override inputs)"
)
WRITE_ATTEMPTS = 3
_T = TypeVar("_T")


@dataclass(frozen=True)
class _Page:
    """One page of a list: its rows as sent, and how many the whole list has, if dbt Cloud says."""

    rows: list[Any]
    total: int | None


def _status_in(statuses: tuple[int, ...]) -> str:
    # One JSON-style value, as the clients that have run against the live API for years send it.
    return "[" + ",".join(map(str, statuses)) + "]"


class DbtCloudClient:
    """dbt Cloud API v2 for one account."""

    def __init__(
        self,
        host: str,
        token: str,
        account_id: int,
        *,
        timeout: float = 30.0,
        max_attempts: int = 6,
        max_backoff: float = 30.0,
        retry_after_cap: float = 300.0,
        sleep: Callable[[float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        interrupted: Callable[[], bool] = lambda: False,
        on_retry: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.host = host
        self.account_id = account_id
        # Whether the token is a service token: on Starter and Developer plans those cannot run jobs.
        self.service_token = token.startswith(SERVICE_TOKEN_PREFIX)
        self._transport = Transport(
            host,
            token,
            account_id,
            timeout=timeout,
            max_attempts=max_attempts,
            max_backoff=max_backoff,
            retry_after_cap=retry_after_cap,
            sleep=sleep,
            transport=transport,
            deadline=deadline,
            clock=clock,
            interrupted=interrupted,
            on_retry=on_retry,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._transport.close()

    def __enter__(self) -> DbtCloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def unbounded(self) -> Iterator[None]:
        """Let the requests inside, on this thread, retry past the deadline and a cancel: they are the cleanup."""
        with self._transport.unbounded():
            yield

    @property
    def _no_account(self) -> str:
        return (
            f"check account-id ({self.account_id}), and that dbt-cloud-host ({self.host}) is the account's access "
            "URL: accounts in EMEA, AU or on a cell host (https://<prefix>.<cell>.dbt.com) must set it"
        )

    def _no_access(self, method: str) -> str:
        if method == "GET":
            return (
                f"the token has no access to account {self.account_id}: check account-id, or use a token of that "
                "account with at least read access to its jobs"
            )
        return RUNNER_NEEDED

    def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        not_found: str | None = None,
        forbidden: str | None = None,
        bad_request: str = REPORT_IT,
        idempotent: bool = True,
        attempts: int | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> tuple[Any, Mapping[str, Any]]:
        response = self._transport.send(
            method, path, idempotent=idempotent, attempts=attempts, params=params, json=json
        )
        if response.status_code == 204:
            return None, {}
        if not response.is_success:
            forbidden = forbidden or self._no_access(method)
            missing = not_found or self._no_account
            if method != "GET":
                # dbt Cloud often answers a missing permission with 404 rather than 403 (NOTES.md): name both causes.
                missing = f"{missing}; or, as dbt Cloud also answers 404 for a missing permission, {forbidden}"
            raise refusal(
                response, operation, self.host, not_found=missing, forbidden=forbidden, bad_request=bad_request
            )
        try:
            body = response.json()
        except ValueError:
            raise unreadable(operation, self.host, "was not JSON", response.status_code) from None
        if not (isinstance(body, dict) and "data" in body):
            raise unreadable(operation, self.host, "had no data", response.status_code)
        extra = body.get("extra")
        return body["data"], extra if isinstance(extra, dict) else {}

    def _list(self, path: str, params: Mapping[str, Any], *, operation: str) -> list[dict[str, Any]]:
        """Every page. Offset pages over a list that changes between two reads repeat a row (runs created meanwhile
        push older ones to the next page): each row is kept once, by id."""
        items: list[dict[str, Any]] = []
        seen: set[int] = set()
        offset = 0
        while offset < MAX_ITEMS:
            page = self._page(path, {**params, "limit": PAGE_SIZE, "offset": offset}, operation=operation)
            offset += len(page.rows)
            for row in page.rows:
                row_id = row.get("id") if isinstance(row, dict) else None
                if isinstance(row_id, int):
                    if row_id in seen:
                        continue
                    seen.add(row_id)
                items.append(row)
            if len(page.rows) < PAGE_SIZE or (page.total is not None and offset >= page.total):
                break
        return items

    def _page(self, path: str, params: Mapping[str, Any], *, operation: str, attempts: int | None = None) -> _Page:
        data, extra = self._call("GET", path, operation=operation, attempts=attempts, params=params)
        if not isinstance(data, list):
            raise unreadable(operation, self.host, "was not a list", 200)
        total = (extra.get("pagination") or {}).get("total_count")
        return _Page(data, total if isinstance(total, int) else None)

    # -- endpoints -------------------------------------------------------------------------------

    def get_account(self) -> Account:
        """The account, with its run slots and lock state."""
        data, _ = self._call("GET", "/", operation=f"read account {self.account_id}")
        return parse(Account, data, f"read account {self.account_id}")

    def get_job(self, job_id: int) -> Job:
        """One job definition."""
        data, _ = self._call(
            "GET",
            f"/jobs/{job_id}/",
            operation=f"read job {job_id}",
            not_found=f"check that job-id {job_id} is a job of account {self.account_id}",
        )
        return parse(Job, data, f"read job {job_id}")

    def list_jobs(self, name_contains: str, *, deleted: bool = False) -> list[Job]:
        """Every live job whose name contains the text; with `deleted`, the deleted ones (state 2) too."""
        params = {"name__icontains": name_contains, **({"state": "all"} if deleted else {})}
        jobs = [parse(Job, row, "list jobs") for row in self._list("/jobs/", params, operation="list jobs")]
        return [job for job in jobs if deleted or not job.deleted]

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

    def _runs(self, params: Mapping[str, Any]) -> list[Any]:
        """Every run the filters match, oldest first, as dbt Cloud sent them, paged by id (each page after the last id
        read): unlike offsets, such pages neither skip a run that ended between two reads nor repeat one."""
        rows: list[Any] = []
        after: int | None = None
        while len(rows) < MAX_ITEMS:
            keyed = {**params, "order_by": "id", "limit": PAGE_SIZE, "offset": 0}
            if after is not None:
                keyed["id__gt"] = after
            page = self._page("/runs/", keyed, operation="list runs")
            rows.extend(page.rows)
            ids = [row["id"] for row in page.rows if isinstance(row, dict) and isinstance(row.get("id"), int)]
            if len(page.rows) < PAGE_SIZE or not ids:
                break
            after = max(ids)
        return rows

    def active_run_rows(self) -> list[Any]:
        """Every queued, starting or running run in the account, as dbt Cloud sent it: runs of other teams' jobs
        may carry any shape, so the caller decides which rows to read strictly."""
        return self._runs(self._runs_params(job_id=None, statuses=ACTIVE_STATUSES, id_gt=None, order_by="id"))

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
        if response.is_success:
            return response.content
        said = user_message(response).rstrip(".")
        raise DbtCloudError(
            f"dbt Cloud answered {response.status_code} for artifact {path} of run {run_id}"
            f"{': ' + said if said else ''}.",
            status_code=response.status_code,
            operation=f"download {path}",
        )

    def cancel_run(self, run_id: int) -> Run:
        """Cancel a run; harmless on a finished one."""
        data, _ = self._call("POST", f"/runs/{run_id}/cancel/", operation=f"cancel run {run_id}")
        return parse(Run, data, f"cancel run {run_id}")

    def _confirmed_write(self, operation: str, send: Callable[[], _T], find: Callable[[], _T | None]) -> _T:
        """Send a write that must not happen twice: after an ambiguous failure, look for it before resending."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return send()
            except AmbiguousWriteError as exc:
                found = find()
                if found is not None:
                    return found
                if attempt == WRITE_ATTEMPTS:
                    raise DbtCloudError(
                        f"Could not {operation}: {WRITE_ATTEMPTS} attempts failed ({exc}) and dbt Cloud shows no "
                        "sign of it; dbt Cloud may be having trouble, re-run the workflow later.",
                        operation=operation,
                    ) from None
                self._transport.sleep(min(2.0**attempt, 30.0))
        raise AssertionError("unreachable")  # pragma: no cover

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

    def create_job(self, body: Mapping[str, Any]) -> Job:
        """Create a job; after an ambiguous failure, look for it by name before sending again."""
        name = str(body.get("name", ""))
        # The live API refuses a create body without `id` ("required key not provided"); clients send it as null.
        sent = {**body, "id": None}

        def send() -> Job:
            data, _ = self._call(
                "POST", "/jobs/", operation="create a clone job", forbidden=ADMIN_NEEDED, idempotent=False, json=sent
            )
            return parse(Job, data, "create a clone job")

        def find() -> Job | None:
            return next((job for job in self.list_jobs(name) if job.name == name), None)

        return self._confirmed_write("create the clone job", send, find)

    def update_job(self, job_id: int, body: Mapping[str, Any]) -> Job:
        """Replace a job's definition (the same body as for creating it)."""
        # The live API refuses an update whose body does not carry the path's id ("The provided id does not match.").
        sent = {**body, "id": job_id}
        data, _ = self._call(
            "POST", f"/jobs/{job_id}/", operation=f"update job {job_id}", forbidden=ADMIN_NEEDED, json=sent
        )
        return parse(Job, data, f"update job {job_id}")

    def token_accounts(self) -> list[Account]:
        """The accounts the token may use (Admin API v3; a service token belongs to one)."""
        operation = "list the accounts of dbt-cloud-token"
        data, _ = self._call(
            "GET",
            f"{self.host}/api/v3/accounts/",
            operation=operation,
            not_found=f"check that dbt-cloud-host ({self.host}) is your account's access URL, or set account-id",
            forbidden="set account-id: the token may not list its accounts",
        )
        if not isinstance(data, list):
            raise unreadable(operation, self.host, "was not a list of accounts", 200)
        return [parse(Account, row, operation) for row in data]

    # -- job-level environment-variable overrides (Admin API v3) ---------------------------------------------------

    def _v3(self, project_id: int, rest: str) -> str:
        return f"{self.host}/api/v3/accounts/{self.account_id}/projects/{project_id}/environment-variables/{rest}"

    def job_overrides(self, project_id: int, job_id: int) -> dict[str, Override]:
        """The job's own environment-variable overrides by name (a secret's value comes back masked)."""
        operation = f"read the environment-variable overrides of job {job_id}"
        data, _ = self._call(
            "GET", self._v3(project_id, "job/"), operation=operation, params={"job_definition_id": job_id}
        )
        if not isinstance(data, dict):
            raise unreadable(operation, self.host, "was not a mapping of variables", 200)
        found: dict[str, Override] = {}
        for name, scopes in data.items():
            job = scopes.get("job") if isinstance(scopes, dict) else None
            if not isinstance(job, dict):
                continue  # set for the project or environment only: a clone of the job shares those
            secret = str(name).upper().startswith(SECRET_PREFIX)
            value = job.get("value")
            if not secret and not isinstance(value, str):
                raise unreadable(operation, self.host, f"gave override {name} no value", 200)
            override_id = job.get("id")
            found[str(name)] = Override(override_id if isinstance(override_id, int) else None, value, secret)
        return found

    def set_job_override(self, project_id: int, job_id: int, name: str, value: str, *, override_id: int | None) -> None:
        """Give the job an override of `name` (a new one, or `override_id` changed to `value`)."""
        body = {
            "account_id": self.account_id,
            "project_id": project_id,
            "name": name,
            "type": "job",
            "job_definition_id": job_id,
            "raw_value": value,
        }
        operation = f"copy override {name} to job {job_id}"
        if override_id is not None:  # setting a value twice does no harm: sent again after any failure
            # As for a job, an update must carry the path's id.
            self._call(
                "POST", self._v3(project_id, f"{override_id}/"), operation=operation, forbidden=ADMIN_NEEDED,
                json={**body, "id": override_id},
            )  # fmt: skip
            return

        def send() -> bool:
            self._call(
                "POST", self._v3(project_id, ""), operation=operation, forbidden=ADMIN_NEEDED, idempotent=False,
                json=body,
            )  # fmt: skip
            return True

        def find() -> bool | None:
            return True if name in self.job_overrides(project_id, job_id) else None

        self._confirmed_write(operation, send, find)

    def delete_job_override(self, project_id: int, override_id: int) -> None:
        """Remove an override (one a reused clone has and its job no longer does)."""
        self._call(
            "DELETE", self._v3(project_id, f"{override_id}/"), operation=f"delete override {override_id}",
            forbidden=ADMIN_NEEDED,
        )  # fmt: skip

    def delete_job(self, job_id: int) -> bool:
        """Delete a job; False when it was already gone. dbt Cloud answers 404 both for a job that is gone and for a
        token that may not delete it: a read tells them apart, and a job still there is a DbtCloudError that names
        the permission."""
        operation = f"delete job {job_id}"
        try:
            self._call("DELETE", f"/jobs/{job_id}/", operation=operation, forbidden=ADMIN_NEEDED)
        except DbtCloudError as exc:
            if exc.status_code != 404:
                raise
            still = self.find_job(job_id)
            said = f" ({exc.said})" if exc.said else ""
            if still is None:
                # Deletes are soft: a job deleted reads back at state 2. A 404 to the read too may be a refusal.
                raise DbtCloudError(
                    f"dbt Cloud answered 404 to {operation}{said} and to reading job {job_id}, so it cannot be told "
                    f"whether the job is gone or the token may not see it. To fix: check job {job_id} in dbt Cloud; "
                    f"{ADMIN_NEEDED}.",
                    status_code=404,
                    operation=operation,
                    said=exc.said,
                ) from None
            if still.deleted:
                return False
            raise DbtCloudError(
                f"dbt Cloud answered 404 to {operation}{said}, yet job {job_id} is still there: the token may not "
                f"delete jobs. To fix: {ADMIN_NEEDED}.",
                status_code=404,
                operation=operation,
                said=exc.said,
            ) from None
        return True

    def find_job(self, job_id: int) -> Job | None:
        """The job as dbt Cloud shows it (a deleted one at state 2), or None when it answers 404."""
        try:
            return self.get_job(job_id)
        except DbtCloudError as exc:
            if exc.status_code == 404:
                return None
            raise
