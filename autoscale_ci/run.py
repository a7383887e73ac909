"""The pipeline: settings -> pull request -> payload -> decide -> execute -> report; and the one place where
exceptions become error lines (`::error::` under GitHub), a summary and an exit code."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from autoscale_ci import cleanup, wiring
from autoscale_ci.act import signals
from autoscale_ci.act.clones import clone_refused, refuses_the_clone
from autoscale_ci.act.closed_pr import closed_since
from autoscale_ci.act.executor import Executor, Options
from autoscale_ci.act.native import NATIVE_WAIT_SECONDS, find_native_run
from autoscale_ci.act.snapshot import SnapshotReader, as_active
from autoscale_ci.act.stale_base import BaseCheck
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.dbt_cloud.errors import for_the_plan
from autoscale_ci.dbt_cloud.models import Job, Run
from autoscale_ci.errors import Aborted, ActionError, InputError
from autoscale_ci.github.api import GitHubAccess
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.inputs.runner import Runner, fork_pr_number, merge_queue_branch, pull_request
from autoscale_ci.inputs.settings import GITHUB_TOKEN_INPUT, TOKEN_INPUT, Settings, load_settings
from autoscale_ci.report.annotating import annotate
from autoscale_ci.report.commenter import Commenter, Target
from autoscale_ci.report.outcome import Outcome
from autoscale_ci.report.summary import decision, error_summary, outputs, planned, skip_outputs, skip_summary, summary
from autoscale_ci.rules.decide import (
    Clone,
    Follow,
    Plan,
    PrState,
    Skip,
    Trigger,
    decide,
    precheck,
    queue_precheck,
    slot_arithmetic,
    without_clone,
)
from autoscale_ci.rules.hosts import host_warning, legacy_host_warning
from autoscale_ci.rules.markers import pr_schema
from autoscale_ci.rules.verdict import RunStatus, decide_again

# Rendered when the job's own pull request trigger is on (and native-trigger is not): dbt Cloud runs it too.
DUPLICATE_RUNS = (
    "Job {job} has its own pull request trigger on, so dbt Cloud also runs it for every PR and each commit runs "
    "twice: switch off 'Run on pull requests' in the job's Triggers settings, or keep it on and set native-trigger: "
    "true, so that the action triggers nothing and reports the run dbt Cloud starts."
)
# Rendered when native-trigger is true on a merge queue entry: dbt Cloud's own trigger runs for pull requests only.
# Rendered when wait is false on a merge queue entry: the queue would merge on the trigger, before any verdict.
NO_WAIT_QUEUE_RUN = (
    "wait is false, but a merge queue entry's check is what the queue merges on: it would pass as soon as dbt Cloud "
    "accepted the run, before any verdict, and nothing was done: set wait: true for queue entries, or merge-queue: "
    "skip to pass the queue's check without a run."
)
NO_NATIVE_QUEUE_RUN = (
    "native-trigger is true, but dbt Cloud's own pull request trigger starts no run for a merge queue entry, so "
    "nothing would report this one and nothing was done: set merge-queue: skip to pass the queue's check without a "
    "run, or native-trigger: false to run the job for each queue entry."
)


def main(*, missing_token: str | None = None, naming: str = "input") -> int:
    """Run the action once; returns the process exit code. `missing_token` says how to give the token where the
    step is not a workflow's `with:` (the command line), and `naming` "flag" names inputs as its flags."""
    runtime = Runtime()
    started = time.monotonic()
    runtime.mask(os.environ.get(TOKEN_INPUT, "").strip())
    runtime.mask(os.environ.get(GITHUB_TOKEN_INPUT, "").strip())  # before validation, which may quote a bad value
    runtime.mask(os.environ.get("GITHUB_TOKEN", "").strip())
    signals.install()
    commenter: Commenter | None = None
    try:
        runner = Runner.read(os.environ)
        settings = load_settings(fork_pr=lambda: fork_pr_number(runner), missing_token=missing_token, naming=naming)
        if settings.mode == "cleanup":
            return cleanup.run(settings, runner, runtime, started)
        queue_skip = queue_precheck(runner.event_name, merge_queue_branch(runner), settings.merge_queue)
        if queue_skip is not None:
            return _skip_before_the_pull_request(runtime, queue_skip)
        pr = pull_request(
            runner,
            provider=settings.git_provider,
            number=settings.pr_number,
            git_sha=settings.git_sha,
            pushed_at=settings.pushed_at,
        )
        github = _github_access(settings, runner, pr)
        commenter = _commenter(settings, runtime, github, pr)
        outcome = _run(Step.of(settings, pr, runtime, started, commenter, github))
        return _report(outcome, runtime, commenter, annotations=settings.annotations)
    except ActionError as exc:
        code = _fail(runtime, exc.errors(), exc.exit_code)
        if commenter is not None:
            commenter.failed(" ".join(error.message for error in exc.errors()))
        return code
    except Aborted as exc:
        message = f"The workflow was cancelled (signal {exc.signum}); the step cleaned up what it had started."
        runtime.warning(message)
        runtime.write_summary(error_summary(message, title="cancelled"))
        return exc.exit_code
    except Exception as exc:
        # Redacted before it is cut, so that no part of the token survives the cut.
        detail = runtime.redact(str(exc))[:300]
        message = f"Unexpected failure ({type(exc).__name__}: {detail}): re-run the workflow, and report it."
        code = _fail(runtime, [ActionError(message, title="autoscale-dbt-ci failed")], 1)
        if commenter is not None:
            commenter.failed(message)
        return code


def _fail(runtime: Runtime, errors: list[ActionError], code: int) -> int:
    """One `::error::` line each, one summary, the exit code."""
    for error in errors:
        runtime.error(error.message, title=error.title)
    runtime.write_summary(error_summary(" ".join(error.message for error in errors)))
    return code


def _skip_before_the_pull_request(runtime: Runtime, plan: Skip) -> int:
    """A skip decided on the event alone: a notice, the outputs and the summary; nothing asked of dbt Cloud."""
    runtime.notice(f"Nothing to run: {plan.reason}.")
    runtime.set_outputs(skip_outputs(plan))
    runtime.write_summary(skip_summary(plan))
    return 0


def _github_access(settings: Settings, runner: Runner, pr: PullRequest) -> GitHubAccess | None:
    """How to ask GitHub about a GitHub pull request in a GitHub repository; None for any other."""
    if runner.repository is None or pr.provider != "github":
        return None
    token = settings.github_token.get_secret_value() if settings.github_token else runner.github_token
    return GitHubAccess(runner.api_url, runner.repository, token or None)


def _commenter(settings: Settings, runtime: Runtime, github: GitHubAccess | None, pr: PullRequest) -> Commenter | None:
    """The pull request comment's writer, where there is a GitHub pull request to write it on."""
    if settings.pr_comment == "never" or settings.dry_run or github is None:
        return None
    if pr.queue_branch is not None:
        # The entry's commit is not the pull request's head, and may fail for an entry ahead of it in the queue: its
        # verdict belongs on the queue's check, not on a pull request that has left review.
        runtime.log("pr-comment: a merge queue entry writes no pull request comment; its check carries the verdict.")
        return None
    return Commenter(runtime, settings.pr_comment, Target(github, pr, settings.job_id))


@dataclass(frozen=True)
class Step:
    """What every stage of one main step shares: the inputs, the pull request and what is made of them, where the
    step says things, and when it began."""

    settings: Settings
    pr: PullRequest
    runtime: Runtime
    started: float
    commenter: Commenter | None
    github: GitHubAccess | None
    options: Options
    payload: dict[str, Any]
    request: PrState

    @classmethod
    def of(  # noqa: PLR0917 - what main has read, in the order it read it
        cls,
        settings: Settings,
        pr: PullRequest,
        runtime: Runtime,
        started: float,
        commenter: Commenter | None,
        github: GitHubAccess | None,
    ) -> Step:
        """The step for this pull request, its decision's request, options and trigger body made once."""
        request = PrState(
            pr_number=pr.number,
            sha=pr.head_sha,
            draft=pr.draft,
            closed=pr.closed,
            run_on_draft=settings.run_on_draft,
            clone=settings.clone,
            delete_clone=settings.delete_clone,
            max_run_slots=settings.max_run_slots,
            order=pr.order,
            native_concurrency={"auto": None, "true": True, "false": False}[settings.native_concurrency],
            prefix=pr.prefix,
        )
        options = wiring.options(settings, started)
        return cls(settings, pr, runtime, started, commenter, github, options, wiring.payload(settings, pr), request)

    def execute(self, client: DbtCloudClient, plan: Plan, job: Job | None, *, held_line: str | None = None) -> Outcome:
        """Carry the plan out; `held_line` (the decision) is logged once dbt Cloud has accepted the trigger."""

        held = [held_line] if held_line is not None else []

        def on_run(carried_out: Plan, run: Run, cloned_job_id: int | None) -> None:
            # Once: a run tried again (retry-transient) is told of too, for the comment.
            for line in held:
                self.runtime.log(line)
            held.clear()
            # With no wait the verdict follows at once: an in-flight comment would be written for nothing.
            if self.commenter is not None and self.options.wait:
                self.commenter.in_flight(carried_out, run, cloned_job_id)

        executor = Executor(client, self.runtime, self.options, started=self.started)
        return executor.execute(plan, self.pr, job, self.payload, on_run=on_run)


def _run(step: Step) -> Outcome:
    settings, pr, runtime = step.settings, step.pr, step.runtime
    if settings.native_trigger and pr.queue_branch is not None:
        raise InputError("native-trigger", NO_NATIVE_QUEUE_RUN)
    if not settings.wait and pr.queue_branch is not None and not settings.dry_run:
        raise InputError("wait", NO_WAIT_QUEUE_RUN)
    if settings.schema_override and settings.schema_override != pr_schema(settings.job_id, pr.number):
        runtime.warning(
            f"schema-override is {settings.schema_override}, not {pr_schema(settings.job_id, pr.number)}: cleanup mode "
            "drops only a pull request's own schema, so it will not drop this one when the pull request closes. Drop "
            "it yourself, or leave schema-override empty.",
            title="Schema left behind",
        )
    with wiring.client(settings, step.started, runtime) as client:
        skip = precheck(step.request)
        if skip is not None:
            runtime.notice(f"Nothing to run: {skip.reason}.")
            return step.execute(client, skip, None)
        if settings.native_trigger:
            return _follow_dbts_own_run(step, client)
        check = _base_check(step, client)
        for attempt in (1, 2):
            outcome = _attempt(step, client, first=attempt == 1, check=check)
            if not decide_again(outcome.plan, outcome.run_status, attempt):
                return outcome
            if closed_since(client, settings.job_id, outcome.run.id if outcome.run else None, pr.number):
                message = f"PR #{pr.number} was closed and its runs cancelled; nothing is left to test."
                return replace(outcome, exit_code=0, message=message)
            runtime.log("The followed run was cancelled and no newer commit superseded it; deciding again.")
        return outcome


def _attempt(step: Step, client: DbtCloudClient, *, first: bool, check: BaseCheck | None) -> Outcome:
    """Read, decide, carry the plan out. The `first` attempt also checks that the host is the account's, once the
    plan is carried out or failed, and warns of the job's own pull request trigger."""
    reads = SnapshotReader(
        client, step.options.job_id, list_clones=not step.settings.delete_clone, debug=step.runtime.debug
    )
    aborted = False
    try:
        return _decide_and_execute(step, client, reads, first=first, check=check)
    except Aborted:
        aborted = True  # a cancelled step has the runner's few seconds to end in: the host's advice can wait
        raise
    finally:
        if first and not aborted:
            _warn_if_not_the_accounts_host(step.runtime, step.settings.dbt_cloud_host, reads)


def _decide_and_execute(
    step: Step, client: DbtCloudClient, reads: SnapshotReader, *, first: bool, check: BaseCheck | None
) -> Outcome:
    """Decide on what the reads show, then carry the plan out (or, in a dry run, say it)."""
    runtime, job_id = step.runtime, step.options.job_id
    with runtime.group("Decide"):
        snapshot = reads.complete()
        plan = decide(snapshot, step.request)
        plan, job = _job_for(runtime, job_id, reads, plan)
        line = f"Decision: {decision(plan)}: {plan.reason}."
        # A job whose own read did not show it may not exist: dbt Cloud's answer to its trigger says, so only once
        # the trigger is accepted is the plan called a decision.
        held = line if isinstance(plan, Trigger) and job is None else None
        runtime.log(
            f"Triggering job {job_id}; its own read did not show it, so dbt Cloud's answer says whether it exists."
            if held
            else line
        )
        if isinstance(plan, Skip):
            runtime.notice(f"Nothing to run: {plan.reason}.")
        elif first and not step.settings.dry_run and job is not None and job.triggers and job.triggers.on_pull_requests:
            runtime.warning(DUPLICATE_RUNS.format(job=job_id), title="Duplicate CI runs")
        notes = _stale_base(step, check, plan)
    if step.settings.dry_run:
        cancelled = {run.id for run in getattr(plan, "cancel", ())}
        remaining = [run for run in snapshot.active_runs if run.id not in cancelled]
        return replace(_dry_run(step, plan, slots=slot_arithmetic(remaining, snapshot.account)), notes=notes)
    with runtime.group("Run"):
        try:
            outcome = step.execute(client, plan, job, held_line=held)
            return replace(outcome, notes=(*notes, *outcome.notes))
        except DbtCloudError as refused:
            limited = for_the_plan(refused, snapshot.account.plan, client.service_token, job_id)
            if limited is not None:
                raise limited from refused
            if refused.status_code == 404 and reads.job_deleted():
                raise reads.deleted_job() from refused
            raise


def _base_check(step: Step, client: DbtCloudClient) -> BaseCheck | None:
    """The stale-base check, started before the first reads and asked before whichever attempt triggers; None where
    it is off or there is no base to compare with."""
    if step.settings.stale_base == "off":
        return None
    if step.github is None:
        return None  # a pull request of another git host: GitHub's compare cannot say
    if step.pr.queue_branch is not None:
        step.runtime.log("stale-base: a merge queue entry is made on top of its base, so it is not compared.")
        return None
    if step.pr.base_ref is None:
        step.runtime.log("stale-base: the event names no base branch (a run by hand), so the branch is not compared.")
        return None
    job_id = step.settings.job_id
    return BaseCheck(step.github, step.pr, client, lambda: client.get_job(job_id).project_id, step.runtime.debug)


def _stale_base(step: Step, check: BaseCheck | None, plan: Plan) -> tuple[str, ...]:
    """Before a run is triggered: the note on a branch behind its base (an error with stale-base: fail)."""
    if check is None or not isinstance(plan, Trigger | Clone):
        return ()
    failing = step.settings.stale_base == "fail" and not step.settings.dry_run
    return check.before_trigger(step.runtime, failing=failing)


def _job_for(runtime: Runtime, job_id: int, reads: SnapshotReader, plan: Plan) -> tuple[Plan, Job | None]:
    """The job's own definition, for the plan to carry out: for a clone, the one to copy; when dbt Cloud will not show
    it (a 4xx: a token that may not read it), the job itself is triggered instead, as for a refused clone."""
    if not isinstance(plan, Clone):
        return plan, reads.job_if_readable()
    try:
        return plan, reads.job()
    except DbtCloudError as refused:
        if not refuses_the_clone(refused):
            raise
        runtime.warning(*clone_refused(refused, job_id))
        return without_clone(plan, f"answered {refused.status_code}"), None


def _warn_if_not_the_accounts_host(runtime: Runtime, host: str, reads: SnapshotReader) -> None:
    """One warning at most: a legacy host's end date, or the account's own host being another."""
    account = reads.account()
    if account is None:
        return
    static, vanity = account.static_subdomain, account.vanity_subdomain
    today = datetime.now(UTC).date()
    warning = legacy_host_warning(host, today, static, vanity) or host_warning(host, account.id, static, vanity)
    if warning is not None:
        runtime.warning(warning, title="dbt Cloud host")


def _follow_dbts_own_run(step: Step, client: DbtCloudClient) -> Outcome:
    """native-trigger: find the run dbt Cloud's own pull request trigger started for this commit and follow it as a
    run in flight is followed; nothing is triggered or cancelled."""
    runtime, pr = step.runtime, step.pr
    with runtime.group("Decide"):
        runtime.log(
            f"native-trigger is true: looking for the run dbt Cloud's own pull request trigger starts for {pr.label}."
        )
        # timeout-minutes bounds all
        within = min(NATIVE_WAIT_SECONDS, max(step.options.deadline - time.monotonic(), 0.0))
        run = find_native_run(client, runtime, step.options.job_id, pr, wait_seconds=within)
        plan = Follow(f"dbt Cloud's own pull request trigger started run {run.id} for this commit", as_active(run))
        runtime.log(f"Decision: {decision(plan)}: {plan.reason}.")
    with runtime.group("Run"):
        return step.execute(client, plan, None)


def _dry_run(step: Step, plan: Plan, *, slots: str) -> Outcome:
    """The plan said, not carried out: nothing is written to dbt Cloud."""
    runtime, pr, job_id = step.runtime, step.pr, step.options.job_id
    steps = planned(plan, job_id, step.payload, pr.prefix)
    with runtime.group("Dry run: what a real run would do"):
        runtime.log(f"Run slots as counted: {slots}.")
        for number, line in enumerate(steps, start=1):
            runtime.log(f"{number}. {line}")
    said = [step_said for step_said in steps if not step_said.startswith("send the trigger body")]
    message = "Dry run: nothing was written to dbt Cloud. A real run would " + "; then ".join(said) + "."
    runtime.notice(f"Dry run of {pr.label}: {decision(plan)}; nothing was written to dbt Cloud.")
    body = json.dumps(dict(step.payload), sort_keys=True) if isinstance(plan, Trigger | Clone) else None
    return Outcome(plan, pr, RunStatus.DRY_RUN, job_id=job_id, message=message, trigger_body=body)


def _report(outcome: Outcome, runtime: Runtime, commenter: Commenter | None, *, annotations: bool) -> int:
    if outcome.run is not None and not runtime.github:
        # Outside every folded section, where a person looks first (GitHub shows it as a notice annotation).
        runtime.log(f"dbt Cloud run {outcome.run.id}: {outcome.run.href or outcome.run.id}")
    runtime.set_outputs(outputs(outcome))
    runtime.write_summary(summary(outcome))
    # The verdict first: GitHub keeps ten annotations of a level, and the nodes' take what room is left.
    if outcome.exit_code:
        runtime.error(outcome.message, title=f"dbt Cloud run {outcome.run_status}")
    elif outcome.message and outcome.run_status is not RunStatus.DRY_RUN:
        runtime.warning(outcome.message, title=f"dbt Cloud run {outcome.run_status}")
    if annotations:
        annotate(outcome, runtime)
    # Last: GitHub may be slow, and the outputs and summary must not wait for it.
    runtime.set_outputs({"comment-url": commenter.finished(outcome) if commenter is not None else ""})
    return outcome.exit_code
