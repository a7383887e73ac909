"""When a pull request closes: cancel its runs, delete its clones, and drop its schema through dbt Cloud."""

from __future__ import annotations

import re
from dataclasses import dataclass

from autoscale_ci.clone import clone_pr, clone_source, marker_prefix
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.engine import belongs_to
from autoscale_ci.errors import InputError
from autoscale_ci.github import Runtime

PREFIX = "dbt_cloud_pr_"
DEFAULT_COMMAND = "dbt run-operation {macro} --args '{{schema: {schema}, pr: {pr}}}'"
_MACRO = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


@dataclass(frozen=True)
class Closed:
    """What closing a pull request cancelled and deleted."""

    cancelled: tuple[int, ...]
    deleted: tuple[int, ...]


def drop_cause(pr: int) -> str:
    """The cause of the run that drops a closed PR's schema; other steps recognise the closing by it."""
    return f"Autoscaling Slim CI: drop the schema of closed PR #{pr}"


def schema_to_drop(schema: str, job_id: int, pr: int) -> str:
    """The PR's schema, if it is exactly the one this action names for it; an InputError otherwise."""
    if schema != f"{PREFIX}{job_id}_{pr}":
        raise InputError(
            "schema-override",
            f"The schema '{schema[:80]}' is not a pull request schema the action may drop (it must be "
            f"{PREFIX}{job_id}_{pr}): leave schema-override empty, or set drop-schema: false.",
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
    others = set(re.findall(rf"{PREFIX}\w+", command)) - {schema}
    if not command.startswith("dbt run-operation ") or schema not in command or others or "\n" in command:
        raise InputError(
            "drop-schema-command",
            "Input 'drop-schema-command' must be one 'dbt run-operation' command that names the schema only through "
            "{schema} (placeholders: {macro}, {schema}, {pr}, {job}): leave it empty for the default.",
        )
    return command


def close(client: DbtCloudClient, runtime: Runtime, *, job_id: int, pr: int) -> Closed:
    """Cancel every active run of the job and its clones for the pull request, then delete its clones."""
    cancelled: list[int] = []
    for run in sorted(client.active_runs(), key=lambda r: r.id):
        if run.pr_number == pr and belongs_to(job_id, run.job_definition_id, run.job.name if run.job else None):
            client.cancel_run(run.id)
            cancelled.append(run.id)
            runtime.log(f"Cancelled run {run.id} of closed PR #{pr}.")
    deleted: list[int] = []
    for clone in client.list_jobs(marker_prefix(job_id)):
        if clone_source(clone.name) == job_id and clone_pr(clone.name) == pr and client.delete_job(clone.id):
            deleted.append(clone.id)
            runtime.log(f"Deleted clone job {clone.id} of closed PR #{pr}.")
    return Closed(tuple(cancelled), tuple(deleted))
