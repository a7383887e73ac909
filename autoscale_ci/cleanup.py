"""Cleanup mode (`mode: cleanup`, `autoscale-dbt-ci cleanup`): for a closed pull request, cancel its runs, delete its
clones and drop its schema; and always, delete this job's idle clones."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from autoscale_ci import wiring
from autoscale_ci.act.closed_pr import Closed, close, confirm_closed, drop_command, pr_runs, schema_to_drop
from autoscale_ci.act.executor import Executor, Options
from autoscale_ci.act.snapshot import as_active
from autoscale_ci.act.stale_clones import report_line, sweep
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.errors import InputError
from autoscale_ci.github.api import GitHubAccess
from autoscale_ci.inputs.github_event import PR_EVENTS, PullRequest, pr_number, pull_request_from_event, read_event
from autoscale_ci.inputs.runner import Runner
from autoscale_ci.inputs.settings import Settings
from autoscale_ci.report.outcome import Outcome
from autoscale_ci.report.summary import cleanup_outputs, cleanup_summary
from autoscale_ci.rules.decide import Trigger
from autoscale_ci.rules.markers import drop_cause, pr_schema

# Rendered when the run that drops a closed PR's schema did not succeed.
DROP_FAILED = (
    "The run that drops the schema of closed PR #{pr} did not succeed: {why} If dbt says the macro is not found, copy "
    "dbt/macros/drop_pr_schema.sql from autoscale-dbt-ci into your dbt project's macros/ folder (or set "
    "drop-schema-macro). {clones}"
)


def closed_pull_request(settings: Settings, runner: Runner, runtime: Runtime) -> PullRequest | None:
    """The pull request to clean up after: a closed PR's event, or a PR named by hand that GitHub (or, where it
    cannot be asked, the user) says is closed; None for a sweep of idle clones only."""
    if runner.event_name in PR_EVENTS:
        pr = pull_request_from_event(runner.event_name, read_event(runner.event_path))
        return pr if pr.closed else None
    dispatched = runner.event_name == "workflow_dispatch" and runner.event_path
    inputs = read_event(runner.event_path).get("inputs") if dispatched else None
    given = settings.pr_number if settings.pr_number is not None else (inputs or {}).get("pr-number")
    if given in (None, ""):
        return None
    number = pr_number(given, "pr-number")
    # A number typed by hand may be a colleague's open PR: nothing is touched until it is known to be closed.
    token = settings.github_token.get_secret_value() if settings.github_token else runner.github_token
    github = GitHubAccess(runner.api_url, runner.repository, token or None)
    confirm_closed(runtime, number, github, confirmed=settings.confirm_closed)
    return PullRequest(number=number, head_sha="", closed=True)


def drop_payload(settings: Settings, pr: int) -> dict[str, Any]:
    """The trigger body of the run that drops the PR's schema; checked before any request, so a schema or command
    the action may not run changes nothing."""
    schema = schema_to_drop(settings.schema_override or pr_schema(settings.job_id, pr), settings.job_id, pr)
    command = drop_command(settings.drop_schema_command or "", settings.drop_schema_macro, schema, pr, settings.job_id)
    return {"cause": drop_cause(pr), "schema_override": schema, "steps_override": [command]}


def _drop(
    client: DbtCloudClient, runtime: Runtime, options: Options, closed: PullRequest, payload: dict[str, Any]
) -> Outcome:
    """Trigger the run that drops the closed PR's schema, then cancel the PR's runs: a step following one of them
    sees the drop when it sees the cancel, and starts no run for a closed PR. The drop is waited for whatever `wait`
    says, and its artifacts are nobody's business."""
    stale = pr_runs(client, runtime, job_id=options.job_id, pr=closed.number)
    plan = Trigger(
        f"PR #{closed.number} is closed: dropping its schema {payload['schema_override']}",
        cancel=tuple(as_active(run) for run in stale),
    )
    with runtime.group("Drop the schema"):
        return Executor(client, runtime, replace(options, artifacts=(), annotations=False)).execute(
            plan, closed, None, payload
        )


def run(settings: Settings, runner: Runner, runtime: Runtime, started: float) -> int:
    """Clean up; the exit code (1 when the schema drop failed)."""
    if settings.dry_run:
        raise InputError(
            "dry-run",
            "dry-run is for mode: run (it shows what a run would trigger and cancel); cleanup mode has no dry run, so "
            "nothing was done: remove dry-run, or set mode: run.",
        )
    closed = closed_pull_request(settings, runner, runtime)
    payload = drop_payload(settings, closed.number) if closed is not None and settings.drop_schema else None
    drop: Outcome | None = None
    with wiring.client(settings, started, runtime) as client:
        closing = Closed((), ())
        if closed is not None:
            options = replace(wiring.options(settings, started), wait=True)
            try:
                drop = _drop(client, runtime, options, closed, payload) if payload is not None else None
            except DbtCloudError:
                # The drop could not start: the PR's runs and clones go all the same.
                close(client, runtime, job_id=settings.job_id, pr=closed.number)
                raise
            done = drop.cancelled_run_ids if drop is not None else ()
            closing = close(client, runtime, job_id=settings.job_id, pr=closed.number, cancelled=done)
        max_age = timedelta(minutes=settings.clone_max_age_minutes)
        found = sweep(client, runtime, job_id=settings.job_id, max_age=max_age)
        runtime.log(report_line(settings.job_id, len(closing.deleted) + len(found.deleted), found, max_age))
    runtime.set_outputs(cleanup_outputs(found, closing, drop))
    runtime.write_summary(cleanup_summary(settings.job_id, found, closing, drop))
    if closed is None or drop is None or not drop.exit_code:
        return 0
    deleted = ", ".join(map(str, (*closing.deleted, *found.deleted)))
    clones = f"Its clones were deleted ({deleted})." if deleted else "It had no clones left."
    runtime.error(DROP_FAILED.format(pr=closed.number, why=drop.message, clones=clones), title="Schema not dropped")
    return 1
