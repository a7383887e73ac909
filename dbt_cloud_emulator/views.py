"""Runs, jobs and environment variables as the API shows them."""

from __future__ import annotations

import copy
from typing import Any

from .clock import hms, humanize, iso
from .envvars import SCOPES, EnvValue
from .protocol import JsonDict
from .retry import not_supported_reason
from .state import ACTIVE, CANCELLED, ERROR, RUNNING, STATUS_NAMES, SUCCESS, Run
from .steps import run_steps, wrote_artifacts

TRIGGER_KEYS = (
    "id",
    "cause",
    "job_definition_id",
    "git_sha",
    "git_branch",
    "github_pull_request_id",
    "gitlab_merge_request_id",
    "azure_pull_request_id",
    "non_native_pull_request_id",
    "schema_override",
    "dbt_version_override",
    "threads_override",
    "target_name_override",
    "generate_docs_override",
    "timeout_seconds_override",
    "steps_override",
    "cause_category",
    "created_at",
)


def _span(start: float | None, end: float | None, now: float) -> float:
    if start is None:
        return 0.0
    return (now if end is None else end) - start


def run_view(
    run: Run,
    *,
    now: float,
    base_url: str,
    account_id: int,
    job: JsonDict | None,
    include: set[str],
    outcome: str,
    log_lines: int,
    latest: bool,
) -> JsonDict:
    """A run shaped like RunResponse, with `trigger`, `job` and `run_steps` when asked for; `outcome` is how the
    run ends (or will, as the rules stand), `log_lines` the padding of its dbt commands' logs, `latest` whether it is
    its job's latest run."""
    queued_end = run.dequeued_at if run.dequeued_at is not None else run.finished_at
    duration = _span(run.created_at, run.finished_at, now)
    queued = _span(run.created_at, queued_end, now)
    running = _span(run.started_at, run.finished_at, now)
    # A run that failed in `dbt deps` ran no dbt command, so it saved no artifacts; nor did one whose only dbt command
    # could not connect to its database.
    finished_ok = run.status in (SUCCESS, ERROR) and wrote_artifacts(run, outcome)
    retry_reason = not_supported_reason(run, latest=latest)
    view: JsonDict = {
        "id": run.id,
        "trigger_id": run.trigger_id,
        "account_id": account_id,
        "environment_id": run.environment_id,
        "project_id": run.project_id,
        "job_definition_id": run.job_id,
        "job_id": run.job_id,
        "status": run.status,
        "status_humanized": STATUS_NAMES[run.status],
        "status_message": run.status_message,
        "dbt_version": run.dbt_version,
        "git_branch": run.git_branch,
        "git_sha": run.git_sha,
        "owner_thread_id": None,
        "executed_by_thread_id": None,
        "deferring_run_id": None,
        "artifacts_saved": finished_ok,
        "artifact_s3_path": f"emulator/runs/{run.id}/artifacts/target" if finished_ok else None,
        "has_docs_generated": finished_ok and run.generate_docs,
        "has_sources_generated": False,
        "notifications_sent": run.finished_at is not None,
        "blocked_by": [],
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "dequeued_at": iso(run.dequeued_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "last_checked_at": iso(run.updated_at) if run.dequeued_at is not None else None,
        "last_heartbeat_at": iso(run.updated_at) if run.started_at is not None else None,
        "should_start_at": None,
        "in_progress": run.status in ACTIVE,
        "is_complete": run.status not in ACTIVE,
        "is_success": run.status == SUCCESS,
        "is_error": run.status == ERROR,
        "is_cancelled": run.status == CANCELLED,
        "is_running": run.status == RUNNING,
        "duration": hms(duration),
        "duration_humanized": humanize(duration),
        "queued_duration": hms(queued),
        "queued_duration_humanized": humanize(queued),
        "run_duration": hms(running),
        "run_duration_humanized": humanize(running),
        "created_at_humanized": f"{humanize(now - run.created_at)} ago",
        "finished_at_humanized": humanize(_span(run.finished_at, None, now)) + " ago",
        # Left null, even once a retry has queued a run: the spec does not say which run it names, nor when.
        "retrying_run_id": None,
        "can_retry": retry_reason is None,
        "retry_not_supported_reason": retry_reason,
        "href": f"{base_url}/deploy/{account_id}/projects/{run.project_id}/runs/{run.id}/",
        "used_repo_cache": False,
        "run_steps": run_steps(run, account_id, now=now, outcome=outcome, log_lines=log_lines)
        if "run_steps" in include
        else [],
    }
    if "trigger" in include:
        view["trigger"] = {key: copy.deepcopy(run.trigger.get(key)) for key in TRIGGER_KEYS}
    if "job" in include:
        view["job"] = internal_job_view(job) if job is not None else None
    return view


def job_view(job: JsonDict, account: JsonDict) -> JsonDict:
    """A job as the jobs endpoints return it, with the read-only related objects the spec requires."""
    view = copy.deepcopy(job)
    view["account"] = {"name": account["name"], "state": account["state"]}
    view["project"] = {"account_id": job["account_id"], "name": "Analytics", "state": 1, "type": 0}
    view["environment"] = {
        "account_id": job["account_id"],
        "project_id": job["project_id"],
        "name": "CI",
        "state": 1,
        "type": "deployment",
        "supports_docs": True,
        "use_custom_branch": False,
    }
    view.setdefault("fusion_readiness", None)
    return view


# NOTES.md: a job embedded in a run is thinner than `GET /jobs/{id}/`; a live 2024 answer has exactly these keys.
EMBEDDED_JOB_KEYS = (
    "account_id",
    "created_at",
    "dbt_version",
    "deactivated",
    "deferring_environment_id",
    "deferring_job_definition_id",
    "description",
    "environment_id",
    "execute_steps",
    "execution",
    "generate_docs",
    "id",
    "is_deferrable",
    "job_completion_trigger_condition",
    "job_type",
    "lifecycle_webhooks",
    "lifecycle_webhooks_url",
    "name",
    "project_id",
    "raw_dbt_version",
    "run_compare_changes",
    "run_failure_count",
    "run_generate_sources",
    "schedule",
    "settings",
    "state",
    "triggers",
    "triggers_on_draft_pr",
    "updated_at",
)


def internal_job_view(job: JsonDict) -> JsonDict:
    """A job as included in a run: only the keys of a live answer (a key the job lacks is null), and its schedule's
    date and time as plain names, not objects (NOTES.md)."""
    view = {key: copy.deepcopy(job.get(key)) for key in EMBEDDED_JOB_KEYS}
    view["deactivated"] = job.get("state") == 2  # a guess: the key is in the live answer, its meaning is inferred
    schedule = view["schedule"]
    if isinstance(schedule, dict):
        kinds = {key: value.get("type") if isinstance(value, dict) else value for key, value in schedule.items()}
        view["schedule"] = {
            "cron": kinds.get("cron") or "0 * * * *",
            "date": kinds.get("date"),
            "time": kinds.get("time"),
        }
    return view


def job_env_vars_view(variables: dict[str, dict[str, EnvValue]], shape: str) -> Any:
    """The `data` of the job overrides answer (EnvVarJobResponse): NAME -> scope -> {id, value}, secrets masked."""
    # A `shape` other than "mapping" bends it for clients' bad-input tests: "list" gives a list of
    # {name, scopes...}, "null" gives null, "null_scopes" sends every scope a variable lacks as null, and
    # "null_values" sends every value as null.
    if shape == "null":
        return None
    mapping: JsonDict = {}
    for name, scopes in variables.items():
        shown: JsonDict = {
            scope: {"id": value.id, "value": None if shape == "null_values" else value.shown}
            for scope, value in scopes.items()
        }
        mapping[name] = {scope: shown.get(scope) for scope in SCOPES} if shape == "null_scopes" else shown
    if shape == "list":
        return [{"name": name, **scopes} for name, scopes in mapping.items()]
    return mapping


def environment_view(account_id: int, project_id: int, environment_id: int) -> JsonDict:
    """An environment as v3 embeds it (EnvironmentV3); the emulator knows nothing of it but its id."""
    return {
        "id": environment_id,
        "account_id": account_id,
        "project_id": project_id,
        "credentials_id": None,
        "connection_id": None,
        "extended_attributes_id": None,
        "name": "CI",
        "dbt_version": "latest",
        "type": "deployment",
        "use_custom_branch": False,
        "custom_branch": None,
        "supports_docs": True,
        "deployment_type": None,
        "enable_model_query_history": False,
        "enable_dbt_state": False,
        "state": 1,
        "primary_profile_id": None,
    }


def env_var_view(value: EnvValue, account_id: int) -> JsonDict:
    """A created value as the create answer shows it (CustomEnvironmentVariableResponse), its secret masked."""
    return {
        "id": value.id,
        "account_id": account_id,
        "project_id": value.project_id,
        "name": value.name,
        "type": value.type,
        "user_id": None,
        "environment_id": value.environment_id,
        "job_definition_id": value.job_id,
        "display_value": value.shown,
        "state": value.state,
        "created_at": iso(value.created_at),
        "updated_at": iso(value.updated_at),
        # Only an environment value is bound to an environment; the others answer null, as live answers do.
        "environment": None
        if value.environment_id is None
        else environment_view(account_id, value.project_id, value.environment_id),
    }


def project_view(
    project_id: int,
    account_id: int,
    *,
    environments: list[int],
    subdirectory: str | None,
    created_at: float,
    updated_at: float,
) -> JsonDict:
    """A project as `GET /projects/{id}/` answers it (the spec's ProjectResponse)."""
    # Every key the spec requires is here. The emulator knows no connection, repository, docs or freshness job: they
    # and their ids answer null, as live answers carry null for what is unset (NOTES.md), even when `include_related`
    # asks for them.
    return {
        "id": project_id,
        "account_id": account_id,
        # The name the jobs endpoints embed for the project (job_view).
        "name": "Analytics",
        "description": None,  # a guess: a project made without a description
        "connection_id": None,
        "repository_id": None,
        "semantic_layer_config_id": None,
        "state": 1,
        # NOTES.md: where the dbt project sits in the repository; null: at its root.
        "dbt_project_subdirectory": subdirectory,
        "docs_job_id": None,
        "freshness_job_id": None,
        "type": 0,  # the spec's DEFAULT (1 is HYBRID)
        "created_at": iso(created_at),
        "updated_at": iso(updated_at),
        "connection": None,
        # A guess: the project's environments as v3 shapes them (EnvironmentV3), which the spec lists here.
        "environments": [environment_view(account_id, project_id, env_id) for env_id in environments],
        "repository": None,
        "group_permissions": [],
        "docs_job": None,
        "freshness_job": None,
        "fusion_readiness": None,
        # The spec: "Only populated when the project is fetched directly", as here; "latest" as the emulated
        # environments' version (a guess at the value).
        "default_version": "latest",
    }
