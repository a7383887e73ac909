"""Runs that failed on weather get another attempt (retry-transient): dbt Cloud's retry from the point of failure when
it allows one and the new run keeps the pull request's trigger, else a fresh trigger of the same payload."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from autoscale_ci.act import signals
from autoscale_ci.act.leftovers import Leftovers
from autoscale_ci.act.waiting import Waiting
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report.artifacts import Findings
from autoscale_ci.rules.polling import parse_duration
from autoscale_ci.rules.transient import lost_fields, transient_cause
from autoscale_ci.rules.verdict import FinishedRun, RunStatus

RETRIED, TRIGGERED = "retried from the point of failure", "triggered afresh"
# The least time an attempt is started with: a run takes minutes to clone the repository and set up.
MINIMUM_SECONDS = 120.0


class Retries:
    """Whether a failed run gets another attempt (retry-transient), and the start of that attempt."""

    def __init__(
        self,
        client: DbtCloudClient,
        runtime: Runtime,
        leftovers: Leftovers,
        waiting: Waiting,
        *,
        attempts: int,
        seconds_left: Callable[[], float],
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.leftovers = leftovers
        self.waiting = waiting
        self.left = attempts
        self.seconds_left = seconds_left

    def cause(self, status: RunStatus, found: Findings, run: Run, pr: PullRequest) -> str | None:
        """The line that shows a failed run failed on weather, when it may be tried again (which takes one of the
        attempts): retry-transient has one left, timeout-minutes has time for another run as long as this one, and
        no newer commit's run has taken over."""
        if status is not RunStatus.ERROR or self.left <= 0:
            return None
        said = found.failed_step.error_lines if found.failed_step is not None else ()
        cause = transient_cause(found.results.problems if found.results else (), [*said, run.status_message or ""])
        if cause is None:
            return None
        # A run started with less time left would be cancelled at timeout-minutes: a red check on weather is clearer.
        needed, left = max(parse_duration(run.run_duration) or 0.0, MINIMUM_SECONDS), self.seconds_left()
        if left < needed:
            self.runtime.log(f"Run {run.id} failed on weather, but only {left:.0f} s of timeout-minutes are left.")
            return None
        finished = FinishedRun(run.id, run.status, run.sha or pr.head_sha, run.href or f"run {run.id}", None)
        try:
            newer = self.waiting.superseding(finished, pr, run.created_at)
        except DbtCloudError as exc:
            self.runtime.log(f"Run {run.id} failed on weather, but the read of later runs failed ({exc.message}).")
            return None
        if newer is not None:
            self.runtime.log(f"Run {run.id} failed on weather, but {newer} has taken over: it is not tried again.")
            return None
        self.left -= 1
        return cause

    def again(self, failed: Run, payload: Mapping[str, Any], cancel: Callable[[int], bool]) -> tuple[Run, str]:
        """The next attempt's run, and how it began (RETRIED or TRIGGERED); `cancel` stops a retried run that lost
        the pull request's trigger."""
        retried = self._retried(failed, payload, cancel)
        if retried is not None:
            return retried, RETRIED
        # A signal during the trigger is held until the run's id is recorded, so that the post step can cancel it.
        with signals.shielded():
            # Only an active run answers for a trigger that may have landed: the failed run has the same trigger.
            run = self.client.trigger_run(failed.job_definition_id, payload, since=None)
            self.leftovers.run_started(run.id)
        return run, TRIGGERED

    def _retried(self, failed: Run, payload: Mapping[str, Any], cancel: Callable[[int], bool]) -> Run | None:
        """dbt Cloud's retry of the run, when it may retry it (only the job's latest failed run with results) and the
        new run keeps the commit, the pull request and its schema; None to trigger afresh instead."""
        try:
            current = self.client.get_run(failed.id)
        except DbtCloudError as exc:
            self.runtime.log(f"Could not read run {failed.id} again ({exc.message}): triggering afresh.")
            return None
        if not current.can_retry:
            why = current.retry_not_supported_reason or "no reason given"
            self.runtime.log(f"dbt Cloud cannot retry run {failed.id} from its point of failure ({why}).")
            return None
        try:
            with signals.shielded():
                run = self.client.retry_run(failed.id, failed.job_definition_id, payload)
                self.leftovers.run_started(run.id)
        except DbtCloudError as exc:
            # Most often another run of the job came first (RETRY_NOT_LATEST_RUN) since the read above.
            self.runtime.log(f"dbt Cloud did not retry run {failed.id} ({exc.message}): triggering afresh.")
            return None
        try:
            # The retry takes no body: nothing says the new run keeps what the trigger set, so its trigger is read.
            run = self.client.get_run(run.id)
        except DbtCloudError as exc:
            self.runtime.log(f"Could not read run {run.id} ({exc.message}): judging its trigger by the retry's answer.")
        lost = lost_fields(run.trigger.model_dump() if run.trigger else None, payload)
        if not lost:
            return run
        self.runtime.warning(
            f"dbt Cloud's retry of run {failed.id} started run {run.id} without the pull request's "
            f"{', '.join(lost)}: it is cancelled, and the job triggered afresh with the step's own payload.",
            title="Retry replaced",
        )
        if not cancel(run.id):
            # A second run beside one that builds without the PR's schema: the post step cancels that one first.
            raise DbtCloudError(
                f"run {run.id}, dbt Cloud's retry without the pull request's trigger, was not cancelled."
            )
        return None
