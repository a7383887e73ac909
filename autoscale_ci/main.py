"""The pipeline: settings -> pull request -> payload -> decide -> execute -> report; and the one place where
exceptions become error lines (`::error::` under GitHub), a summary and an exit code."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from autoscale_ci import build, cleanup_mode, signals
from autoscale_ci.closed_pr import closed_since
from autoscale_ci.commenter import Commenter, Target
from autoscale_ci.context import PullRequest
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.dbt_cloud.errors import for_the_plan
from autoscale_ci.engine import (
    AccountFacts,
    Clone,
    Follow,
    Plan,
    PrState,
    RunStatus,
    Skip,
    Trigger,
    decide,
    decide_again,
    lock_error,
    precheck,
    slot_arithmetic,
    without_clone,
)
from autoscale_ci.errors import Aborted, ActionError
from autoscale_ci.executor import Executor, Options, clone_refused, refuses_the_clone
from autoscale_ci.github_api import GitHubAccess
from autoscale_ci.hosts import host_warning, legacy_host_warning
from autoscale_ci.markers import pr_schema
from autoscale_ci.models import Job, Run
from autoscale_ci.native import NATIVE_WAIT_SECONDS, find_native_run
from autoscale_ci.outcome import Outcome
from autoscale_ci.payload import build_payload
from autoscale_ci.report import decision, error_summary, outputs, planned, summary
from autoscale_ci.runner import Runner, fork_pr_number, pull_request
from autoscale_ci.runtime import Runtime
from autoscale_ci.settings import GITHUB_TOKEN_INPUT, TOKEN_INPUT, Settings, load_settings
from autoscale_ci.snapshot import SnapshotReader, as_active

NODE_ANNOTATIONS = 10  # GitHub shows only so many annotations a step; the summary lists every node


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
            return cleanup_mode.run(settings, runner, runtime, started)
        pr = pull_request(
            runner,
            provider=settings.git_provider,
            number=settings.pr_number,
            git_sha=settings.git_sha,
            pushed_at=settings.pushed_at,
        )
        commenter = _commenter(settings, runner, runtime, pr)
        outcome = _run(settings, pr, runtime, started, commenter)
        return _report(outcome, runtime, commenter)
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


def _commenter(settings: Settings, runner: Runner, runtime: Runtime, pr: PullRequest) -> Commenter | None:
    """The pull request comment's writer, for a GitHub pull request in a GitHub repository."""
    if settings.pr_comment == "never" or settings.dry_run or runner.repository is None or pr.provider != "github":
        return None
    token = settings.github_token.get_secret_value() if settings.github_token else runner.github_token
    target = Target(GitHubAccess(runner.api_url, runner.repository, token or None), pr, settings.job_id)
    return Commenter(runtime, settings.pr_comment, target)


def _run(settings: Settings, pr: PullRequest, runtime: Runtime, started: float, commenter: Commenter | None) -> Outcome:
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
    options = build.options(settings, started)
    payload = build_payload(settings, pr)
    if settings.schema_override and settings.schema_override != pr_schema(settings.job_id, pr.number):
        runtime.warning(
            f"schema-override is {settings.schema_override}, not {pr_schema(settings.job_id, pr.number)}: cleanup mode "
            "drops only a pull request's own schema, so it will not drop this one when the pull request closes. Drop "
            "it yourself, or leave schema-override empty.",
            title="Schema left behind",
        )
    with build.client(settings, started, runtime) as client:
        skip = precheck(request)
        if skip is not None:
            runtime.notice(f"Nothing to run: {skip.reason}.")
            return Executor(client, runtime, options, started=started).execute(skip, pr, None, payload)
        if settings.native_trigger:
            return _follow_dbts_own_run(client, runtime, options, pr, payload, started, commenter)
        for attempt in (1, 2):
            host = settings.dbt_cloud_host if attempt == 1 else None
            outcome = _attempt(
                client, runtime, options, settings.delete_clone, request, pr, payload, started, commenter, host
            )
            if not decide_again(outcome.plan, outcome.run_status, attempt):
                return outcome
            if closed_since(client, settings.job_id, outcome.run.id if outcome.run else None, pr.number):
                message = f"PR #{pr.number} was closed and its runs cancelled; nothing is left to test."
                return replace(outcome, exit_code=0, message=message)
            runtime.log("The followed run was cancelled and no newer commit superseded it; deciding again.")
        return outcome


def _attempt(  # noqa: PLR0917 - the pipeline's values, passed on as they are
    client: DbtCloudClient,
    runtime: Runtime,
    options: Options,
    reuse_clones: bool,
    request: PrState,
    pr: PullRequest,
    payload: dict[str, Any],
    started: float,
    commenter: Commenter | None,
    host: str | None,
) -> Outcome:
    """Read, decide, carry the plan out: on an idle job the trigger goes out without waiting for the account, whose
    read finishes meanwhile. `host`: check it is the account's, once the plan is carried out or has failed."""
    reads = SnapshotReader(client, options.job_id, list_clones=not reuse_clones, debug=runtime.debug)
    aborted = False
    try:
        return _decide_and_execute(client, runtime, options, reads, request, pr, payload, started, commenter)
    except Aborted:
        aborted = True  # a cancelled step has the runner's few seconds to end in: the host's advice can wait
        raise
    finally:
        if host is not None and not aborted:
            _warn_if_not_the_accounts_host(runtime, host, reads)


def _decide_and_execute(  # noqa: PLR0917 - the pipeline's values, passed on as they are
    client: DbtCloudClient,
    runtime: Runtime,
    options: Options,
    reads: SnapshotReader,
    request: PrState,
    pr: PullRequest,
    payload: dict[str, Any],
    started: float,
    commenter: Commenter | None,
) -> Outcome:
    """Decide on what the reads show, then carry the plan out."""
    with runtime.group("Decide"):
        # A dry run triggers nothing, so it can wait for the account and report the decision a real run makes.
        early = None if options.dry_run else decide(reads.without_account(), request)
        plan = early or decide(reads.complete(), request)
        assert plan is not None  # with the account known, decide always decides
        plan, job = _clone_source(runtime, options.job_id, reads, plan)
        line = f"Decision: {decision(plan)}: {plan.reason}."
        # An idle job is triggered before anything else is read: whether the job exists is known only once dbt
        # Cloud accepts the trigger, so only then is the plan called a decision.
        unconfirmed = early is not None and isinstance(plan, Trigger)
        if unconfirmed:
            runtime.log(f"Job {options.job_id} has no run in flight: triggering it.")
        else:
            runtime.log(line)
        if isinstance(plan, Skip):
            runtime.notice(f"Nothing to run: {plan.reason}.")
    if options.dry_run:
        snapshot = reads.complete()
        cancelled = {run.id for run in getattr(plan, "cancel", ())}
        remaining = [run for run in snapshot.active_runs if run.id not in cancelled]
        assert snapshot.account is not None  # a complete snapshot has the account
        return _dry_run(runtime, options, plan, pr, payload, slots=slot_arithmetic(remaining, snapshot.account))
    with runtime.group("Run"):
        try:

            def on_run(carried_out: Plan, run: Run, cloned_job_id: int | None) -> None:
                if unconfirmed:
                    runtime.log(line)
                # With no wait the verdict follows at once: an in-flight comment would be written for nothing.
                if commenter is not None and options.wait:
                    commenter.in_flight(carried_out, run, cloned_job_id)

            executor = Executor(client, runtime, options, started=started)
            return executor.execute(plan, pr, job, payload, on_run=on_run)
        except DbtCloudError as refused:
            # An idle job is triggered before the account is read: a refusal may be the account's lock.
            account = _account_if_readable(reads)
            locked = lock_error(account) if account is not None and early is not None else None
            if locked is not None:
                raise locked from refused
            on_plan = account.plan if account is not None else None
            limited = for_the_plan(refused, on_plan, client.service_token, options.job_id)
            if limited is not None:
                raise limited from refused
            if refused.status_code == 404 and reads.job_deleted():
                raise reads.deleted_job() from refused
            raise


def _clone_source(runtime: Runtime, job_id: int, reads: SnapshotReader, plan: Plan) -> tuple[Plan, Job | None]:
    """For a clone, the job's own definition to copy; when dbt Cloud will not show it (a 4xx: a token that may not
    read it), the job itself is triggered instead, as for a refused clone."""
    if not isinstance(plan, Clone):
        return plan, None
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


def _follow_dbts_own_run(  # noqa: PLR0917 - the pipeline's values, passed on as they are
    client: DbtCloudClient,
    runtime: Runtime,
    options: Options,
    pr: PullRequest,
    payload: dict[str, Any],
    started: float,
    commenter: Commenter | None,
) -> Outcome:
    """native-trigger: find the run dbt Cloud's own pull request trigger started for this commit and follow it as a
    run in flight is followed; nothing is triggered or cancelled."""
    with runtime.group("Decide"):
        runtime.log(
            f"native-trigger is true: looking for the run dbt Cloud's own pull request trigger starts for {pr.label}."
        )
        within = min(NATIVE_WAIT_SECONDS, max(options.deadline - time.monotonic(), 0.0))  # timeout-minutes bounds all
        run = find_native_run(client, runtime, options.job_id, pr, wait_seconds=within)
        plan = Follow(f"dbt Cloud's own pull request trigger started run {run.id} for this commit", as_active(run))
        runtime.log(f"Decision: {decision(plan)}: {plan.reason}.")
    with runtime.group("Run"):

        def on_run(carried_out: Plan, found: Run, cloned_job_id: int | None) -> None:
            if commenter is not None and options.wait:
                commenter.in_flight(carried_out, found, cloned_job_id)

        return Executor(client, runtime, options, started=started).execute(plan, pr, None, payload, on_run=on_run)


def _dry_run(
    runtime: Runtime, options: Options, plan: Plan, pr: PullRequest, payload: dict[str, Any], *, slots: str
) -> Outcome:
    """The plan said, not carried out: nothing is written to dbt Cloud."""
    steps = planned(plan, options.job_id, payload, pr.prefix)
    with runtime.group("Dry run: what a real run would do"):
        runtime.log(f"Run slots as counted: {slots}.")
        for number, step in enumerate(steps, start=1):
            runtime.log(f"{number}. {step}")
    said = [step for step in steps if not step.startswith("send the trigger body")]
    message = "Dry run: nothing was written to dbt Cloud. A real run would " + "; then ".join(said) + "."
    runtime.notice(f"Dry run of {pr.label}: {decision(plan)}; nothing was written to dbt Cloud.")
    body = json.dumps(dict(payload), sort_keys=True) if isinstance(plan, Trigger | Clone) else None
    return Outcome(plan, pr, RunStatus.DRY_RUN, job_id=options.job_id, message=message, trigger_body=body)


def _account_if_readable(reads: SnapshotReader) -> AccountFacts | None:
    try:
        return reads.complete().account
    except DbtCloudError:
        return None


def _report(outcome: Outcome, runtime: Runtime, commenter: Commenter | None) -> int:
    if outcome.run is not None and not runtime.github:
        # Outside every folded section, where a person looks first (GitHub shows it as a notice annotation).
        runtime.log(f"dbt Cloud run {outcome.run.id}: {outcome.run.href or outcome.run.id}")
    runtime.set_outputs(outputs(outcome))
    runtime.write_summary(summary(outcome))
    for node in (outcome.results.problems if outcome.results else ())[:NODE_ANNOTATIONS]:
        annotate = runtime.warning if node.status == "warn" else runtime.error
        annotate(node.message or node.status, title=f"{node.unique_id}: {node.status}")
    if outcome.exit_code:
        runtime.error(outcome.message, title=f"dbt Cloud run {outcome.run_status}")
    elif outcome.message and outcome.run_status is not RunStatus.DRY_RUN:
        runtime.warning(outcome.message, title=f"dbt Cloud run {outcome.run_status}")
    # Last: GitHub may be slow, and the outputs and summary must not wait for it.
    runtime.set_outputs({"comment-url": commenter.finished(outcome) if commenter is not None else ""})
    return outcome.exit_code
