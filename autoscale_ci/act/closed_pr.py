"""When a pull request closes: cancel its runs, delete its clones, and drop its schema through dbt Cloud."""

from __future__ import annotations

import re
from dataclasses import dataclass

from autoscale_ci.act.snapshot import read_runs
from autoscale_ci.act.stale_clones import delete_clone
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.dbt_cloud.models import ACTIVE_STATUSES, Run
from autoscale_ci.errors import ActionError, InputError
from autoscale_ci.github.api import GitHubAccess, GitHubApiError, pull_request_state
from autoscale_ci.rules.decide import belongs_to
from autoscale_ci.rules.markers import SCHEMA_PREFIX, clone_marker_prefix, clone_pr, clone_source, drop_cause, pr_schema

DEFAULT_COMMAND = "dbt run-operation {macro} --args '{{schema: {schema}, pr: {pr}}}'"
_MACRO = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@dataclass(frozen=True)
class Closed:
    """What closing a pull request cancelled and deleted."""

    cancelled: tuple[int, ...]
    deleted: tuple[int, ...]


def schema_to_drop(schema: str, job_id: int, pr: int) -> str:
    """The PR's schema, if it is exactly the one this action names for it; an InputError otherwise."""
    if schema != pr_schema(job_id, pr):
        raise InputError(
            "schema-override",
            f"The schema '{schema[:80]}' is not a pull request schema the action may drop (it must be "
            f"{pr_schema(job_id, pr)}): leave schema-override empty, or set drop-schema: false.",
        )
    return schema


def drop_command(template: str, macro: str, schema: str, pr: int, job_id: int) -> str:
    """The run-operation that drops exactly `schema`; refuses a macro name or command that could do more."""
    if not _MACRO.match(macro):
        raise InputError(
            "drop-schema-macro",
            f"Input 'drop-schema-macro' must be a macro name (letters, digits, _), got '{macro[:60]}': "
            "give the name of the macro copied from dbt/macros/drop_pr_schema.sql, default drop_pr_schema.",
        )
    try:
        command = (template or DEFAULT_COMMAND).format(macro=macro, schema=schema, pr=pr, job=job_id)
    except (KeyError, IndexError, ValueError):
        command = ""
    others = set(re.findall(rf"{SCHEMA_PREFIX}\w+", command)) - {schema}
    if not command.startswith("dbt run-operation ") or schema not in command or others or "\n" in command:
        raise InputError(
            "drop-schema-command",
            "Input 'drop-schema-command' must be one 'dbt run-operation' command that names the schema only through "
            "{schema} (placeholders: {macro}, {schema}, {pr}, {job}): leave it empty for the default.",
        )
    return command


def confirm_closed(runtime: Runtime, pr: int, github: GitHubAccess, *, confirmed: bool) -> None:
    """Before cleanup touches a pull request named by hand: GitHub must say it is closed, or, where GitHub cannot be
    asked, the user must have said so (confirm-closed). An open pull request is always an ActionError."""
    if github.repository and github.token:
        try:
            state = pull_request_state(github.api_url, github.token, github.repository, pr)
        except GitHubApiError as exc:
            # GitHub answers 404 for a number it does not have, and for a private repository the token may not
            # read: only a user who checked (confirm-closed) can tell the two apart.
            if exc.status_code == 404 and not confirmed:
                raise ActionError(
                    f"{exc.message} (or the token may not read it), so cleanup mode changed nothing: check pr-number, "
                    "or set confirm-closed: true if you checked that the pull request is closed.",
                    title="No such pull request",
                ) from None
            unchecked = f"could not check that PR #{pr} is closed: {exc.message}"
        else:
            if state == "open":
                raise ActionError(
                    f"PR #{pr} of {github.repository} is open, so cleanup mode changed nothing: it would cancel the "
                    "PR's runs, delete its clones and drop its schema. Check pr-number; cleanup runs only for closed "
                    "pull requests.",
                    title="Pull request is open",
                )
            runtime.log(f"GitHub says PR #{pr} of {github.repository} is closed.")
            return
    else:
        unchecked = f"PR #{pr} was named by hand and this step cannot ask GitHub whether it is closed"
    if confirmed:
        runtime.warning(f"{unchecked[0].upper()}{unchecked[1:]}; going on, since confirm-closed is true.")
        return
    raise ActionError(
        f"Cleanup mode changed nothing: {unchecked}. Check that it is closed, then set confirm-closed: true "
        "(--confirm-closed true on the command line); on GitHub Actions, give the step a github-token that may read "
        "pull requests (permissions: pull-requests: read).",
        title="Pull request state unknown",
    )


def closed_since(client: DbtCloudClient, job_id: int, run_id: int | None, pr: int) -> bool:
    """Whether cleanup mode has closed the PR since run `run_id` started: it triggers the job itself to drop the PR's
    schema, so one page of the job's newest runs tells, however busy the account is."""
    cause = drop_cause(pr)
    rows = client.recent_run_rows(job_id=job_id, id_gt=run_id)
    return any(run.trigger is not None and run.trigger.cause == cause for run in read_runs(rows, job_id, _quiet))


def _quiet(_line: str) -> None:
    """Where lines about other jobs' odd runs go when nobody needs them."""


def pr_runs(client: DbtCloudClient, runtime: Runtime, *, job_id: int, pr: int) -> list[Run]:
    """The pull request's active runs, of the job and of its clones, oldest first."""
    active = read_runs(client.active_run_rows(), job_id, runtime.debug)
    return [
        run
        for run in sorted(active, key=lambda r: r.id)
        if run.pr_number == pr and belongs_to(job_id, run.job_definition_id, run.job.name if run.job else None)
    ]


def close(client: DbtCloudClient, runtime: Runtime, *, job_id: int, pr: int, cancelled: tuple[int, ...] = ()) -> Closed:
    """Cancel every active run of the job and its clones for the pull request (`cancelled` were already), then
    delete its clones."""
    done = list(cancelled)
    for run in pr_runs(client, runtime, job_id=job_id, pr=pr):
        if run.id not in done:
            client.cancel_run(run.id)
            done.append(run.id)
            runtime.log(f"Cancelled run {run.id} of closed PR #{pr}.")
    deleted: list[int] = []
    for clone in client.list_jobs(clone_marker_prefix(job_id)):
        of_the_pr = clone_source(clone.name) == job_id and clone_pr(clone.name) == pr
        if not of_the_pr or _taken_over(client, runtime, clone.id, job_id, pr):
            continue
        if delete_clone(client, runtime, clone.id, f" of closed PR #{pr}"):
            deleted.append(clone.id)
    return Closed(tuple(done), tuple(deleted))


def _taken_over(client: DbtCloudClient, runtime: Runtime, clone_id: int, job_id: int, pr: int) -> bool:
    """Whether another pull request's step took the idle clone over since it was listed (with delete-clone false a
    clone is renamed for the PR it is reused for, then triggered): deleting it would cancel that PR's run."""
    clone = client.find_job(clone_id)
    if clone is not None and clone_pr(clone.name) not in (None, pr):
        runtime.log(f"Kept clone job {clone_id}: PR #{clone_pr(clone.name)} uses it now.")
        return True
    rows = client.recent_run_rows(job_id=clone_id, statuses=ACTIVE_STATUSES)
    running = [run for run in read_runs(rows, job_id, runtime.debug) if run.is_active and run.pr_number != pr]
    if running:
        runtime.log(f"Kept clone job {clone_id}: run {running[0].id} of another pull request is on it.")
    return bool(running)
