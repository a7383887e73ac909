"""What dbt Cloud's scheduler does for CI jobs, by the account's plan (dbt's job scheduler and CI job docs; NOTES.md,
"Behaviour that matters for the decision")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The plans dbt Cloud knows (the spec's `plan` enum, 2026).
PLANS = (
    "cancelled",
    "cancelled_2022",
    "cancelled_2025",
    "developer",
    "developer_2022",
    "enterprise",
    "enterprise_2025",
    "enterprise_plus_2025",
    "free",
    "starter_2025",
    "team",
    "team_2022",
    "team_annual",
    "trial",
    "trial_2022",
    "trial_2025",
    "usage_2026",
    "usage_managed_2026",
)
# Concurrent CI checks and smart cancellation for CI triggered through the API are Enterprise, Enterprise+ and legacy
# Team only: "Starter plans do not have access to these features when triggering a CI job with the API".
CONCURRENT_API_CI = frozenset(
    {"enterprise", "enterprise_2025", "enterprise_plus_2025", "team", "team_2022", "team_annual"}
)
# dbt's native CI (a `ci` job's own pull request trigger) runs pull requests concurrently and cancels stale runs on
# Starter, Enterprise and Enterprise+ (legacy Team keeps what it had: a guess).
CONCURRENT_NATIVE_CI = CONCURRENT_API_CI | {"starter_2025"}
# "CI runs don't consume run slots" (Starter, Enterprise, Enterprise+). Legacy Team is not named: a guess that its
# CI runs still hold a slot.
CI_HOLDS_NO_SLOT = frozenset({"starter_2025", "enterprise", "enterprise_2025", "enterprise_plus_2025"})
# The trigger fields that carry a pull request's id, by git provider (the spec's TriggerRunRequest).
PR_FIELDS = ("github_pull_request_id", "gitlab_merge_request_id", "azure_pull_request_id", "non_native_pull_request_id")


def pr_id(trigger: Mapping[str, Any]) -> int | None:
    """The pull request a run was triggered for, in whichever provider's field."""
    return next((trigger[name] for name in PR_FIELDS if trigger.get(name) is not None), None)


def runs_beside(plan: str, job: Mapping[str, Any], trigger: Mapping[str, Any], *, webhook: bool = False) -> bool:
    """Whether dbt runs this run beside its job's other runs (and cancels its pull request's older ones): a run of a
    `ci` job for a pull request's commit, on a plan with concurrent CI for how it was started (the job's own pull
    request trigger, or the API with a pull request's id)."""
    plans = CONCURRENT_NATIVE_CI if webhook else CONCURRENT_API_CI
    return plan in plans and job.get("job_type") == "ci" and pr_id(trigger) is not None and bool(trigger.get("git_sha"))


def holds_a_slot(plan: str, job_type: str | None) -> bool:
    """Whether a run of a job of this type takes one of the account's run slots on this plan."""
    return not (job_type == "ci" and plan in CI_HOLDS_NO_SLOT)
