"""The pull request from other CIs' predefined variables, for the command line outside GitHub Actions.

Which CI runs the step (its variables, its log dialect) and which git host the pull request lives on (the trigger
field dbt Cloud reads its id from) are two questions: Azure Pipelines and GitLab CI can build a GitHub repository.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from autoscale_ci.errors import EventError
from autoscale_ci.inputs.github_event import PullRequest, full_sha, pr_number
from autoscale_ci.rules.markers import PushOrder

# Azure's BUILD_REPOSITORY_PROVIDER, by the git host it names (Azure Repos is TfsGit); a value not listed is taken as
# Azure Repos, the one Azure Pipelines builds with no such variable.
AZURE_REPOSITORY_HOSTS = {"github": "github", "githubenterprise": "github", "tfsgit": "azure", "bitbucket": "other"}


@dataclass(frozen=True)
class _Found:
    """What a CI's variables say of the pull request, and which variables said it (for the error that lacks one)."""

    host: str
    number: str | None
    sha: str | None
    what_number: str
    what_sha: str
    fix: str
    draft: bool = False
    order: PushOrder | None = None


def _gitlab(env: Mapping[str, str]) -> _Found:
    # The pipeline's own order, never the commit's date (a force-push back to an older commit is the newest push):
    # a pipeline is made for the head of its moment, and a retried job keeps its pipeline's id.
    pipeline = env.get("CI_PIPELINE_ID", "").strip()
    order = PushOrder.pipeline(int(pipeline)) if pipeline.isdigit() else None
    if env.get("CI_PIPELINE_SOURCE") == "external_pull_request_event":
        # A GitHub repository built by GitLab CI (CI/CD for external repositories): the pull request is GitHub's.
        return _Found(
            host="github",
            number=env.get("CI_EXTERNAL_PULL_REQUEST_IID"),
            sha=env.get("CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA"),
            what_number="CI_EXTERNAL_PULL_REQUEST_IID",
            what_sha="CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA",
            fix=(
                "run the job for external pull requests (rules: - if: $CI_PIPELINE_SOURCE == "
                "'external_pull_request_event')"
            ),
            order=order,
        )
    return _Found(
        host="gitlab",
        number=env.get("CI_MERGE_REQUEST_IID"),
        sha=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA") or env.get("CI_COMMIT_SHA"),
        what_number="CI_MERGE_REQUEST_IID",
        what_sha="CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
        fix="run the job in a merge request pipeline (rules: - if: $CI_PIPELINE_SOURCE == 'merge_request_event')",
        draft=env.get("CI_MERGE_REQUEST_DRAFT") == "true",
        order=order,
    )


def _azure(env: Mapping[str, str], host: str | None) -> _Found:
    repository = env.get("BUILD_REPOSITORY_PROVIDER", "").strip().lower()
    host = host or AZURE_REPOSITORY_HOSTS.get(repository, "azure")
    # Azure's own pull request id is a number of its own (hundreds of millions); a pull request on GitHub or
    # Bitbucket is known there by its number, as dbt Cloud and the schema name need it.
    number_variable = "SYSTEM_PULLREQUEST_PULLREQUESTID" if host == "azure" else "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER"
    return _Found(
        host=host,
        number=env.get(number_variable),
        sha=env.get("SYSTEM_PULLREQUEST_SOURCECOMMITID"),
        what_number=number_variable,
        what_sha="SYSTEM_PULLREQUEST_SOURCECOMMITID",
        fix="run the pipeline as pull request validation (a branch policy build, or a pr: trigger)",
        draft=env.get("SYSTEM_PULLREQUEST_ISDRAFT", "").lower() == "true",
    )


def _other(env: Mapping[str, str]) -> _Found:
    return _Found(
        host="other",
        number=env.get("BITBUCKET_PR_ID"),
        sha=env.get("BITBUCKET_COMMIT"),
        what_number="BITBUCKET_PR_ID (or --pr-number)",
        what_sha="BITBUCKET_COMMIT (or --git-sha)",
        fix="run it in a pull request pipeline, or pass --pr-number and --git-sha",
    )


def _need(value: str | None, what: str, fix: str) -> str:
    if not value:
        raise EventError(f"{what} is not set, so the pull request is unknown: {fix}.")
    return value


def pull_request_from_ci(
    ci: str,
    env: Mapping[str, str],
    *,
    host: str | None = None,
    number: int | None = None,
    git_sha: str | None = None,
) -> PullRequest:
    """The pull request a GitLab, Azure Pipelines, Bitbucket or other CI job runs for, on the git host its variables
    name (`host`, the git-provider input, when it is given)."""
    if ci == "gitlab":
        found = _gitlab(env)
    elif ci == "azure":
        found = _azure(env, host)
    else:
        found = _other(env)
    chosen_number = str(number) if number is not None else _need(found.number, found.what_number, found.fix)
    chosen_sha = git_sha or _need(found.sha, found.what_sha, found.fix)
    return PullRequest(
        number=pr_number(chosen_number, found.what_number),
        head_sha=full_sha(chosen_sha, found.what_sha),
        draft=found.draft,
        provider=host or found.host,
        order=found.order if number is None and git_sha is None else None,
    )
