"""The one place where inputs meet dbt Cloud and exceptions become `::error::` lines and exit codes."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from autoscale_ci import signals
from autoscale_ci.cleanup import report_line, run_cleanup
from autoscale_ci.closing import (
    Closed,
    GitHubAccess,
    close,
    closed_since,
    confirm_closed,
    drop_command,
    schema_to_drop,
)
from autoscale_ci.context import PR_EVENTS, PullRequest, pr_number, pull_request_from_event, read_event
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.engine import (
    AccountFacts,
    Clone,
    Request,
    Skip,
    Trigger,
    decide,
    decide_again,
    lock_error,
    precheck,
)
from autoscale_ci.errors import Aborted, ActionError
from autoscale_ci.executor import Executor, Options
from autoscale_ci.github import Runtime
from autoscale_ci.github_api import api_url
from autoscale_ci.markers import drop_cause, pr_schema
from autoscale_ci.outcome import Outcome
from autoscale_ci.payload import build_payload
from autoscale_ci.providers import detect, pull_request_from_ci
from autoscale_ci.report import cleanup_summary, decision, error_summary, outputs, summary
from autoscale_ci.settings import TOKEN_INPUT, InvalidInputs, Settings, load_settings
from autoscale_ci.snapshot import SnapshotReader

NODE_ANNOTATIONS = 10  # GitHub shows only so many annotations a step; the summary lists every node


def _github_access(settings: Settings) -> GitHubAccess:
    token = settings.github_token.get_secret_value() if settings.github_token else os.environ.get("GITHUB_TOKEN")
    return GitHubAccess(api_url(os.environ), os.environ.get("GITHUB_REPOSITORY") or None, token or None)


def _closed_pull_request(settings: Settings, runtime: Runtime) -> PullRequest | None:
    """The pull request cleanup mode closes: a closed PR's event, or a PR named by hand that GitHub (or, where it
    cannot be asked, the user) says is closed."""
    event_name = os.environ.get("GITHUB_EVENT_NAME", "")
    event_path = os.environ.get("GITHUB_EVENT_PATH", "")
    if event_name in PR_EVENTS:
        pr = pull_request_from_event(event_name, read_event(event_path))
        return pr if pr.closed else None
    inputs = read_event(event_path).get("inputs") if event_name == "workflow_dispatch" and event_path else None
    given = settings.pr_number if settings.pr_number is not None else (inputs or {}).get("pr-number")
    if given in (None, ""):
        return None
    number = pr_number(given, "pr-number")
    # A number typed by hand may be a colleague's open PR: nothing is touched until it is known to be closed.
    confirm_closed(runtime, number, _github_access(settings), confirmed=settings.confirm_closed)
    return PullRequest(number=number, head_sha="", closed=True)


def _cleanup(settings: Settings, runtime: Runtime, started: float) -> int:
    closed = _closed_pull_request(settings, runtime)
    payload: dict[str, object] | None = None
    if closed is not None and settings.drop_schema:
        # Checked before any request: a schema or command the action may not run changes nothing.
        schema = schema_to_drop(
            settings.schema_override or pr_schema(settings.job_id, closed.number), settings.job_id, closed.number
        )
        command = drop_command(
            settings.drop_schema_command or "", settings.drop_schema_macro, schema, closed.number, settings.job_id
        )
        payload = {
            "cause": drop_cause(closed.number),
            "schema_override": schema,
            "steps_override": [command],
        }
    with _client(settings, started) as client:
        closing = close(client, runtime, job_id=settings.job_id, pr=closed.number) if closed else Closed((), ())
        max_age = timedelta(minutes=settings.clone_max_age_minutes)
        found = run_cleanup(client, runtime, job_id=settings.job_id, max_age=max_age)
        runtime.log(report_line(settings.job_id, len(closing.deleted) + len(found.deleted), found, max_age))
        outcome = None
        if closed is not None and payload is not None:
            # The drop is waited for whatever `wait` says, and its artifacts are nobody's business.
            options = replace(_options(settings, started), wait=True, artifacts=())
            plan = Trigger(f"PR #{closed.number} is closed: dropping its schema {payload['schema_override']}")
            with runtime.group("Drop the schema"):
                outcome = Executor(client, runtime, options).execute(plan, closed, None, payload)
    deleted = (*closing.deleted, *found.deleted)
    values = {"decision": "cleanup", "deleted-clone-ids": ",".join(map(str, deleted))}
    values["cancelled-run-ids"] = ",".join(map(str, closing.cancelled))
    if outcome is not None and outcome.run is not None:
        values.update(
            {"run-id": str(outcome.run.id), "run-url": outcome.run.href or "", "run-status": outcome.run_status}
        )
    runtime.set_outputs(values)
    runtime.write_summary(cleanup_summary(settings.job_id, found, closing, outcome))
    if outcome is not None and outcome.exit_code:
        clones = f"Its clones were deleted ({values['deleted-clone-ids']})." if deleted else "It had no clones left."
        runtime.error(
            f"The run that drops the schema of closed PR #{closed.number if closed else '?'} did not succeed: "
            f"{outcome.message} If dbt says the macro is not found, copy dbt/macros/drop_pr_schema.sql from "
            f"autoscale-dbt-ci into your dbt project's macros/ folder (or set drop-schema-macro). {clones}",
            title="Schema not dropped",
        )
        return 1
    return 0


def _pull_request(settings: Settings) -> PullRequest:
    provider = detect(os.environ) if settings.git_provider == "auto" else settings.git_provider
    if provider != "github":
        return pull_request_from_ci(provider, os.environ, number=settings.pr_number, git_sha=settings.git_sha)
    event_name = os.environ.get("GITHUB_EVENT_NAME", "")
    event_path = os.environ.get("GITHUB_EVENT_PATH", "")
    given = settings.pr_number is not None and settings.git_sha is not None
    if given and not event_path and event_name in ("", "workflow_dispatch"):
        # Run by hand outside a workflow: the inputs say everything the event would.
        event_name, event = "workflow_dispatch", {}
    else:
        event = read_event(event_path)
    return pull_request_from_event(event_name, event, pr_number=settings.pr_number, git_sha=settings.git_sha)


def _options(settings: Settings, started: float) -> Options:
    return Options(
        job_id=settings.job_id,
        wait=settings.wait,
        delete_clone=settings.delete_clone,
        cancel_on_abort=settings.cancel_on_abort,
        cancel_on_timeout=settings.cancel_on_timeout,
        poll_interval=settings.poll_interval,
        deadline=started + settings.timeout_minutes * 60,
        artifacts=tuple(settings.artifacts),
        artifacts_path=Path(settings.artifacts_path),
    )


def _client(settings: Settings, started: float) -> DbtCloudClient:
    return DbtCloudClient(
        settings.dbt_cloud_host,
        settings.token,
        settings.account_id,
        deadline=started + settings.timeout_minutes * 60,
        interrupted=signals.pending,
    )


def _run(settings: Settings, runtime: Runtime, started: float) -> Outcome:
    pr = _pull_request(settings)
    request = Request(
        pr_number=pr.number,
        sha=pr.head_sha,
        draft=pr.draft,
        closed=pr.closed,
        run_on_draft=settings.run_on_draft,
        clone=settings.clone,
        delete_clone=settings.delete_clone,
        max_run_slots=settings.max_run_slots,
        pushed_at=pr.updated_at,
    )
    options = _options(settings, started)
    payload = build_payload(settings, pr)
    with _client(settings, started) as client:
        skip = precheck(request)
        if skip is not None:
            runtime.notice(f"Nothing to run: {skip.reason}.")
            return Executor(client, runtime, options).execute(skip, pr, None, payload)
        for attempt in (1, 2):
            outcome = _attempt(
                client, runtime, options=options, settings=settings, request=request, pr=pr, payload=payload
            )
            if not decide_again(outcome.plan, outcome.run_status, attempt):
                return outcome
            if closed_since(client, outcome.run.id if outcome.run else 0, pr.number):
                return replace(
                    outcome,
                    exit_code=0,
                    message=f"PR #{pr.number} was closed and its runs cancelled; nothing is left to test.",
                )
            runtime.log("The followed run was cancelled and no newer commit superseded it; deciding again.")
        return outcome


def _attempt(
    client: DbtCloudClient,
    runtime: Runtime,
    *,
    options: Options,
    settings: Settings,
    request: Request,
    pr: PullRequest,
    payload: dict[str, object],
) -> Outcome:
    """Read, decide, carry the plan out. The reader stays open while the plan runs: on an idle job the trigger goes
    out without waiting for the account, whose read finishes meanwhile."""
    with SnapshotReader(client, settings.job_id, list_clones=not settings.delete_clone) as reads:
        with runtime.group("Decide"):
            early = decide(reads.without_account(), request)
            plan = early or decide(reads.complete(), request)
            assert plan is not None  # with the account known, decide always decides
            job = reads.job() if isinstance(plan, Clone) else None
            runtime.log(f"Decision: {decision(plan)}: {plan.reason}.")
            if isinstance(plan, Skip):
                runtime.notice(f"Nothing to run: {plan.reason}.")
        with runtime.group("Run"):
            try:
                return Executor(client, runtime, options).execute(plan, pr, job, payload)
            except DbtCloudError as refused:
                # An idle job is triggered before the account is read: a refusal may be the account's lock.
                account = _account_if_readable(reads) if early is not None else None
                locked = lock_error(account) if account is not None else None
                if locked is not None:
                    raise locked from refused
                raise


def _account_if_readable(reads: SnapshotReader) -> AccountFacts | None:
    try:
        return reads.complete().account
    except DbtCloudError:
        return None


FORK_PR_NO_SECRETS = (
    "Input 'dbt-cloud-token' is empty because PR #{number} comes from a fork, and GitHub gives no secrets to "
    "pull_request workflows from forks: run this job only for same-repository PRs (add `if: "
    "github.event.pull_request.head.repo.full_name == github.repository`), or trigger it on "
    "pull_request_target, which has secrets but runs with the base repository's permissions (check out "
    "nothing from the fork)."
)


def _explain_missing_token(exc: InvalidInputs) -> None:
    """A missing token on a fork PR is GitHub withholding secrets, not a typo: say so."""
    if os.environ.get("GITHUB_EVENT_NAME") not in ("pull_request", "pull_request_target"):
        return
    for error in exc.errors:
        if error.name == "dbt-cloud-token" and "is required" in error.message:
            try:
                pr = pull_request_from_event(
                    os.environ.get("GITHUB_EVENT_NAME", ""), read_event(os.environ.get("GITHUB_EVENT_PATH", ""))
                )
            except ActionError:
                return
            if pr.is_fork:
                error.message = FORK_PR_NO_SECRETS.format(number=pr.number)


def main() -> int:
    """Run the action once; returns the process exit code."""
    runtime = Runtime()
    started = time.monotonic()
    runtime.mask(os.environ.get(TOKEN_INPUT, "").strip())
    signals.install()
    try:
        settings = load_settings()
        if settings.github_token is not None:
            runtime.mask(settings.github_token.get_secret_value())
        if settings.mode == "cleanup":
            return _cleanup(settings, runtime, started)
        return _report(_run(settings, runtime, started), runtime)
    except InvalidInputs as exc:
        _explain_missing_token(exc)
        for error in exc.errors:
            runtime.error(error.message, title=error.title)
        runtime.write_summary(error_summary(" ".join(error.message for error in exc.errors)))
        return 1
    except ActionError as exc:
        runtime.error(exc.message, title=exc.title)
        runtime.write_summary(error_summary(exc.message))
        return exc.exit_code
    except Aborted as exc:
        message = f"The workflow was cancelled (signal {exc.signum}); the step cleaned up what it had started."
        runtime.warning(message)
        runtime.write_summary(error_summary(message, title="cancelled"))
        return exc.exit_code
    except Exception as exc:
        # Redacted before it is cut, so that no part of the token survives the cut.
        detail = runtime.redact(str(exc))[:300]
        message = f"Unexpected failure ({type(exc).__name__}: {detail}): re-run the workflow, and report it."
        runtime.error(message, title="autoscale-dbt-ci failed")
        runtime.write_summary(error_summary(message))
        return 1


def _report(outcome: Outcome, runtime: Runtime) -> int:
    runtime.set_outputs(outputs(outcome))
    runtime.write_summary(summary(outcome))
    for node in (outcome.results.problems if outcome.results else ())[:NODE_ANNOTATIONS]:
        annotate = runtime.warning if node.status == "warn" else runtime.error
        annotate(node.message or node.status, title=f"{node.unique_id}: {node.status}")
    if outcome.exit_code:
        runtime.error(outcome.message, title=f"dbt Cloud run {outcome.run_status}")
    elif outcome.message:
        runtime.warning(outcome.message, title=f"dbt Cloud run {outcome.run_status}")
    return outcome.exit_code
