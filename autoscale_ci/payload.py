"""The Slim CI trigger body sent to dbt Cloud."""

from __future__ import annotations

from typing import Any

from autoscale_ci.context import PullRequest
from autoscale_ci.markers import PR_FIELDS, pr_schema
from autoscale_ci.settings import Settings

CAUSE_LIMIT = 255


def default_cause(pr: PullRequest) -> str:
    """Why the run was triggered, as shown in dbt Cloud's run list."""
    return f"Autoscaling Slim CI: {pr.name} @ {pr.short_sha}"


def _cause(text: str, pr: PullRequest) -> str:
    if pr.order is None:
        return text[:CAUSE_LIMIT]
    marker = pr.order.marker()
    return text[: CAUSE_LIMIT - len(marker)] + marker


def build_payload(settings: Settings, pr: PullRequest) -> dict[str, Any]:
    """The JSON body for `POST /jobs/{id}/run/`: PR id as an integer, empty overrides left out."""
    body: dict[str, Any] = {
        "cause": _cause(settings.cause or default_cause(pr), pr),
        "git_sha": pr.head_sha,
        PR_FIELDS[pr.provider]: pr.number,
        "schema_override": settings.schema_override or pr_schema(settings.job_id, pr.number),
    }
    overrides: dict[str, Any] = {
        "git_branch": settings.git_branch,
        "steps_override": settings.steps_override,
        "dbt_version_override": settings.dbt_version_override,
        "threads_override": settings.threads_override,
        "target_name_override": settings.target_name_override,
        "timeout_seconds_override": settings.timeout_seconds_override,
        "generate_docs_override": settings.generate_docs_override,
    }
    body.update({key: value for key, value in overrides.items() if value is not None})
    return body
