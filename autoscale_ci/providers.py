"""The pull request from other CI providers' predefined variables, for the command line outside GitHub."""

from __future__ import annotations

from collections.abc import Mapping

from autoscale_ci.context import PullRequest, full_sha, pr_number
from autoscale_ci.errors import EventError
from autoscale_ci.markers import PushOrder


def detect(env: Mapping[str, str]) -> str:
    """Which CI runs us, from the variables each provider always sets."""
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    if env.get("TF_BUILD", "").lower() == "true":
        return "azure"
    if env.get("BITBUCKET_BUILD_NUMBER"):
        return "other"
    return "github"


def _need(value: str | None, what: str, fix: str) -> str:
    if not value:
        raise EventError(f"{what} is not set, so the pull request is unknown: {fix}.")
    return value


def pull_request_from_ci(
    provider: str, env: Mapping[str, str], *, number: int | None = None, git_sha: str | None = None
) -> PullRequest:
    """The pull request a GitLab, Azure Pipelines, Bitbucket or other CI job runs for."""
    if provider == "gitlab":
        fix = "run the job in a merge request pipeline (rules: - if: $CI_PIPELINE_SOURCE == 'merge_request_event')"
        raw_number = env.get("CI_MERGE_REQUEST_IID")
        sha = env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or env.get("CI_COMMIT_SHA")
        draft = env.get("CI_MERGE_REQUEST_DRAFT") == "true"
        what_number, what_sha = "CI_MERGE_REQUEST_IID", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"
        # The pipeline's own order, never the commit's date (a force-push back to an older commit is the newest
        # push): a merge request pipeline is made for the head of its moment, and a retried job keeps its id.
        pipeline = env.get("CI_PIPELINE_ID", "").strip()
        order = PushOrder.pipeline(int(pipeline)) if pipeline.isdigit() else None
    elif provider == "azure":
        fix = "run the pipeline as pull request validation (a branch policy build, or a pr: trigger)"
        raw_number = env.get("SYSTEM_PULLREQUEST_PULLREQUESTID") or env.get("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER")
        sha = env.get("SYSTEM_PULLREQUEST_SOURCECOMMITID")
        draft = env.get("SYSTEM_PULLREQUEST_ISDRAFT", "").lower() == "true"
        order = None
        what_number, what_sha = "SYSTEM_PULLREQUEST_PULLREQUESTID", "SYSTEM_PULLREQUEST_SOURCECOMMITID"
    else:
        fix = "run it in a pull request pipeline, or pass --pr-number and --git-sha"
        raw_number = env.get("BITBUCKET_PR_ID")
        sha = env.get("BITBUCKET_COMMIT")
        draft = False
        order = None
        what_number, what_sha = "BITBUCKET_PR_ID (or --pr-number)", "BITBUCKET_COMMIT (or --git-sha)"
    chosen_number = str(number) if number is not None else _need(raw_number, what_number, fix)
    chosen_sha = git_sha or _need(sha, what_sha, fix)
    return PullRequest(
        number=pr_number(chosen_number, what_number),
        head_sha=full_sha(chosen_sha, what_sha),
        draft=draft,
        provider=provider,
        order=order if number is None and git_sha is None else None,
    )
