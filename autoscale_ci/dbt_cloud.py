"""A small typed client for the dbt Cloud Administrative API v2: auth, timeouts, retries, pagination."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from autoscale_ci import __version__
from autoscale_ci.errors import Aborted, ActionError
from autoscale_ci.markers import PR_FIELDS
from autoscale_ci.models import ACTIVE_STATUSES, ERROR, SUCCESS, Account, Job, Run, parse_timestamp

PAGE_SIZE = 100
MAX_ITEMS = 20_000  # a runaway pagination loop stops here
RELATED = '["trigger","job"]'
WRITE_ATTEMPTS = 3
_T = TypeVar("_T")
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class DbtCloudError(ActionError):
    """dbt Cloud refused a request, or could not be reached."""

    def __init__(self, message: str, *, status_code: int | None = None, operation: str = "") -> None:
        super().__init__(message, title="dbt Cloud request failed")
        self.status_code = status_code
        self.operation = operation


class _RetryableResponse(Exception):  # noqa: N818 - internal signal to tenacity
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class _StopEarly(stop_base):
    """No retry may outlive the step's overall deadline (timeout-minutes), nor go on once the step is cancelled."""

    def __init__(self, deadline: float | None, clock: Callable[[], float], interrupted: Callable[[], bool]) -> None:
        self.deadline = deadline
        self.clock = clock
        self.interrupted = interrupted

    def __call__(self, retry_state: RetryCallState) -> bool:
        if self.interrupted():
            return True
        return self.deadline is not None and self.clock() + (retry_state.upcoming_sleep or 0) >= self.deadline


def _never() -> bool:
    return False


class AmbiguousWriteError(Exception):
    """A write may or may not have reached dbt Cloud (timeout, dropped connection, 5xx)."""


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    import email.utils  # noqa: PLC0415 - only an HTTP-date Retry-After needs it, and it is slow to import

    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _user_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    status = body.get("status") if isinstance(body, dict) else None
    message = status.get("user_message") if isinstance(status, dict) else None
    text = message if isinstance(message, str) else ""
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, dict) and data and all(isinstance(key, str) for key in data):
        details = "; ".join(f"{key}: {value}" for key, value in list(data.items())[:5])
        text = f"{text} ({details})" if text else details
    return " ".join(text.split())[:300]


def _fix_for(status: int, host: str, not_found: str, forbidden: str) -> str:
    if status == 401:
        return (
            f"check that dbt-cloud-token is a valid, unexpired service token, and that dbt-cloud-host ({host}) is "
            "your account's access URL: accounts in EMEA (https://emea.dbt.com), AU (https://au.dbt.com) or on a "
            "cell host (https://<prefix>.<cell>.dbt.com) must set it, and a token only works on its own host"
        )
    if status == 403:
        return forbidden
    if status == 404:
        return not_found
    if status == 429:
        return "dbt Cloud's rate limit was reached; re-run the workflow in a few minutes"
    if status >= 500:
        return "dbt Cloud had a server error; re-run the workflow later"
    return "check the inputs this request was built from"


ADMIN_NEEDED = (
    "give the service token the Job Admin permission set for this project: cloning and deleting jobs needs it "
    "(a plain trigger needs only Job Runner)"
)
RUNNER_NEEDED = "give the service token permission to run jobs in this project (Job Runner or Job Admin)"


_M = TypeVar("_M", bound=BaseModel)


def parse(model: type[_M], data: Any, operation: str) -> _M:
    """An API object, or a DbtCloudError naming what dbt Cloud sent that the action cannot read."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:3])
        raise DbtCloudError(
            f"dbt Cloud's answer to {operation} had an unexpected shape ({where}): check dbt-cloud-host points at "
            "dbt Cloud, and report it if it does.",
            operation=operation,
        ) from None


class DbtCloudClient:
    """dbt Cloud API v2 for one account, over one `httpx.Client`."""

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
    ) -> None:
        self.host = host
        self._deadline = deadline
        self._clock = clock
        self._interrupted = interrupted
        self._cleanup = threading.local()
        self.account_id = account_id
        self._max_attempts = max_attempts
        self._retry_after_cap = retry_after_cap
        self._backoff = wait_exponential_jitter(initial=1, max=max_backoff)
        self._sleep = sleep if sleep is not None else self._interruptible_sleep
        self._new_http: Callable[[], httpx.Client] = lambda: httpx.Client(
            base_url=f"{host}/api/v2/accounts/{account_id}",
            headers={
                "Authorization": f"Token {token}",
                "Accept": "application/json",
                "User-Agent": f"autoscale-dbt-ci/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            follow_redirects=False,
        )
        self._http = self._new_http()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _limits(self) -> tuple[float | None, Callable[[], bool]]:
        # Per thread: cleanup on one thread must not make another thread's retries outlive the deadline.
        if getattr(self._cleanup, "active", False):
            return None, _never
        return self._deadline, self._interrupted

    def _interruptible_sleep(self, seconds: float) -> None:
        # A long Retry-After must not hold a cancelled step past the runner's kill, 10 s after its first signal.
        _, interrupted = self._limits()
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and not interrupted():
            time.sleep(min(left, 0.25))

    @contextmanager
    def unbounded(self) -> Iterator[None]:
        """Let the requests inside, on this thread, retry past the deadline and a cancel: they are the cleanup."""
        saved = getattr(self._cleanup, "active", False)
        self._cleanup.active = True
        try:
            yield
        finally:
            self._cleanup.active = saved

    def __enter__(self) -> DbtCloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    # -- transport -------------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableResponse):
            delay = retry_after_seconds(exc.response.headers.get("Retry-After"))
            if delay is not None:
                return min(delay, self._retry_after_cap)
        return float(self._backoff(state))

    def _send(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, _RetryableResponse):
                return idempotent or exc.response.status_code == 429
            if idempotent:
                return isinstance(exc, httpx.TransportError)
            return isinstance(exc, _NEVER_SENT)

        deadline, interrupted = self._limits()
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts) | _StopEarly(deadline, self._clock, interrupted),
            wait=self._wait,
            retry=retry_if_exception(retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    try:
                        response = self._http.request(method, path, **kwargs)
                    except Aborted:
                        # A signal can land mid-way through the pool's bookkeeping and leave it inconsistent; the
                        # cleanup requests that follow get a fresh pool (the old one is left to other threads).
                        self._http = self._new_http()
                        raise
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _RetryableResponse(response)
                    return response
        except _RetryableResponse as exc:
            if not idempotent and exc.response.status_code != 429:
                raise AmbiguousWriteError(f"HTTP {exc.response.status_code}") from exc
            return exc.response
        except httpx.TransportError as exc:
            if not idempotent and not isinstance(exc, _NEVER_SENT):
                raise AmbiguousWriteError(type(exc).__name__) from exc
            raise DbtCloudError(
                f"Could not reach dbt Cloud at {self.host} ({type(exc).__name__}): check dbt-cloud-host "
                "and that the runner can reach it.",
                operation=method,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        not_found: str | None = None,
        forbidden: str | None = None,
        idempotent: bool = True,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> tuple[Any, Mapping[str, Any]]:
        response = self._send(method, path, idempotent=idempotent, params=params, json=json)
        if response.status_code == 204:
            return None, {}
        if response.is_success:
            try:
                body = response.json()
            except ValueError:
                raise DbtCloudError(
                    f"dbt Cloud's answer to {operation} at {self.host} was not JSON: check dbt-cloud-host.",
                    status_code=response.status_code,
                    operation=operation,
                ) from None
            if isinstance(body, dict) and "data" in body:
                extra = body.get("extra")
                return body["data"], extra if isinstance(extra, dict) else {}
            raise DbtCloudError(
                f"dbt Cloud's answer to {operation} at {self.host} had no data: check dbt-cloud-host.",
                status_code=response.status_code,
                operation=operation,
            )
        code = response.status_code
        said = _user_message(response).rstrip(".")
        said = f": {said}" if said else ""
        raise DbtCloudError(
            f"dbt Cloud answered {code} to {operation} at {self.host}{said}. To fix: "
            f"{_fix_for(code, self.host, not_found or self._no_account, forbidden or self._no_access(method))}.",
            status_code=code,
            operation=operation,
        )

    def _list(self, path: str, params: Mapping[str, Any], *, operation: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while len(items) < MAX_ITEMS:
            page, extra = self._call(
                "GET", path, operation=operation, params={**params, "limit": PAGE_SIZE, "offset": len(items)}
            )
            if not isinstance(page, list):
                raise DbtCloudError(f"dbt Cloud's answer to {operation} was not a list.", operation=operation)
            items.extend(page)
            total = (extra.get("pagination") or {}).get("total_count")
            if len(page) < PAGE_SIZE or (isinstance(total, int) and len(items) >= total):
                break
        return items

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

    def list_jobs(self, name_contains: str) -> list[Job]:
        """Every job whose name contains the text."""
        rows = self._list("/jobs/", {"name__icontains": name_contains}, operation="list jobs")
        return [parse(Job, row, "list jobs") for row in rows]

    def list_runs(
        self,
        *,
        job_id: int | None = None,
        statuses: tuple[int, ...] | None = None,
        id_gt: int | None = None,
        order_by: str = "-id",
    ) -> list[Run]:
        """Runs with their trigger and job, every page."""
        params: dict[str, Any] = {"include_related": RELATED, "order_by": order_by}
        if job_id is not None:
            params["job_definition_id"] = job_id
        if statuses:
            params["status__in"] = "[" + ",".join(str(status) for status in statuses) + "]"
        if id_gt is not None:
            params["id__gt"] = id_gt
        rows = self._list("/runs/", params, operation="list runs")
        return [parse(Run, row, "list runs") for row in rows]

    def active_runs(self) -> list[Run]:
        """Every queued, starting or running run in the account."""
        return self.list_runs(statuses=ACTIVE_STATUSES)

    def get_run(self, run_id: int, *, related: str = RELATED) -> Run:
        """One run with the related objects asked for (by default its trigger and job)."""
        data, _ = self._call(
            "GET", f"/runs/{run_id}/", operation=f"read run {run_id}", params={"include_related": related}
        )
        return parse(Run, data, f"read run {run_id}")

    def get_artifact(self, run_id: int, path: str, *, step: int | None = None) -> bytes:
        """A file a finished run produced, such as run_results.json, as dbt Cloud stores it: from the given step,
        or the run's last."""
        params = {"step": step} if step is not None else None
        response = self._send("GET", f"/runs/{run_id}/artifacts/{path}", idempotent=True, params=params)
        if response.is_success:
            return response.content
        said = _user_message(response).rstrip(".")
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
                self._sleep(min(2.0**attempt, 30.0))
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
                idempotent=False,
                json=dict(body),
            )
            return parse(Run, data, f"trigger job {job_id}")

        return self._confirmed_write(f"trigger job {job_id}", send, lambda: self._find_triggered(job_id, body, since))

    def _find_triggered(self, job_id: int, body: Mapping[str, Any], since: datetime | None) -> Run | None:
        for run in self._recent_runs(job_id):
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

    def _recent_runs(self, job_id: int, *, statuses: tuple[int, ...] = (), limit: int = PAGE_SIZE) -> list[Run]:
        # One page, newest first: enough to find a run made moments ago, or to learn how long runs take.
        params: dict[str, Any] = {"order_by": "-id", "job_definition_id": job_id, "limit": limit, "offset": 0}
        params["include_related"] = RELATED
        if statuses:
            params["status__in"] = "[" + ",".join(map(str, statuses)) + "]"
        page, _ = self._call("GET", "/runs/", operation="list runs", params=params)
        return [parse(Run, row, "list runs") for row in page] if isinstance(page, list) else []

    def recent_durations(self, job_id: int) -> list[float]:
        """How long the job's last few finished runs ran, in seconds, newest first."""
        durations = []
        for run in self._recent_runs(job_id, statuses=(SUCCESS, ERROR), limit=10):
            started, finished = parse_timestamp(run.started_at), parse_timestamp(run.finished_at)
            if started is not None and finished is not None:
                durations.append((finished - started).total_seconds())
        return durations

    def create_job(self, body: Mapping[str, Any]) -> Job:
        """Create a job; after an ambiguous failure, look for it by name before sending again."""
        name = str(body.get("name", ""))

        def send() -> Job:
            data, _ = self._call(
                "POST", "/jobs/", operation="create a clone job", forbidden=ADMIN_NEEDED, idempotent=False, json=body
            )
            return parse(Job, data, "create a clone job")

        def find() -> Job | None:
            return next((job for job in self.list_jobs(name) if job.name == name), None)

        return self._confirmed_write("create the clone job", send, find)

    def update_job(self, job_id: int, body: Mapping[str, Any]) -> Job:
        """Replace a job's definition (the same body as for creating it)."""
        data, _ = self._call(
            "POST", f"/jobs/{job_id}/", operation=f"update job {job_id}", forbidden=ADMIN_NEEDED, json=dict(body)
        )
        return parse(Job, data, f"update job {job_id}")

    def delete_job(self, job_id: int) -> bool:
        """Delete a job; False when it was already gone."""
        try:
            self._call("DELETE", f"/jobs/{job_id}/", operation=f"delete job {job_id}", forbidden=ADMIN_NEEDED)
        except DbtCloudError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True
