"""Carries out a plan against dbt Cloud, one method a phase: start (clone, cancels, trigger), finish (wait, verdict,
artifacts), and one teardown that cancels and deletes what the step owns. Every rule it follows is in `rules/`; the
clone comes from `clones`, the waiting from `waiting`, and `Leftovers.recording` holds what the post step must clean."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from autoscale_ci.act import signals
from autoscale_ci.act.clones import Clones
from autoscale_ci.act.leftovers import Leftovers
from autoscale_ci.act.node_guard import NodeGuard, guard_for
from autoscale_ci.act.retries import Retries
from autoscale_ci.act.threads import in_background
from autoscale_ci.act.waiting import Waiting
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.dbt_cloud.models import Job, Run, status_name
from autoscale_ci.errors import Aborted
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report.artifacts import Findings, collect
from autoscale_ci.report.outcome import Attempt, Outcome
from autoscale_ci.rules.decide import ActiveRun, Clone, Follow, Plan, Skip, Trigger, pushed_before
from autoscale_ci.rules.markers import PushOrder, clone_source
from autoscale_ci.rules.verdict import (
    FinishedRun,
    RunStatus,
    Verdict,
    explained,
    may_be_superseded,
    not_waited_for,
    verdict,
    with_results,
)

# Told of the plan as carried out, its run and the clone it runs on.
OnRun = Callable[[Plan, Run, int | None], None]


@dataclass(frozen=True)
class Options:
    """The inputs that shape how a plan is carried out."""

    job_id: int
    wait: bool = True
    delete_clone: bool = True
    cancel_on_abort: bool = True
    cancel_on_timeout: bool = True
    poll_interval: float = 30.0
    deadline: float = float("inf")
    artifacts: tuple[str, ...] = ()
    artifacts_path: Path = Path("target")
    # The most nodes a run may select, read while it goes; past it, the run is cancelled when `cancel_over_max_nodes`.
    max_nodes: int | None = None
    cancel_over_max_nodes: bool = False
    # Failed and warned nodes annotated on their files (the manifest is read for them).
    annotations: bool = False
    # How many more attempts a run that failed on weather gets (retry-transient).
    retry_transient: int = 0


@dataclass(frozen=True)
class Started:
    """What the start phase made: the run, and the clone this step must delete once the run has ended."""

    plan: Trigger | Clone
    run: Run
    clone_to_delete: int | None
    cloned_job_id: int | None
    cancelled_run_ids: tuple[int, ...]


def await_cancels(
    runtime: Runtime, cancels: list[tuple[ActiveRun, Future[Run]]], target: int, order: PushOrder | None
) -> tuple[int, ...]:
    """Wait for the stale cancels and report each; a cancel that failed in any way is a warning."""
    done: list[int] = []
    for stale, answer in cancels:
        failure = answer.exception()
        # Older only when the push times say so: without them (a re-run, another CI) the order is unknown.
        at = f"at {'older' if pushed_before(stale, order) else 'another'} commit {(stale.sha or '?')[:7]}"
        if failure is None:
            done.append(stale.id)
            runtime.log(f"Cancelled run {stale.id} of job {stale.job_id} {at}.")
            continue
        why = failure.message if isinstance(failure, DbtCloudError) else f"{type(failure).__name__}: {failure}."
        after = " and this commit's run waits for it" if stale.job_id == target else ""
        runtime.warning(
            f"Could not cancel run {stale.id} of job {stale.job_id} {at}: {why} It runs to its "
            f"end{after}; cancel it in dbt Cloud to free its run slot.",
            title="Stale run not cancelled",
        )
    return tuple(done)


def findings(client: DbtCloudClient, runtime: Runtime, run: Run, status: RunStatus, options: Options) -> Findings:
    """Artifacts of a finished run, after failed runs too: that is when they help most."""
    if status in (RunStatus.CANCELLED, RunStatus.SUPERSEDED):
        return Findings()
    with runtime.group("Artifacts"):
        found = collect(client, runtime, run, options.artifacts, options.artifacts_path, options.annotations)
    failed = found.failed_step
    if failed is not None and found.results is None:
        runtime.verbatim(f"Step {failed.index} failed: {failed.name} (end of its log)", failed.log_tail)
    return found


def left_running(run: Run, clone: int | None, elapsed: str) -> str:
    """What to say of a run left running at timeout-minutes with wait false, and of who removes its clone."""
    kept = f"; its clone job {clone} stays until cleanup mode (or its nightly sweep of idle clones) deletes it"
    return (
        f"dbt Cloud run {run.id} was still {status_name(run.status)} at timeout-minutes ({elapsed} waited to delete "
        f"its clone): wait is false, so it is left running{kept if clone is not None else ''}. "
        f"Run: {run.href or run.id}"
    )


class Executor:
    """Runs one plan; all dbt Cloud writes of the action's main step happen here. Build one for each plan."""

    def __init__(
        self,
        client: DbtCloudClient,
        runtime: Runtime,
        options: Options,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        started: float | None = None,
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.options = options
        self.leftovers = Leftovers(runtime)
        self._clock = clock
        # When the step began (on `clock`): what the step reports as waited counts from there, over every attempt.
        self._started = clock() if started is None else started
        self._started_at = datetime.now(UTC)
        self.clones = Clones(
            client,
            runtime,
            self.leftovers,
            job_id=options.job_id,
            delete_clone=options.delete_clone,
            delete=lambda clone_id: self._teardown(None, clone_id),
        )
        self.waiting = Waiting(
            client,
            runtime,
            job_id=options.job_id,
            poll_interval=options.poll_interval,
            deadline=options.deadline,
            clock=clock,
            sleep=sleep,
            elapsed=self._elapsed,
        )
        self.retries = Retries(
            client,
            runtime,
            self.leftovers,
            self.waiting,
            attempts=options.retry_transient,
            seconds_left=lambda: options.deadline - clock(),
        )

    def _elapsed(self) -> str:
        seconds = int(self._clock() - self._started)
        return f"{seconds // 60}m{seconds % 60:02d}s"

    def execute(
        self,
        plan: Plan,
        pr: PullRequest,
        job: Job | None,
        payload: Mapping[str, Any],
        *,
        on_run: OnRun = lambda _plan, _run, _clone: None,
    ) -> Outcome:
        """Carry out the plan and report what happened; `job` is the job's own definition, needed for a Clone only.
        `on_run` is told of the run once dbt Cloud has accepted the trigger (or the followed run is read)."""
        if isinstance(plan, Skip):
            return Outcome(plan, pr, RunStatus.SKIPPED)
        with self.leftovers.recording():
            if isinstance(plan, Follow):
                run = self.client.get_run(plan.run.id)
                self.runtime.log(
                    f"Following run {run.id} ({status_name(run.status)}), already in flight for this commit."
                )
                of_clone = clone_source(run.job.name if run.job else None) == self.options.job_id
                cloned = run.job_definition_id if of_clone else None
                on_run(plan, run, cloned)
                return self._finish(plan, pr, run, None, cloned_job_id=cloned)
            started = self._start(plan, pr, job, payload, on_run)
            outcome = self._finish(started.plan, pr, started.run, started, cloned_job_id=started.cloned_job_id)
            return self._again(outcome, started, pr, payload, on_run) if outcome.retry_cause else outcome

    # -- start: clone, cancels, trigger -----------------------------------------------------------------------------

    def _start(
        self,
        plan: Trigger | Clone,
        pr: PullRequest,
        job: Job | None,
        payload: Mapping[str, Any],
        on_run: OnRun,
    ) -> Started:
        target, reused = self.options.job_id, None
        cancels: list[tuple[ActiveRun, Future[Run]]] = []
        run: Run | None = None
        cancelled: tuple[int, ...] | None = None
        try:
            # The clone comes first, so that nothing is cancelled before dbt Cloud has said whether it may be made.
            if isinstance(plan, Clone):
                provided = self.clones.provide(plan, job, pr.number)
                plan, target, reused = provided.plan, provided.job_id, provided.reused
            # A signal during the trigger is held until the run's id is known, so it can be cancelled.
            with signals.shielded():
                run = self.client.trigger_run(target, payload, since=self._started_at - timedelta(minutes=1))
                self.leftovers.run_started(run.id)
            # Stale runs are cancelled only once dbt Cloud has accepted the new run: a superseding run then exists
            # before an old one ends, however slow the trigger was, and a trigger that fails cancels nothing. On the
            # job itself dbt Cloud queues the new run behind the stale one and starts it as the cancel lands.
            cancels = [(stale, in_background(self.client.cancel_run, stale.id)) for stale in plan.cancel]
            on_run(plan, run, reused or self.clones.created)
            cancelled = await_cancels(self.runtime, cancels, target, pr.order)
            self.runtime.notice(f"dbt Cloud run {run.id} for {pr.label}: {run.href or run.id}")
        except BaseException as exc:
            aborted = isinstance(exc, Aborted)
            cancel_run = run.id if run is not None and aborted and self.options.cancel_on_abort else None
            self._teardown(cancel_run, self.clones.created if self.options.delete_clone else None)
            # A cancelled step does not wait for the stale cancels: they finish, or die with the process.
            if not aborted and cancelled is None:
                await_cancels(self.runtime, cancels, target, pr.order)
            raise
        # Only a clone this step created is ever deleted by it; a reused one is kept (delete-clone is false).
        to_delete = self.clones.created if self.options.delete_clone else None
        return Started(plan, run, to_delete, reused or self.clones.created, cancelled)

    def _again(
        self, outcome: Outcome, started: Started, pr: PullRequest, payload: Mapping[str, Any], on_run: OnRun
    ) -> Outcome:
        """Try a run that failed on weather again while retry-transient allows; the verdict is the last attempt's.
        An attempt dbt Cloud refuses leaves the verdict of the run that failed."""
        earlier: list[Attempt] = []
        while (cause := outcome.retry_cause) is not None and (failed := outcome.run) is not None:
            try:
                run, how = self.retries.again(failed, payload, self._cancel_quietly)
            except BaseException as exc:
                # A new run not cancelled is the post step's; the clone goes now.
                self._teardown(None, started.clone_to_delete)
                if not isinstance(exc, DbtCloudError):
                    raise
                self.runtime.warning(f"Run {failed.id} was not tried again: {exc.message}", title="Retry failed")
                outcome = replace(outcome, retry_cause=None)
                break
            earlier.append(Attempt(failed.id, failed.href or f"run {failed.id}", cause, how, run.id))
            said = f"failed on what looks transient ({cause}): {how} as run {run.id}: {run.href or run.id}"
            self.runtime.notice(f"dbt Cloud run {failed.id} {said}")
            on_run(started.plan, run, started.cloned_job_id)
            started = replace(started, run=run)
            outcome = self._finish(started.plan, pr, run, started, cloned_job_id=started.cloned_job_id)
        return replace(outcome, attempts=tuple(earlier))

    # -- finish: wait, verdict, artifacts ---------------------------------------------------------------------------

    def _finish(
        self, plan: Plan, pr: PullRequest, run: Run, started: Started | None, *, cloned_job_id: int | None
    ) -> Outcome:
        """Wait on the run (always when this step must delete its clone), judge it, collect its artifacts."""
        owned = started is not None
        clone_id = started.clone_to_delete if started else None
        result = Outcome(
            plan,
            pr,
            RunStatus.of(run.status),
            run=run,
            job_id=run.job_definition_id,
            cloned_job_id=cloned_job_id,
            cancelled_run_ids=started.cancelled_run_ids if started else (),
        )
        if not (self.options.wait or clone_id is not None):
            if owned:
                self.runtime.log(f"Run {run.id} accepted ({result.run_status}); not waiting (wait is false).")
            if self.options.max_nodes is not None:
                self.runtime.log("max-nodes is read while the step waits: with wait false it is not checked.")
            return result
        # Only the step's own run is ever stopped for its size; a followed one is warned of.
        guard = guard_for(self.runtime, self.options.max_nodes, cancel=self.options.cancel_over_max_nodes, own=owned)
        try:
            run = self.waiting.wait(run, guard.sees if guard is not None else None)
        except BaseException as exc:
            if owned:
                aborted = isinstance(exc, Aborted) and self.options.cancel_on_abort
                # Deleting a clone cancels its run; a run no one waits for must not keep the clone alive.
                self._teardown(run.id if aborted else None, clone_id)
            raise
        result = replace(result, run=run, seconds=self._clock() - self._started)
        if guard is not None and guard.stopping:
            cancelled = self._teardown(run.id, clone_id)
            status = RunStatus.CANCELLED if cancelled else RunStatus.of(run.status)
            return replace(result, run_status=status, exit_code=1, message=guard.stopped(run.id, cancelled=cancelled))
        notes = guard.notes(run.id, None) if guard is not None else ()
        if run.is_active and owned and not self.options.wait:
            # It was waited on only so that its clone could go: with wait false, a run that outlasts timeout-minutes
            # is the user's to let run, never a reason to cancel it or to fail the step.
            left = left_running(run, started.clone_to_delete if started else None, self._elapsed())
            return replace(result, run_status=RunStatus.of(run.status), message=left, notes=notes)
        if run.is_active:
            timed_out = self._timed_out(run, started)
            return replace(result, run_status=RunStatus.TIMEOUT, exit_code=1, message=timed_out, notes=notes)
        if owned:
            self.leftovers.run_ended()
        return self._ended(result, run, pr, clone_id, guard, owned=owned)

    def _ended(
        self, result: Outcome, run: Run, pr: PullRequest, clone_id: int | None, guard: NodeGuard | None, *, owned: bool
    ) -> Outcome:
        """The outcome of a run that has finished: its verdict and findings; then its clone goes, unless the run
        failed on weather and is to be tried again on it."""
        cause = None
        try:
            judged, found = self._judged(run, pr)
            cause = self.retries.cause(judged.status, found, run, pr) if owned and self.options.wait else None
        finally:
            if clone_id is not None and cause is None:
                self._teardown(None, clone_id)
        if owned and not self.options.wait:
            judged = not_waited_for(judged)
        return replace(
            result,
            run_status=judged.status,
            exit_code=judged.exit_code,
            message=judged.message,
            superseded_by=judged.superseded_by,
            results=found.results,
            failed_step=found.failed_step,
            node_files=found.files,
            seconds=self._clock() - self._started,
            notes=guard.notes(run.id, found.results) if guard is not None else (),
            retry_cause=cause,
        )

    def _judged(self, run: Run, pr: PullRequest) -> tuple[Verdict, Findings]:
        """The verdict on a finished run, with what its artifacts show (the nodes it built, the step it failed in)."""
        judged = self._verdict(run, pr)
        found = findings(self.client, self.runtime, run, judged.status, self.options)
        judged = with_results(judged, run.id, found.results.total if found.results is not None else None)
        if found.failed_step is not None:
            step = found.failed_step
            finished = FinishedRun(run.id, run.status, run.sha, run.href or f"run {run.id}", run.status_message)
            judged = explained(judged, finished, f"step {step.index} (`{step.command}`)", step.error_lines)
        return judged, found

    def _timed_out(self, run: Run, started: Started | None) -> str:
        waited = f"dbt Cloud run {run.id} did not finish within timeout-minutes ({self._elapsed()} waited)"
        raise_it = "Raise timeout-minutes if runs take longer."
        if started is None:
            return f"{waited}; this step did not start it and left it running. {raise_it} Run: {run.href}"
        clone_id = started.clone_to_delete
        if self.options.cancel_on_timeout:
            cancelled = self._teardown(run.id, clone_id)
            what = "the action cancelled it" if cancelled else "the action could not cancel it (see the warning above)"
        else:
            # Left running on purpose: neither the post step nor this one may cancel it or delete its clone (the
            # recording settles both once the plan ends).
            kept = f"; its clone job {clone_id} stays until cleanup mode removes it" if clone_id is not None else ""
            what = f"it is still running (cancel-on-timeout is false){kept}"
        return f"{waited}; {what}. {raise_it} Run: {run.href or run.id}"

    def _verdict(self, run: Run, pr: PullRequest) -> Verdict:
        """The verdict; for a cancelled run, with the later runs that may show a newer commit took over
        (a newer commit's step triggers before it cancels, so its run is there to be seen)."""
        finished = FinishedRun(
            run.id, run.status, run.sha or pr.head_sha, run.href or f"run {run.id}", run.status_message
        )
        newer = self.waiting.superseding(finished, pr, run.created_at) if may_be_superseded(finished) else None
        return verdict(finished, pr.number, pr.short_sha, newer)

    # -- teardown: the one place that cancels the step's run and deletes its clone -------------------------------

    def _teardown(self, run_id: int | None, clone_id: int | None) -> bool:
        """Cancel `run_id` and delete `clone_id` (either may be None), past any signal or deadline; whether the
        run was cancelled. A failure is a warning: the post step and cleanup mode try again."""
        cancelled = False
        with signals.shielded(), self.client.unbounded():
            if run_id is not None:
                cancelled = self._cancel_quietly(run_id)
            if clone_id is not None:
                self._delete_clone(clone_id)
        return cancelled

    def _cancel_quietly(self, run_id: int) -> bool:
        try:
            self.client.cancel_run(run_id)
        except DbtCloudError as exc:
            self.leftovers.run_cancelled(done=False)
            self.runtime.warning(
                f"Could not cancel run {run_id}: {exc.message} Cancel it in dbt Cloud; the post step will try again."
            )
            return False
        self.leftovers.run_cancelled(done=True)
        self.runtime.log(f"Cancelled run {run_id}.")
        return True

    def _delete_clone(self, clone_id: int) -> None:
        try:
            if self.client.delete_job(clone_id):
                self.runtime.log(f"Deleted clone job {clone_id}.")
            self.leftovers.clone_deleted(done=True)
        except DbtCloudError as exc:
            self.leftovers.clone_deleted(done=False)
            self.runtime.warning(
                f"Could not delete clone job {clone_id}: {exc.message} Delete it in dbt Cloud, or let the "
                "post step or cleanup mode remove it."
            )
