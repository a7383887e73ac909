"""Keeps the pull request comment current through GitHub's REST API. Optional by nature: whatever goes wrong is one
warning, and the comment never changes a verdict or an exit code."""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import httpx

from autoscale_ci.context import PullRequest
from autoscale_ci.engine import Plan, Skip
from autoscale_ci.github import Runtime
from autoscale_ci.github_api import TIMEOUT_SECONDS, Comment, GitHubAccess, GitHubApi, GitHubApiError
from autoscale_ci.models import Run
from autoscale_ci.outcome import Outcome
from autoscale_ci.pr_comment import Marker, Mode, finished, in_flight, may_replace, read_marker, wanted
from autoscale_ci.threads import in_background

# Rendered when GitHub refuses to write the comment: the workflow's token lacks the permission (or, for a pull
# request from a fork, is read-only whatever the workflow asks).
NO_PERMISSION = (
    "GitHub answered {status} when asked to write the pull request comment: the token may not write to pull "
    "requests. Add `pull-requests: write` to the job's `permissions:` block (a pull request from a fork gets a "
    "read-only token, so it gets no comment), or set pr-comment: never. The verdict is unchanged."
)
# A write waits this long for the one before it (three requests, each bounded by the client's timeout).
IN_FLIGHT_WAIT = 3 * TIMEOUT_SECONDS + 5


@dataclass(frozen=True)
class Target:
    """Where the comment goes: the repository, the pull request, the job it reports on."""

    github: GitHubAccess
    pr: PullRequest
    job_id: int


class Commenter:
    """Writes one comment per pull request and job, edited in place: once the run is in flight, again at the end."""

    def __init__(
        self, runtime: Runtime, mode: Mode, target: Target, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.runtime = runtime
        self.mode = mode
        self.target = target
        self.url = ""
        self._marker = Marker(target.job_id, target.pr.head_sha, target.pr.updated_at)
        self._transport = transport
        self._gave_up = mode == "never"
        self._pending: Future[None] | None = None

    def in_flight(self, plan: Plan, run: Run, cloned_job_id: int | None) -> None:
        """Say the run is in flight, on a thread of its own: the step goes on waiting meanwhile."""
        if self._gave_up or self._pending is not None:
            return
        body = in_flight(self._marker, self.target.pr, plan, run, cloned_job_id)
        self._pending = in_background(self._write, body, False)

    def finished(self, outcome: Outcome) -> str:
        """Write the verdict (after the in-flight comment, never before); the comment's URL, or ""."""
        if self._pending is not None:
            try:
                self._pending.result(timeout=IN_FLIGHT_WAIT)
            except FutureTimeout:
                self._give_up("GitHub did not answer in time; the pull request comment was not updated.")
        if not isinstance(outcome.plan, Skip):
            self._write(finished(self._marker, outcome), outcome.exit_code != 0)
        return self.url

    def _write(self, body: str, failed: bool) -> None:
        if self._gave_up:
            return
        github = self.target.github
        if not github.token or not github.repository:
            if wanted(self.mode, failed=failed, exists=False):
                self._give_up(
                    f"pr-comment is {self.mode}, but the step has no github-token: leave github-token at its "
                    "default, ${{ github.token }}, or set pr-comment: never."
                )
            return
        try:
            with GitHubApi(github.api_url, github.token, github.repository, transport=self._transport) as api:
                self._write_with(api, body, failed)
        except GitHubApiError as exc:
            if exc.status_code in (401, 403, 404):
                self._give_up(NO_PERMISSION.format(status=exc.status_code))
            else:
                self._give_up(f"Could not write the pull request comment: {exc.message}. The verdict is unchanged.")
        except Exception as exc:  # an optional comment must never fail the step
            self._give_up(f"Could not write the pull request comment ({type(exc).__name__}). The verdict is unchanged.")

    def _write_with(self, api: GitHubApi, body: str, failed: bool) -> None:
        number = self.target.pr.number
        head = api.pull_request(number).head_sha
        existing = self._existing(api.comments(number))
        if not wanted(self.mode, failed=failed, exists=existing is not None):
            return
        if not may_replace(read_marker(existing.body) if existing else None, self._marker, head):
            self.runtime.log(
                f"PR #{number} is now at commit {(head or 'unknown')[:7]}: the comment is left to that commit's "
                "workflow."
            )
            self._gave_up = True
            return
        written = api.update_comment(existing.id, body) if existing else api.create_comment(number, body)
        if written.url != self.url:
            self.runtime.log(f"Pull request comment: {written.url}")
        self.url = written.url

    def _existing(self, comments: list[Comment]) -> Comment | None:
        for comment in comments:
            marker = read_marker(comment.body)
            if marker is not None and marker.job_id == self.target.job_id:
                return comment
        return None

    def _give_up(self, message: str) -> None:
        self._gave_up = True
        self.runtime.warning(message, title="Pull request comment")
