"""Carries out a plan against dbt Cloud, one method a phase: start (clone, cancels, trigger), finish (wait, verdict,
artifacts), and one teardown that cancels and deletes what the step owns. Every rule it follows is the engine's."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from autoscale_ci import signals
from autoscale_ci.artifacts import Findings, collect
from autoscale_ci.clone import clone_definition
from autoscale_ci.context import PullRequest
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.engine import (
    ActiveRun,
    Clone,
    FinishedRun,
    Follow,
    Plan,
    RunStatus,
    Skip,
    Trigger,
    Verdict,
    explained,
    may_be_superseded,
    not_waited_for,
    pushed_before,
    superseded_by,
    verdict,
    with_results,
    without_clone,
)
from autoscale_ci.errors import Aborted
from autoscale_ci.markers import PushOrder, clone_marker_prefix, clone_pr, clone_source
from autoscale_ci.models import RUNNING, Job, JobTriggers, Override, Run, parse_timestamp, status_name
from autoscale_ci.outcome import Outcome
from autoscale_ci.polling import expected_duration, next_check, parse_duration, weather_wait
from autoscale_ci.post import Leftovers
from autoscale_ci.runtime import Runtime
from autoscale_ci.snapshot import as_active, read_runs
from autoscale_ci.threads import in_background

# How dbt Cloud refuses a token that may not create jobs: 403, and often 404 ("... check that you have the proper
# permissions").
PERMISSION_REFUSALS = (403, 404)
# dbt Cloud's words when it will not make a clone of a job with state-aware orchestration (a 405, NOTES.md).
STATE_AWARE = "state aware orchestration"


def refuses_the_clone(error: DbtCloudError) -> bool:
    """Whether dbt Cloud said no to the clone itself (a 4xx: its permission, its body, its job's settings), so that
    triggering the job is the way on; a rate limit or a server error is weather, not an answer about the clone."""
    return error.status_code is not None and 400 <= error.status_code < 500 and error.status_code != 429


def clone_refused(error: DbtCloudError, job_id: int) -> tuple[str, str]:
    """The warning for a clone dbt Cloud refused, with dbt Cloud's own words and what to change; and its title."""
    code = error.status_code
    said = f' ("{error.said}")' if error.said else ""
    if code in PERMISSION_REFUSALS:
        title = "Clone not allowed"
        change = "give the token the Job Admin permission set (or Job Creator, on Enterprise) for the job's project" + (
            " (dbt Cloud answers 404 for a missing permission too)" if code == 404 else ""
        )
    elif STATE_AWARE in error.said.lower():
        title = "Clone refused"
        change = (
            f"switch off state-aware orchestration (dbt State, the job's cost optimization features) in job {job_id}'s "
            "settings: dbt Cloud does not allow it on CI and merge jobs, so no clone of the job can be made"
        )
    else:
        title = "Clone refused"
        change = f"check job {job_id}'s settings in dbt Cloud, and report this warning if they look right"
    message = (
        f"dbt Cloud answered {code} when asked to {error.operation}{said}. Job {job_id} is triggered instead, and dbt "
        f"Cloud queues the run behind the one in flight. To let the action clone a busy job, {change}; to stop it "
        "trying, set clone: false."
    )
    return message, title


# Rendered when the job has a secret job-level override: the API shows its value masked, so no clone can have it.
MASKED_OVERRIDE = (
    "Job {job} has the secret environment-variable override(s) {names}: dbt Cloud shows a secret's value masked, so "
    "a clone cannot be given it, and a run on a clone would build without it. Job {job} is triggered instead, and "
    "dbt Cloud queues the run behind the one in flight. To let busy pull requests run on clones, set the secret at "
    "the environment level (the environment's Environment variables), where every job of the environment reads it."
)
# A read while waiting gets one quick retry (a connection reset, a lone 502); longer weather is paced by the waiting.
READ_ATTEMPTS = 2
_T = TypeVar("_T")


def _cause(error: DbtCloudError) -> str:
    """What a read got instead of an answer."""
    return f"HTTP {error.status_code}" if error.status_code is not None else "no answer"


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
    dry_run: bool = False
    # The run followed is the one dbt Cloud's own pull request trigger started: that trigger is meant to be on.
    native_trigger: bool = False


@dataclass(frozen=True)
class Started:
    """What the start phase made: the run, and the clone this step must delete once the run has ended."""

    plan: Trigger | Clone
    run: Run
    clone_to_delete: int | None
    cloned_job_id: int | None
    cancelled_run_ids: tuple[int, ...]


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
        self._sleep = sleep
        # When the step began (on `clock`): what the step reports as waited counts from there, over every attempt.
        self._started = clock() if started is None else started
        self._started_at = datetime.now(UTC)
        self._job_checked = False
        self._created_clone: int | None = None

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
        """Carry out the plan and report what happened; `job` is the job's definition, needed for a Clone only.
        `on_run` is told of the run once dbt Cloud has accepted the trigger (or the followed run is read)."""
        match plan:
            case Skip():
                return Outcome(plan, pr, RunStatus.SKIPPED)
            case Follow(run=followed):
                run = self.client.get_run(followed.id)
                self.runtime.log(
                    f"Following run {run.id} ({status_name(run.status)}), already in flight for this commit."
                )
                of_clone = clone_source(run.job.name if run.job else None) == self.options.job_id
                cloned = run.job_definition_id if of_clone else None
                on_run(plan, run, cloned)
                return self._finish(plan, pr, run, None, cloned_job_id=cloned)
            case Trigger() | Clone():
                started = self._start(plan, pr, job, payload, on_run)
                return self._finish(started.plan, pr, started.run, started, cloned_job_id=started.cloned_job_id)

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
                plan, target, reused = self._clone(plan, job, pr)
            # A signal during the trigger is held until the run's id is known, so it can be cancelled.
            with signals.shielded():
                run = self.client.trigger_run(target, payload, since=self._started_at - timedelta(minutes=1))
                self.leftovers.run_started(run.id)
            # Stale runs are cancelled only once dbt Cloud has accepted the new run: a superseding run then exists
            # before an old one ends, however slow the trigger was, and a trigger that fails cancels nothing. On the
            # job itself dbt Cloud queues the new run behind the stale one and starts it as the cancel lands.
            cancels = [(stale, in_background(self.client.cancel_run, stale.id)) for stale in plan.cancel]
            on_run(plan, run, reused or self._created_clone)
            cancelled = self._await_cancels(cancels, target, pr.order)
            self.runtime.notice(f"dbt Cloud run {run.id} for {pr.label}: {run.href or run.id}")
        except BaseException as exc:
            aborted = isinstance(exc, Aborted)
            cancel_run = run.id if run is not None and aborted and self.options.cancel_on_abort else None
            self._teardown(cancel_run, self._created_clone if self.options.delete_clone else None)
            # A cancelled step does not wait for the stale cancels: they finish, or die with the process.
            if not aborted and cancelled is None:
                self._await_cancels(cancels, target, pr.order)
            raise
        # Only a clone this step created is ever deleted by it; a reused one is kept (delete-clone is false).
        to_delete = self._created_clone if self.options.delete_clone else None
        return Started(plan, run, to_delete, reused or self._created_clone, cancelled)

    def _clone(self, plan: Clone, job: Job | None, pr: PullRequest) -> tuple[Trigger | Clone, int, int | None]:
        """Make (or update) the clone and give it the job's overrides: the plan as it stands then, the job to trigger
        and the reused clone; the job itself, with a warning, when the clone may not be made or would differ."""
        if job is None:
            raise ValueError("a Clone plan needs the job's definition")
        self._check_triggers(job.triggers)
        # Read while the clone is made: a job without overrides pays no round trip for them.
        reading = in_background(self.client.job_overrides, job.project_id, job.id)
        try:
            reused = self._prepare_clone(plan, job, pr)
            target = reused or self._created_clone or self.options.job_id
            found, why_not = self._job_overrides(reading)
            if why_not is None:
                self._copy_overrides(job.project_id, target, found, reused=reused is not None)
                return plan, target, reused
        except DbtCloudError as refused:
            if not refuses_the_clone(refused):
                raise
            why_not = f"answered {refused.status_code}"
            self.runtime.warning(*clone_refused(refused, self.options.job_id))
        # The clone made meanwhile goes at once; a reused one stays, idle, for a later step.
        if self._created_clone is not None:
            self._teardown(None, self._created_clone)
            self._created_clone = None
        return without_clone(plan, why_not), self.options.job_id, None

    def _prepare_clone(self, plan: Clone, job: Job, pr: PullRequest) -> int | None:
        """The idle clone updated for reuse, or None with the clone created in `_created_clone` (set the moment it
        exists, so that a signal right after cannot leave it behind)."""
        body = clone_definition(job.definition(), self.options.job_id, pr.number, secrets.token_hex(3))
        if plan.reuse_clone_id is not None:
            try:
                self.client.update_job(plan.reuse_clone_id, body)
            except DbtCloudError as gone:
                if gone.status_code != 404:
                    raise
                # dbt Cloud answers 404 for a missing permission too: only a clone that reads back deleted is gone.
                found = self.client.find_job(plan.reuse_clone_id)
                if found is not None and not found.deleted:
                    raise
                # Deleted since it was listed (a cleanup sweep, say): a fresh clone takes its place.
                self.runtime.log(f"Idle clone job {plan.reuse_clone_id} is gone; creating a new clone.")
            else:
                self.runtime.log(f"Updated idle clone job {plan.reuse_clone_id} from job {self.options.job_id}.")
                return plan.reuse_clone_id
        with signals.shielded():
            clone = self.client.create_job(body)
            self._created_clone = clone.id
            if self.options.delete_clone:
                self.leftovers.clone_created(clone.id)
        self.runtime.log(f"Created clone job {clone.id} '{clone.name}' (every trigger and the schedule off).")
        return None

    def _job_overrides(self, reading: Future[dict[str, Override]]) -> tuple[dict[str, Override], str | None]:
        """The job's overrides, which its clone must get; and why not to clone (a secret, or overrides that could not
        be read), said in a warning."""
        try:
            found = reading.result()
        except DbtCloudError as exc:
            self.runtime.warning(
                f"Could not read the environment-variable overrides of job {self.options.job_id} ({exc.message}), so "
                "a clone might build with other settings than the job: the job is triggered instead, and dbt Cloud "
                "queues the run.",
                title="Clone skipped",
            )
            return {}, "its environment-variable overrides could not be read"
        secrets = sorted(name for name, override in found.items() if override.secret)
        if not secrets:
            return found, None
        self.runtime.warning(
            MASKED_OVERRIDE.format(job=self.options.job_id, names=", ".join(secrets)), title="Clone skipped"
        )
        return found, f"its secret override {secrets[0]} cannot be copied to a clone"

    def _copy_overrides(self, project_id: int, clone_id: int, wanted: dict[str, Override], *, reused: bool) -> None:
        """Give the clone exactly the job's overrides, all at once, before its run is triggered."""
        have = self.client.job_overrides(project_id, clone_id) if reused else {}
        writes: list[Future[None]] = []
        for name, override in wanted.items():
            current = have.get(name)
            if current is not None and current.value == override.value:
                continue
            changing = current.id if current is not None else None
            value = override.value or ""
            set_it = partial(self.client.set_job_override, project_id, clone_id, name, value, override_id=changing)
            writes.append(in_background(set_it))
        for name, current in have.items():
            if name not in wanted and current.id is not None:
                writes.append(in_background(self.client.delete_job_override, project_id, current.id))
        for write in writes:
            write.result()
        if writes:
            job_id = self.options.job_id
            self.runtime.log(f"Clone job {clone_id} has the {len(wanted)} override(s) of job {job_id} now.")

    def _await_cancels(
        self, cancels: list[tuple[ActiveRun, Future[Run]]], target: int, order: PushOrder | None
    ) -> tuple[int, ...]:
        """Wait for the stale cancels and report each; a cancel that failed in any way is a warning."""
        done: list[int] = []
        for stale, answer in cancels:
            failure = answer.exception()
            # Older only when the push times say so: without them (a re-run, another CI) the order is unknown.
            at = f"at {'older' if pushed_before(stale, order) else 'another'} commit {(stale.sha or '?')[:7]}"
            if failure is None:
                done.append(stale.id)
                self.runtime.log(f"Cancelled run {stale.id} of job {stale.job_id} {at}.")
                continue
            why = failure.message if isinstance(failure, DbtCloudError) else f"{type(failure).__name__}: {failure}."
            after = " and this commit's run waits for it" if stale.job_id == target else ""
            self.runtime.warning(
                f"Could not cancel run {stale.id} of job {stale.job_id} {at}: {why} It runs to its "
                f"end{after}; cancel it in dbt Cloud to free its run slot.",
                title="Stale run not cancelled",
            )
        return tuple(done)

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
            self._check_triggers_once(run)
            if owned:
                self.leftovers.run_settled()  # left running on purpose; the post step must not cancel it
                self.runtime.log(f"Run {run.id} accepted ({result.run_status}); not waiting (wait is false).")
            return result
        try:
            run = self._wait(run)
        except BaseException as exc:
            if owned:
                aborted = isinstance(exc, Aborted) and self.options.cancel_on_abort
                # Deleting a clone cancels its run; a run no one waits for must not keep the clone alive.
                self._teardown(run.id if aborted else None, clone_id)
            raise
        result = replace(result, run=run, seconds=self._clock() - self._started)
        if run.is_active and owned and not self.options.wait:
            # It was waited on only so that its clone could go: with wait false, a run that outlasts timeout-minutes
            # is the user's to let run, never a reason to cancel it or to fail the step.
            return replace(result, run_status=RunStatus.of(run.status), message=self._left_running(run, started))
        if run.is_active:
            return replace(result, run_status=RunStatus.TIMEOUT, exit_code=1, message=self._timed_out(run, started))
        if owned:
            self.leftovers.run_settled()
        try:
            judged = self._verdict(run, pr)
            found = self._collect(run, judged.status)
            judged = with_results(judged, run.id, found.results.total if found.results is not None else None)
            if found.failed_step is not None:
                step = found.failed_step
                finished = FinishedRun(run.id, run.status, run.sha, run.href or f"run {run.id}", run.status_message)
                judged = explained(judged, finished, f"step {step.index} (`{step.command}`)", step.error_lines)
        finally:
            if clone_id is not None:
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
            seconds=self._clock() - self._started,
        )

    def _left_running(self, run: Run, started: Started | None) -> str:
        """Leave the run and its clone as they are; the warning that says so and who removes the clone."""
        self.leftovers.run_settled()
        self.leftovers.clone_settled()
        clone = started.clone_to_delete if started is not None else None
        kept = (
            f"; its clone job {clone} stays until cleanup mode (or its nightly sweep of idle clones) deletes it"
            if clone is not None
            else ""
        )
        return (
            f"dbt Cloud run {run.id} was still {status_name(run.status)} at timeout-minutes ({self._elapsed()} "
            f"waited to delete its clone): wait is false, so it is left running{kept}. Run: {run.href or run.id}"
        )

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
            # Left running on purpose: neither the post step nor this one may cancel it or delete its clone.
            self.leftovers.run_settled()
            self.leftovers.clone_settled()
            kept = f"; its clone job {clone_id} stays until cleanup mode removes it" if clone_id is not None else ""
            what = f"it is still running (cancel-on-timeout is false){kept}"
        return f"{waited}; {what}. {raise_it} Run: {run.href or run.id}"

    def _wait(self, run: Run) -> Run:
        last = run.status
        self.runtime.log(f"[{self._elapsed()}] run {run.id}: {status_name(last)}")
        expected = self._expected_duration() if run.is_active else None
        began = self._clock()
        while run.is_active:
            remaining = self.options.deadline - self._clock()
            if remaining <= 0:
                return run
            running_for = parse_duration(run.run_duration) if run.status == RUNNING else None
            wait = next_check(running_for, expected, self.options.poll_interval, self._clock() - began)
            self._sleep(min(wait, remaining))
            read = partial(self.client.get_run, run.id, attempts=READ_ATTEMPTS)
            fresh = self._through_weather(read, f"the read of run {run.id}")
            if fresh is None:
                return run  # timeout-minutes passed while dbt Cloud did not answer
            run = fresh
            self._warn_if_job_runs_on_prs(run)
            if run.status != last:
                last = run.status
                self.runtime.log(f"[{self._elapsed()}] run {run.id}: {status_name(last)}")
        return run

    def _through_weather(self, read: Callable[[], _T], what: str) -> _T | None:
        """`read()`'s answer, tried again through dbt Cloud's bad minutes (a 5xx, a 429, no answer at all), paced so
        that an outage costs a few requests a minute, until timeout-minutes (then None). Only a definite answer (the
        run is gone, the token no longer works) is raised: weather never costs a run. One warning a streak."""
        streak, began = 0, self._clock()
        while True:
            try:
                answer = read()
            except DbtCloudError as exc:
                if not exc.weather:
                    raise
                streak += 1
                remaining = self.options.deadline - self._clock()
                wait = weather_wait(self.options.poll_interval, streak, exc.status_code, exc.retry_after)
                if streak == 1:
                    again = f"looking again in {max(min(wait, remaining), 0):.0f} s"
                    self.runtime.log(
                        f"{what[0].upper()}{what[1:]} failed ({_cause(exc)}); {again}, the run left alone."
                    )
                if remaining <= 0:
                    self._weathered(what, streak, began, exc, over=False)
                    return None
                self._sleep(min(wait, remaining))
                continue
            if streak:
                self._weathered(what, streak, began, None, over=True)
            return answer

    def _weathered(self, what: str, streak: int, began: float, last: DbtCloudError | None, *, over: bool) -> None:
        seconds = int(self._clock() - began)
        how = f"{streak} tries in {seconds // 60}m{seconds % 60:02d}s"
        if over:
            message = f"dbt Cloud did not answer {what} for {how}, then answered again: the step waited on."
        else:
            cause = f" (last: {_cause(last)})" if last is not None else ""
            message = f"dbt Cloud did not answer {what} for {how}{cause}, until timeout-minutes."
        self.runtime.warning(f"{message} The run was never touched because of it.", title="dbt Cloud did not answer")

    def _verdict(self, run: Run, pr: PullRequest) -> Verdict:
        """The engine's verdict; for a cancelled run, with the later runs that may show a newer commit took over
        (a newer commit's step triggers before it cancels, so its run is there to be seen)."""
        finished = FinishedRun(
            run.id, run.status, run.sha or pr.head_sha, run.href or f"run {run.id}", run.status_message
        )
        newer = self._superseding(finished, pr, run.created_at) if may_be_superseded(finished) else None
        return verdict(finished, pr.number, pr.short_sha, newer)

    def _superseding(self, run: FinishedRun, pr: PullRequest, created_at: str | None) -> str | None:
        """The newer commit whose run took over from `run`: looked for among the job's newest runs, then among those
        of the clones made or reused for this pull request since `run` was created (a newer run may be on one, its
        clone deleted already); one page each, however many runs the account made meanwhile."""
        job_id = self.options.job_id
        for target in self._supersede_targets(pr.number, parse_timestamp(created_at)):
            read = partial(self.client.recent_run_rows, job_id=target, id_gt=run.id, attempts=READ_ATTEMPTS)
            rows = self._through_weather(read, f"the read of the runs after run {run.id}")
            if rows is None:
                return None
            later = [as_active(newer) for newer in read_runs(rows, job_id, self.runtime.debug)]
            found = superseded_by(run, job_id, pr.number, pr.order, later)
            if found is not None:
                return found
        return None

    def _supersede_targets(self, pr_number: int, since: datetime | None) -> Iterator[int]:
        """The job, then (read only when needed) this pull request's clones changed since `since`."""
        job_id = self.options.job_id
        yield job_id
        named = f"{clone_marker_prefix(job_id)}{pr_number}"
        read = partial(self.client.list_jobs, named, deleted=True)
        clones = self._through_weather(read, f"the read of the clones of job {job_id} for PR #{pr_number}") or []
        for clone in sorted(clones, key=lambda job: job.id, reverse=True):
            if clone_source(clone.name) != job_id or clone_pr(clone.name) != pr_number:
                continue
            stamps = [parse_timestamp(clone.definition().get(key)) for key in ("created_at", "updated_at")]
            changed = max((stamp for stamp in stamps if stamp is not None), default=None)
            if since is None or changed is None or changed >= since:
                yield clone.id

    def _collect(self, run: Run, status: RunStatus) -> Findings:
        """Artifacts of a finished run, after failed runs too: that is when they help most."""
        if status in (RunStatus.CANCELLED, RunStatus.SUPERSEDED):
            return Findings()
        with self.runtime.group("Artifacts"):
            found = collect(self.client, self.runtime, run, self.options.artifacts, self.options.artifacts_path)
        failed = found.failed_step
        if failed is not None and found.results is None:
            self.runtime.verbatim(f"Step {failed.index} failed: {failed.name} (end of its log)", failed.log_tail)
        return found

    def _warn_if_job_runs_on_prs(self, run: Run) -> None:
        """Warn, once, when the run's job (the one this step triggers, not a clone) also runs on its own for PRs."""
        if run.job is not None and run.job_definition_id == self.options.job_id:
            self._check_triggers(run.job.triggers)

    def _check_triggers(self, triggers: JobTriggers | None) -> None:
        if self._job_checked or triggers is None or self.options.native_trigger:
            return
        self._job_checked = True
        if triggers.on_pull_requests:
            self.runtime.warning(
                f"Job {self.options.job_id} has its own pull request trigger on, so dbt Cloud also runs it for every "
                "PR and each commit runs twice: switch off 'Run on pull requests' in the job's Triggers settings, or "
                "keep it on and set native-trigger: true, so that the action triggers nothing and reports the run "
                "dbt Cloud starts.",
                title="Duplicate CI runs",
            )

    def _check_triggers_once(self, run: Run) -> None:
        """With no wait, no poll reads the job: the run at hand does when it carries the job's triggers (a followed
        run), else one read of it, after the trigger."""
        if self._job_checked or run.job_definition_id != self.options.job_id:
            return
        try:
            carries = run.job is not None and run.job.triggers is not None
            self._warn_if_job_runs_on_prs(run if carries else self.client.get_run(run.id))
        except DbtCloudError:
            self._job_checked = True  # a check, never a reason to fail a step whose run is accepted

    def _expected_duration(self) -> float | None:
        """The job's typical run time, so that checks can cluster around the likely end; a guess, never fatal."""
        try:
            return expected_duration(self.client.recent_durations(self.options.job_id))
        except DbtCloudError:
            return None

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
            self.runtime.warning(
                f"Could not cancel run {run_id}: {exc.message} Cancel it in dbt Cloud; the post step will try again."
            )
            return False
        self.leftovers.run_settled()
        self.runtime.log(f"Cancelled run {run_id}.")
        return True

    def _delete_clone(self, clone_id: int) -> None:
        try:
            if self.client.delete_job(clone_id):
                self.runtime.log(f"Deleted clone job {clone_id}.")
            self.leftovers.clone_settled()
        except DbtCloudError as exc:
            self.runtime.warning(
                f"Could not delete clone job {clone_id}: {exc.message} Delete it in dbt Cloud, or let the "
                "post step or cleanup mode remove it."
            )
