"""dbt Cloud API objects as the action reads them; unknown fields are kept or ignored, never fatal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

# The trigger field dbt Cloud reads the pull request id from, by git provider.
PR_FIELDS = {
    "github": "github_pull_request_id",
    "gitlab": "gitlab_merge_request_id",
    "azure": "azure_pull_request_id",
    "other": "non_native_pull_request_id",
}

QUEUED, STARTING, RUNNING, SUCCESS, ERROR, CANCELLED = 1, 2, 3, 10, 20, 30
ACTIVE_STATUSES = (QUEUED, STARTING, RUNNING)
# A job's `state`: dbt Cloud deletes softly, and answers a deleted job with this state.
DELETED = 2
STATUS_NAMES = {
    QUEUED: "queued",
    STARTING: "starting",
    RUNNING: "running",
    SUCCESS: "success",
    ERROR: "error",
    CANCELLED: "cancelled",
}


def parse_timestamp(value: object) -> datetime | None:
    """A UTC time from ISO 8601 as GitHub (`...Z`) or dbt Cloud (`2026-01-01 12:00:00.000000+00:00`) writes it."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def status_name(status: int) -> str:
    """Lower-case name of a run status code."""
    return STATUS_NAMES.get(status, f"status {status}")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Project(_Lenient):
    """A project, for where its dbt project sits in the repository (NOTES.md: `dbt_project_subdirectory`, null at
    the repository's root)."""

    id: int
    name: str | None = None
    dbt_project_subdirectory: str | None = None


def project_prefix(subdirectory: str | None) -> str:
    """What a path of the dbt project starts with from the repository's root: `transform/` for a project at
    `dbt_project_subdirectory` "transform", "" at the root (None or empty)."""
    return f"{subdirectory.strip('/')}/" if subdirectory and subdirectory.strip("/") else ""


class Account(_Lenient):
    """The fields of an account that decide whether and where a run can start."""

    id: int
    name: str | None = None
    run_slots: int = 1
    locked: bool = False
    lock_reason: str | None = None
    run_locked_until: str | None = None
    queue_limit: int | None = None
    plan: str | None = None
    static_subdomain: str | None = None
    vanity_subdomain: str | None = None


class JobTriggers(_Lenient):
    """What starts a job on its own besides the API; a flag dbt Cloud sends as null (live job lists do, and dbt Labs'
    own tooling guards all four) is off."""

    github_webhook: bool | None = None
    schedule: bool | None = None
    git_provider_webhook: bool | None = None
    on_merge: bool | None = None

    @property
    def on_pull_requests(self) -> bool:
        """Whether dbt Cloud runs the job for pull requests on its own."""
        return bool(self.github_webhook or self.git_provider_webhook)


class Job(BaseModel):
    """A job definition; every field is kept so that a clone can copy it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: int
    account_id: int
    project_id: int
    environment_id: int
    name: str
    job_type: str | None = None
    triggers: JobTriggers | None = None
    triggers_on_draft_pr: bool | None = None
    # 1 active, 2 deleted: a delete is soft, and a deleted job stays readable.
    state: int | None = None

    @property
    def deleted(self) -> bool:
        """Whether the job was deleted (dbt Cloud keeps it readable, at state 2)."""
        return self.state == DELETED

    def definition(self) -> dict[str, Any]:
        """The job as dbt Cloud returned it."""
        return self.model_dump(mode="json")


class RunTrigger(_Lenient):
    """What a run was started with."""

    cause: str | None = None
    git_sha: str | None = None
    git_branch: str | None = None
    github_pull_request_id: int | None = None
    gitlab_merge_request_id: int | None = None
    azure_pull_request_id: int | None = None
    non_native_pull_request_id: int | None = None
    schema_override: str | None = None


class RunJob(_Lenient):
    """The job a run belongs to, as included with `include_related=job`: thinner than the job's own read (live answers
    lack `run_lint`, `compare_changes_flags`, `cost_optimization_features`...), so never the source of a clone."""

    id: int | None = None
    name: str | None = None
    job_type: str | None = None
    triggers: JobTriggers | None = None


class RunStep(_Lenient):
    """One step of a run, as included with `include_related=run_steps`."""

    index: int
    name: str = ""
    status: int | None = None
    logs: str | None = None


class Run(_Lenient):
    """A run and, when asked for, its trigger, job and steps."""

    id: int
    job_definition_id: int
    project_id: int | None = None
    status: int
    status_humanized: str | None = None
    status_message: str | None = None
    git_sha: str | None = None
    href: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_humanized: str | None = None
    run_duration: str | None = None
    queued_duration: str | None = None
    has_docs_generated: bool | None = None
    # Whether dbt Cloud would rerun it from the point of failure (POST /runs/{id}/retry/), and if not, why not.
    can_retry: bool | None = None
    retry_not_supported_reason: str | None = None
    trigger: RunTrigger | None = None
    job: RunJob | None = None
    run_steps: list[RunStep] | None = None

    @property
    def is_active(self) -> bool:
        """Queued, starting or running."""
        return self.status in ACTIVE_STATUSES

    @property
    def sha(self) -> str | None:
        """The commit the run checks out."""
        sha = (self.trigger.git_sha if self.trigger else None) or self.git_sha
        return sha.lower() if sha else None

    @property
    def pr_number(self) -> int | None:
        """The pull or merge request the run was triggered for, whichever git provider's field holds it."""
        if self.trigger is None:
            return None
        ids: list[int | None] = [getattr(self.trigger, field) for field in PR_FIELDS.values()]
        return next((number for number in ids if number is not None), None)


# Overrides named so are secrets: dbt Cloud shows their values masked, so they cannot be copied.
SECRET_PREFIX = "DBT_ENV_SECRET"  # noqa: S105 - a name prefix, not a secret


@dataclass(frozen=True)
class Override:
    """A job-level environment-variable override: its id, and its value unless it is a secret."""

    id: int | None
    value: str | None
    secret: bool = False
