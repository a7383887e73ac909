"""How a request reaches dbt Cloud: one httpx client, and the retry policy around it (429 and Retry-After, 5xx and
dropped connections for requests safe to repeat, the overall deadline, a cancelled step)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from tenacity.stop import stop_base

from autoscale_ci.dbt_cloud.errors import AmbiguousWriteError, retry_after_seconds, unreachable
from autoscale_ci.errors import Aborted

# Failures that mean the request never left: a write may be sent again after them.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Until the host has answered once, requests get these timeouts and this many tries: dbt Cloud answers in well under a
# second, so a host that answers nothing at all is told within half a minute (the README states the bound), not after
# minutes of retries. Once it has answered, its slow minutes get the client's own timeouts and retries.
FIRST_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
FIRST_ATTEMPTS = 2


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


class _StopUnanswered(stop_base):
    """A host that has never answered gets FIRST_ATTEMPTS tries that get no answer, not the whole retry budget."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        unanswered = isinstance(exc, httpx.TransportError) and not self.transport.answered
        return unanswered and retry_state.attempt_number >= FIRST_ATTEMPTS


def _bounded(response: httpx.Response, limit: int, give_up: float) -> bytes | None:
    """The body as it arrives, or None once it passes `limit` bytes (a chunked answer declares no length) or the
    monotonic time `give_up`."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit or time.monotonic() > give_up:
            return None
    return bytes(body)


def _never() -> bool:
    return False


class Transport:
    """Sends requests to one account's API root and retries them as the policy allows."""

    def __init__(
        self,
        host: str,
        token: str,
        account_id: int,
        *,
        timeout: float,
        max_attempts: int,
        max_backoff: float,
        retry_after_cap: float,
        sleep: Callable[[float], None] | None,
        transport: httpx.BaseTransport | None,
        deadline: float | None,
        clock: Callable[[], float],
        interrupted: Callable[[], bool],
        on_retry: Callable[[str], None],
        user_agent: str,
    ) -> None:
        self.host = host
        self._base = f"{host}/api/v2/accounts/{account_id}"
        self._on_retry = on_retry
        self._deadline = deadline
        self._clock = clock
        self._interrupted = interrupted
        self._cleanup = threading.local()
        self._max_attempts = max_attempts
        # Whether the host has answered any request yet (any status): until it has, FIRST_TIMEOUT and FIRST_ATTEMPTS.
        self.answered = False
        self._retry_after_cap = retry_after_cap
        self._backoff = wait_exponential_jitter(initial=1, max=max_backoff)
        self.sleep = sleep if sleep is not None else self._interruptible_sleep
        self._new_http: Callable[[], httpx.Client] = lambda: httpx.Client(
            base_url=self._base,
            headers={
                "Authorization": f"Token {token}",
                "Accept": "application/json",
                "User-Agent": user_agent,
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            follow_redirects=False,
        )
        self._http = self._new_http()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _retry_budget(self) -> tuple[float | None, Callable[[], bool]]:
        # Per thread: cleanup on one thread must not make another thread's retries outlive the deadline.
        if getattr(self._cleanup, "active", False):
            return None, _never
        return self._deadline, self._interrupted

    def _interruptible_sleep(self, seconds: float) -> None:
        # A long Retry-After must not hold a cancelled step past the runner's kill, 10 s after its first signal.
        _, interrupted = self._retry_budget()
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

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableResponse):
            delay = retry_after_seconds(exc.response.headers.get("Retry-After"))
            if delay is not None:
                return min(delay, self._retry_after_cap)
        return float(self._backoff(state))

    def _retrying(self, method: str, path: str, *, idempotent: bool, most: int) -> Retrying:
        """The policy for one request: what may be retried, how long to wait, when to stop, and what the log says
        before each wait."""

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, _RetryableResponse):
                return idempotent or exc.response.status_code == 429
            if idempotent:
                return isinstance(exc, httpx.TransportError)
            return isinstance(exc, NEVER_SENT)

        def say(state: RetryCallState) -> None:
            # A host that does not answer must not leave the log silent for half a minute.
            exc = state.outcome.exception() if state.outcome else None
            what = f"HTTP {exc.response.status_code}" if isinstance(exc, _RetryableResponse) else type(exc).__name__
            wait = state.upcoming_sleep or 0.0
            self._on_retry(
                f"dbt Cloud at {self.host}: {method} {path} failed ({what}); trying again in {wait:.0f} s "
                f"(attempt {state.attempt_number + 1} of {most})."
            )

        deadline, interrupted = self._retry_budget()
        return Retrying(
            stop=stop_after_attempt(most) | _StopEarly(deadline, self._clock, interrupted) | _StopUnanswered(self),
            wait=self._wait,
            retry=retry_if_exception(retryable),
            sleep=self.sleep,
            before_sleep=say,
            reraise=True,
        )

    def send(
        self, method: str, path: str, *, idempotent: bool, attempts: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The answer, after the retries the policy allows (`attempts` in all, when the caller paces its own retries);
        a write that may have landed is AmbiguousWriteError."""

        def request(timeout: Any) -> httpx.Response:
            return self._http.request(method, path, timeout=timeout, **kwargs)

        return self._sent(method, path, request, idempotent=idempotent, attempts=attempts)

    def download(
        self, path: str, *, limit: int, seconds: float, params: dict[str, Any] | None = None
    ) -> tuple[httpx.Response, bytes | None]:
        """A GET whose successful body is read as it streams, never past `limit` bytes nor `seconds` from the first
        try: (answer, body), the body None when it is longer or slower (the rest is never read); any other answer is
        read whole, for its error."""
        body: bytes | None = None
        give_up = time.monotonic() + seconds

        def request(timeout: Any) -> httpx.Response:
            nonlocal body
            with self._http.stream("GET", path, params=params, timeout=timeout) as response:
                if not response.is_success:
                    response.read()
                    return response
                declared = response.headers.get("Content-Length", "")
                body = None if declared.isdigit() and int(declared) > limit else _bounded(response, limit, give_up)
            return response

        return self._sent("GET", path, request, idempotent=True, attempts=None), body

    def _sent(
        self,
        method: str,
        path: str,
        request: Callable[[Any], httpx.Response],
        *,
        idempotent: bool,
        attempts: int | None,
    ) -> httpx.Response:
        most = attempts or self._max_attempts
        began = time.monotonic()
        tried = 0
        retrying = self._retrying(method, path, idempotent=idempotent, most=most)
        try:
            for attempt in retrying:
                with attempt:
                    tried += 1
                    try:
                        response = request(httpx.USE_CLIENT_DEFAULT if self.answered else FIRST_TIMEOUT)
                    except Aborted:
                        # A signal can land mid-way through the pool's bookkeeping and leave it inconsistent; the
                        # cleanup requests that follow get a fresh pool (the old one is left to other threads).
                        self._http = self._new_http()
                        raise
                    self.answered = True
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _RetryableResponse(response)
                    return response
        except _RetryableResponse as exc:
            if not idempotent and exc.response.status_code != 429:
                raise AmbiguousWriteError(f"HTTP {exc.response.status_code}") from exc
            return exc.response
        except httpx.TransportError as exc:
            if not idempotent and not isinstance(exc, NEVER_SENT):
                raise AmbiguousWriteError(type(exc).__name__) from exc
            url = path if "://" in path else f"{self._base}{path}"
            raise unreachable(url, exc, method, waited=time.monotonic() - began, tries=tried) from None
        raise AssertionError("unreachable")  # pragma: no cover
