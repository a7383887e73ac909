"""How a clone of the CI job is defined from the job; pure functions (its name's marker is in markers.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoscale_ci.rules.markers import base_name, clone_marker

# The fields dbt Cloud accepts when creating a job (HumanReadableJobDefinitionRequest); anything else in a
# fetched job is read-only or derived and must not be sent back.
WRITABLE_FIELDS = (
    "account_id",
    "project_id",
    "environment_id",
    "name",
    "dbt_version",
    "deferring_environment_id",
    "deferring_job_definition_id",
    "description",
    "execute_steps",
    "execution",
    "generate_docs",
    "job_type",
    "lifecycle_webhooks",
    "run_compare_changes",
    "compare_changes_flags",
    "run_generate_sources",
    "run_lint",
    "errors_on_lint_failure",
    "cost_optimization_features",
    "settings",
    "state",
    "triggers_on_draft_pr",
    "triggers",
    "schedule",
    "generate_sources",
)
# Only for a field the job's own definition lacks: the clone copies the rest from it.
REQUIRED_DEFAULTS: Mapping[str, Any] = {
    "execution": {"timeout_seconds": 0},
    "settings": {"threads": 4, "target_name": "default"},
    "generate_docs": False,
    "lifecycle_webhooks": False,
    "run_compare_changes": False,
    "run_generate_sources": False,
    "run_lint": False,
    "errors_on_lint_failure": True,
    "state": 1,
}
# Job creation has been seen to fail with a bare 500 for a long description; a clone's says little anyway.
DESCRIPTION_CHARS = 255
TRIGGERS_OFF = {"github_webhook": False, "schedule": False, "git_provider_webhook": False, "on_merge": False}
# The live API refuses a create body without a schedule ("required key not provided"), as dbt Labs' Terraform provider
# and dbt-jobs-as-code know: a clone gets this one, which never fires with the schedule trigger off.
SCHEDULE_OFF: Mapping[str, Mapping[str, Any]] = {
    "date": {"type": "every_day"},
    "time": {"type": "every_hour", "interval": 1},
}


def clone_definition(job: Mapping[str, Any], job_id: int, pr_number: int, nonce: str = "") -> dict[str, Any]:
    """A create-job body copying `job` (its own `GET /jobs/{id}/`), with every trigger and the schedule off and a marked
    name."""
    body: dict[str, Any] = {key: job[key] for key in WRITABLE_FIELDS if key in job}
    body = {key: value for key, value in body.items() if value is not None and value != ""}
    for key, default in REQUIRED_DEFAULTS.items():
        body.setdefault(key, default)
    body["name"] = base_name(str(job.get("name", "job")))[:200] + clone_marker(job_id, pr_number, nonce)
    if "description" in body:
        body["description"] = str(body["description"])[:DESCRIPTION_CHARS]
    body["triggers"] = dict(TRIGGERS_OFF)
    body["triggers_on_draft_pr"] = False
    body["schedule"] = {key: dict(value) for key, value in SCHEDULE_OFF.items()}
    return body
