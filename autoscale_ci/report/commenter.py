"""Keeps the pull request comment current through GitHub's REST API. Optional by nature: whatever goes wrong is one
warning, and the comment never changes a verdict or an exit code."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import httpx

from autoscale_ci.act.threads import in_background
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.github.api import TIMEOUT_SECONDS, Comment, GitHubAccess, GitHubApi, GitHubApiError
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report.comment import (
    Marker,
    Mode,
    ended,
    finished,
    in_flight,
    may_replace,
    read_marker,
    trusted,
    wanted,
)
from autoscale_ci.report.outcome import Outcome
from autoscale_ci.rules.decide import Plan, Skip

# Rendered when GitHub refuses to write the comment: the workflow's token lacks the permission (or, for a pull
# request from a fork, is read-only whatever the workflow asks).
NO_PERMISSION = (
    "GitHub answered {status} when asked to write the pull request comment: the token may not write to pull "
    "requests. Add `pull-requests: write` to the job's `permissions:` block (a pull request from a fork gets a "
    "read-only token, so it gets no comment), or set pr-comment: never. The verdict is unchanged."
)
# Rendered when GitHub does not take the token at all.
REFUSED_CREDENTIAL = (
    "GitHub answered 401 to the pull request comment: it does not take the github-token. Leave github-token at its "
    "default, ${{ github.token }}, or give a token that may write to pull requests. The verdict is unchanged."
)
# Every write, however many pages the search for the comment takes, is over by then.
WRITE_SECONDS = 3 * TIMEOUT_SECONDS


@dataclass(frozen=True)
class Target:
    """Where the comment goes: the repository, the pull request, the job it reports on."""

    github: GitHubAccess
    pr: PullRequest
    job_id: int


class Commenter:
    """Writes one comment per pull request and job, edited in place: once the run is in flight, again at the end.
    No public method raises: whatever goes wrong is one warning, at most, for the whole step."""

    def __init__(
        self,
        runtime: Runtime,
        mode: Mode,
        target: Target,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runtime = runtime
        self.mode = mode
        self.target = target
        self.url = ""
        self._marker = Marker(target.job_id, target.pr.head_sha, target.pr.updated_at)
        self._transport = transport
        self._clock = clock
        self._lock = threading.Lock()
        # One write at a time, in the order asked: the verdict's write waits for the in-flight one, so that the
        # "running" comment can never land after it and stay.
        self._writing = threading.Lock()
        self._gave_up = mode == "never"
        self._warned = False
        self._final = False  # the verdict (or the failure) is to be written: an in-flight write not yet made is moot
        self._comment: Comment | None = None  # the comment this step wrote, so later writes need not search
        self._pending: Future[None] | None = None

    def in_flight(self, plan: Plan, run: Run, cloned_job_id: int | None) -> None:
        """Say the run is in flight, on a thread of its own: the step goes on waiting meanwhile."""
        try:
            if self._gave_up or (self._pending is not None and not self._pending.done()):
                return
            body = in_flight(self._marker, self.target.pr, plan, run, cloned_job_id)
            self._pending = in_background(self._write, body, False, True)
        except Exception as exc:  # an optional comment must never fail the step
            self._broke(exc)

    def finished(self, outcome: Outcome) -> str:
        """Write the verdict (after the in-flight comment, never before); the comment's URL, or ""."""
        self._final = True
        try:
            if not isinstance(outcome.plan, Skip):
                self._write(finished(self._marker, outcome), outcome.exit_code != 0)
        except Exception as exc:
            self._broke(exc)
        return self.url

    def failed(self, message: str) -> None:
        """Write that the step failed before it had a verdict, so that no comment stays "running"."""
        self._final = True
        try:
            self._write(ended(self._marker, self.target.pr, message), True)
        except Exception as exc:
            self._broke(exc)

    def _write(self, body: str, failed: bool, in_flight: bool = False) -> None:
        with self._writing:
            if not (self._gave_up or (in_flight and self._final)):
                self._write_now(body, failed)

    def _write_now(self, body: str, failed: bool) -> None:
        github = self.target.github
        if not github.token or not github.repository:
            if wanted(self.mode, failed=failed, exists=False):
                self._give_up(
                    f"pr-comment is {self.mode}, but the step has no github-token: leave github-token at its "
                    "default, ${{ github.token }}, or set pr-comment: never."
                )
            return
        deadline = self._clock() + WRITE_SECONDS
        try:
            with GitHubApi(
                github.api_url,
                github.token,
                github.repository,
                transport=self._transport,
                deadline=deadline,
                clock=self._clock,
            ) as api:
                self._write_with(api, body, failed)
        except GitHubApiError as exc:
            self._give_up(_why(exc))
        except Exception as exc:  # an optional comment must never fail the step
            self._broke(exc)

    def _write_with(self, api: GitHubApi, body: str, failed: bool) -> None:
        number = self.target.pr.number
        head = api.pull_request(number).head_sha
        # Once this step has written the comment, a later write is one edit, not another search.
        existing = self._comment or self._find(api, number)
        if not wanted(self.mode, failed=failed, exists=existing is not None):
            return
        if not may_replace(read_marker(existing.body) if existing else None, self._marker, head):
            self.runtime.log(
                f"PR #{number} is now at commit {(head or 'unknown')[:7]}: the comment is left to that commit's "
                "workflow."
            )
            self._gave_up = True
            return
        # Two steps that both find no comment each create one; their workflows' concurrency group makes that rare.
        written = self._edit(api, existing, body) if existing else api.create_comment(number, body)
        self._comment = written
        if written.url != self.url:
            self.runtime.log(f"Pull request comment: {written.url}")
        self.url = written.url

    def _edit(self, api: GitHubApi, existing: Comment, body: str) -> Comment:
        try:
            return api.update_comment(existing.id, body)
        except GitHubApiError as exc:
            if exc.status_code != 404 or existing is not self._comment:
                raise
            # Deleted by someone since this step wrote it: a new one takes its place.
            return api.create_comment(self.target.pr.number, body)

    def _find(self, api: GitHubApi, number: int) -> Comment | None:
        mine = [
            c
            for c in api.comments(number)
            if (m := read_marker(c.body)) is not None and m.job_id == self._marker.job_id
        ]
        login: str | None = None
        for comment in mine:
            if login is None and not comment.by_bot:
                login = api.login() or ""  # asked once, and only when a person's comment carries the marker
            if trusted(comment, login or None):
                return comment
        return None

    def _broke(self, exc: Exception) -> None:
        """Anything but GitHub's own answer (a bug, a thread that would not start): one warning, nothing more."""
        self._give_up(f"Could not write the pull request comment ({type(exc).__name__}). The verdict is unchanged.")

    def _give_up(self, message: str) -> None:
        with self._lock:
            self._gave_up = True
            if self._warned:
                return
            self._warned = True
        self.runtime.warning(message, title="Pull request comment")


def _why(exc: GitHubApiError) -> str:
    """The warning for a GitHub answer that ended the comment."""
    if exc.busy:
        return (
            f"GitHub is rate limiting the token ({exc.status_code}), so the pull request comment was not updated. "
            "The verdict is unchanged."
        )
    if exc.status_code == 401:
        return REFUSED_CREDENTIAL
    if exc.write and exc.status_code in (403, 404):
        return NO_PERMISSION.format(status=exc.status_code)
    return f"Could not write the pull request comment: {exc.message}. The verdict is unchanged."
