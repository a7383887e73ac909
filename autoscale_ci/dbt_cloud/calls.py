"""What every endpoint of the client uses: the account's connection, one call with its answer read or refused with the
fix, both ways of paging a list, and writes that are never sent twice. The endpoints are runs.py's, jobs.py's and
client.py's."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self, TypeVar

import httpx

from autoscale_ci.dbt_cloud.errors import (
    REPORT_IT,
    RUNNER_NEEDED,
    SERVICE_TOKEN_PREFIX,
    AmbiguousWriteError,
    DbtCloudError,
    refusal,
    unreadable,
)
from autoscale_ci.dbt_cloud.transport import Transport

PAGE_SIZE = 100
MAX_ITEMS = 20_000  # a runaway pagination loop stops here
WRITE_ATTEMPTS = 3
_T = TypeVar("_T")


@dataclass(frozen=True)
class _Page:
    """One page of a list: its rows as sent, and how many the whole list has, if dbt Cloud says."""

    rows: list[Any]
    total: int | None


class Calls:
    """One account's connection to dbt Cloud API v2, and the calls its endpoints are made of."""

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
        user_agent: str = "autoscale-dbt-ci",
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
            user_agent=user_agent,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._transport.close()

    def __enter__(self) -> Self:
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

    def _keyed(self, path: str, params: Mapping[str, Any], *, operation: str) -> list[Any]:
        """Every row the filters match, oldest first, as dbt Cloud sent them, paged by id (each page after the last id
        read): unlike offsets, such pages neither skip a row that left the list between two reads (a run that ended)
        nor repeat one."""
        rows: list[Any] = []
        after: int | None = None
        while len(rows) < MAX_ITEMS:
            keyed = {**params, "order_by": "id", "limit": PAGE_SIZE, "offset": 0}
            if after is not None:
                keyed["id__gt"] = after
            page = self._page(path, keyed, operation=operation)
            rows.extend(page.rows)
            ids = [row["id"] for row in page.rows if isinstance(row, dict) and isinstance(row.get("id"), int)]
            if len(page.rows) < PAGE_SIZE or not ids:
                break
            after = max(ids)
        return rows

    def _page(self, path: str, params: Mapping[str, Any], *, operation: str, attempts: int | None = None) -> _Page:
        data, extra = self._call("GET", path, operation=operation, attempts=attempts, params=params)
        if not isinstance(data, list):
            raise unreadable(operation, self.host, "was not a list", 200)
        total = (extra.get("pagination") or {}).get("total_count")
        return _Page(data, total if isinstance(total, int) else None)

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
