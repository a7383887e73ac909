"""The Slim CI trigger body sent to dbt Cloud, from the pull request and the trigger's inputs; pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from autoscale_ci.dbt_cloud.models import PR_FIELDS
from autoscale_ci.rules.markers import PushOrder, pr_schema

CAUSE_LIMIT = 255
# The inputs sent as they are, each under its own name, when given.
OVERRIDES = (
    "git_branch",
    "steps_override",
    "dbt_version_override",
    "threads_override",
    "target_name_override",
    "timeout_seconds_override",
    "generate_docs_override",
)


class PullRequestFields(Protocol):
    """What the body needs of the pull request."""

    @property
    def number(self) -> int: ...
    @property
    def head_sha(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def order(self) -> PushOrder | None: ...
    @property
    def name(self) -> str: ...
    @property
    def short_sha(self) -> str: ...


def default_cause(pr: PullRequestFields) -> str:
    """Why the run was triggered, as shown in dbt Cloud's run list."""
    return f"Autoscaling Slim CI: {pr.name} @ {pr.short_sha}"


def _cause(text: str, pr: PullRequestFields) -> str:
    if pr.order is None:
        return text[:CAUSE_LIMIT]
    marker = pr.order.marker()
    return text[: CAUSE_LIMIT - len(marker)] + marker


def build_payload(
    pr: PullRequestFields, *, job_id: int, cause: str | None, schema_override: str | None, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON body for `POST /jobs/{id}/run/`: PR id as an integer; the overrides (named as in `OVERRIDES`) that
    are None left out, as are an empty cause and schema (the defaults take their place)."""
    body: dict[str, Any] = {
        "cause": _cause(cause or default_cause(pr), pr),
        "git_sha": pr.head_sha,
        PR_FIELDS[pr.provider]: pr.number,
        "schema_override": schema_override or pr_schema(job_id, pr.number),
    }
    body.update({key: overrides[key] for key in OVERRIDES if overrides.get(key) is not None})
    return body
