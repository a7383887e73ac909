"""What went wrong with a dbt Cloud request, worded with the fix: the errors, and the texts they are built from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from autoscale_ci.errors import ActionError


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


class DbtCloudError(ActionError):
    """dbt Cloud refused a request, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        operation: str = "",
        said: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, title="dbt Cloud request failed")
        self.status_code = status_code
        self.operation = operation
        # dbt Cloud's own words, when it answered with any: a warning can quote them without the fix.
        self.said = said
        # How long dbt Cloud asked to wait before asking again (a 429's or 503's Retry-After), when it said.
        self.retry_after = retry_after

    @property
    def weather(self) -> bool:
        """Whether this says nothing about the request itself: no answer, a server error or a rate limit, after
        which the same request may well succeed later."""
        return self.status_code is None or self.status_code == 429 or self.status_code >= 500


class AmbiguousWriteError(Exception):
    """A write may or may not have reached dbt Cloud (timeout, dropped connection, 5xx)."""


# Rendered as the fix of a 403 to a request that creates, changes or deletes a job.
ADMIN_NEEDED = (
    "give the token the Job Admin permission set for this project (or Job Creator, on Enterprise; a personal access "
    "token, its user): cloning and deleting jobs, and copying their overrides, needs it (a plain trigger needs only "
    "Job Runner)"
)
# Rendered as the fix of a 403 to a trigger or a cancel.
RUNNER_NEEDED = "give the token permission to run jobs in this project (Job Runner or Job Admin)"
# dbt's service tokens page: "Developer and Starter plans can apply Semantic Layer permissions set to service tokens";
# only Enterprise, Enterprise+ and legacy Team can give a service token Job Admin or Job Runner.
NO_JOB_PERMISSIONS_FOR_SERVICE_TOKENS = frozenset({"starter_2025", "developer", "developer_2022"})
SERVICE_TOKEN_PREFIX = "dbtc_"  # noqa: S105 - a prefix, not a token
# Rendered after a refusal of a service token on those plans.
PERSONAL_ACCESS_NEEDED = (
    "dbt-cloud-token is a service token (dbtc_...), and on the {plan} plan a service token cannot be given job "
    "permissions (only Semantic Layer ones): use a personal access token (dbtu_..., Account settings > API tokens > "
    "Personal tokens) of a user who may run job {job} (and create jobs, for clones), as dbt-cloud-token."
)


def _said(value: Any) -> str:
    """A field error as text, whether dbt Cloud sent a string (`"required key not provided"`) or a list of them."""
    if isinstance(value, list):
        return "; ".join(_said(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_said(item)}" for key, item in value.items())
    return str(value)


def user_message(response: httpx.Response) -> str:
    """dbt Cloud's own words in an error answer, on one line, whatever the body's shape: the envelope's
    `status.user_message` with its field errors (strings or lists, or `data` as plain text), a bare
    `{"detail": ...}`, or Django REST framework's bare list of messages."""
    try:
        body = response.json()
    except ValueError:
        return ""
    parts: list[str] = []
    if isinstance(body, list):
        parts.append(_said(body[:5]))
    elif isinstance(body, dict):
        status = body.get("status")
        message = status.get("user_message") if isinstance(status, dict) else None
        if isinstance(message, str):
            parts.append(message)
        if body.get("detail") not in (None, "", [], {}):
            parts.append(_said(body["detail"]))
        data = body.get("data")
        if isinstance(data, dict) and data and all(isinstance(key, str) for key in data):
            parts.append("; ".join(f"{key}: {_said(value)}" for key, value in list(data.items())[:5]))
        elif isinstance(data, list) and data and all(isinstance(item, str) for item in data):
            parts.append("; ".join(data[:5]))
        elif isinstance(data, str) and data.strip():
            parts.append(data)
    parts = [part for part in parts if part.strip()]
    text = parts[0] + "".join(f" ({part})" for part in parts[1:]) if parts else ""
    return " ".join(text.split())[:300]


LEGACY_HOST = "https://cloud.getdbt.com"
# Rendered first in the fix of a 401 from the legacy host: since the move to static subdomains (about December
# 2025) such accounts get a bare 401 there.
MOVED = (
    "the account has probably moved to its own access URL (https://<prefix>.<region>.dbt.com since December 2025): "
    "set dbt-cloud-host to the Access URL shown in dbt Cloud's Account settings. Otherwise, "
)
# Rendered as the fix of a 400 or 405 to a request the action built from its own rules (not from the user's inputs).
REPORT_IT = "dbt Cloud refused a request the action built itself: report it, with this message"


def fix_for(status: int, host: str, *, not_found: str, forbidden: str, bad_request: str = REPORT_IT) -> str:
    """What the user should do about an error answer with this status; `bad_request` fits a 400 or 405 to what the
    request was built from."""
    if status == 401:
        return (MOVED if host == LEGACY_HOST else "") + (
            "check that dbt-cloud-token is a valid, unexpired token (a service token, dbtc_..., on Enterprise, "
            "Enterprise+ and legacy Team plans; a personal access token, dbtu_..., on Starter and Developer plans, "
            f"whose service tokens cannot run jobs), and that dbt-cloud-host ({host}) is "
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
    return bad_request


def redirected(response: httpx.Response, operation: str, host: str) -> DbtCloudError:
    """The error for a redirect, never followed: the token must not go where dbt-cloud-host does not say."""
    code = response.status_code
    location = response.headers.get("location", "").strip()
    target = urlsplit(urljoin(str(response.request.url), location)) if location else None
    if target is None or not target.hostname:
        fix = "set dbt-cloud-host to the Access URL shown in dbt Cloud's Account settings"
        where = "without saying where"
    elif f"{target.scheme}://{target.netloc}" == host:
        fix = "check that dbt-cloud-host is the bare Access URL; report it if it is"
        where = f"to {target.path or '/'} on the same host"
    elif target.scheme != "https":
        fix = "set dbt-cloud-host to your account's https Access URL (Account settings): no token is sent over http"
        where = f"to {target.scheme}://{target.netloc}"
    else:
        fix = f"set dbt-cloud-host to https://{target.netloc}"
        where = f"to https://{target.netloc}"
    return DbtCloudError(
        f"dbt Cloud answered {code} to {operation} at {host}, redirecting {where}; the action does not follow "
        f"redirects with the token. To fix: {fix}.",
        status_code=code,
        operation=operation,
    )


def refusal(
    response: httpx.Response, operation: str, host: str, *, not_found: str, forbidden: str, bad_request: str = REPORT_IT
) -> DbtCloudError:
    """The error for an answer that refused the request: the status, dbt Cloud's words, and the fix."""
    code = response.status_code
    if 300 <= code < 400:
        return redirected(response, operation, host)
    words = user_message(response).rstrip(".")
    said = f": {words}" if words else ""
    fix = fix_for(code, host, not_found=not_found, forbidden=forbidden, bad_request=bad_request)
    return DbtCloudError(
        f"dbt Cloud answered {code} to {operation} at {host}{said}. To fix: {fix}.",
        status_code=code,
        operation=operation,
        said=words,
        retry_after=retry_after_seconds(response.headers.get("Retry-After")),
    )


def unreadable(operation: str, host: str, what: str, status_code: int) -> DbtCloudError:
    """The error for a successful answer the action cannot read."""
    return DbtCloudError(
        f"dbt Cloud's answer to {operation} at {host} {what}: check dbt-cloud-host.",
        status_code=status_code,
        operation=operation,
    )


def unreachable(url: str, exc: Exception, operation: str, *, waited: float, tries: int) -> DbtCloudError:
    """The error for a request that never got an answer: refused or unresolved, or (a timeout) answered nothing
    within `waited` seconds; it names the URL tried (a host given without a scheme is taken as https://)."""
    check = "check dbt-cloud-host (with its scheme: a host given without one is taken as https://) and that the runner "
    if isinstance(exc, httpx.TimeoutException):
        return DbtCloudError(
            f"dbt Cloud at {url} answered nothing within {waited:.0f} s ({type(exc).__name__}, {tries} "
            f"tr{'y' if tries == 1 else 'ies'}): {check}can reach it; if it can, dbt Cloud may be down: re-run the "
            "workflow later.",
            operation=operation,
        )
    return DbtCloudError(
        f"Could not reach dbt Cloud at {url} ({type(exc).__name__}): {check}can reach it.", operation=operation
    )


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


def for_the_plan(error: DbtCloudError, plan: str | None, service_token: bool, job_id: int) -> DbtCloudError | None:
    """A refusal (401, 403) of a service token on a plan whose service tokens cannot run jobs, said so with the token
    that can; None for any other error, plan or token."""
    if error.status_code not in (401, 403) or not service_token or plan not in NO_JOB_PERMISSIONS_FOR_SERVICE_TOKENS:
        return None
    return DbtCloudError(
        f"{error.message} {PERSONAL_ACCESS_NEEDED.format(plan=plan, job=job_id)}",
        status_code=error.status_code,
        operation=error.operation,
        said=error.said,
    )
