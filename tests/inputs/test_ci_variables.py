from __future__ import annotations

import pytest

from autoscale_ci.dbt_cloud.models import PR_FIELDS
from autoscale_ci.errors import EventError
from autoscale_ci.inputs.ci_variables import pull_request_from_ci

SHA = "c" * 40


def test_gitlab_merge_request_pipeline() -> None:
    env = {"CI_MERGE_REQUEST_IID": "12", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": SHA, "CI_COMMIT_SHA": "d" * 40}
    pr = pull_request_from_ci("gitlab", {**env, "CI_MERGE_REQUEST_DRAFT": "true"})
    assert (pr.number, pr.head_sha, pr.draft, pr.provider) == (12, SHA, True, "gitlab")
    assert PR_FIELDS[pr.provider] == "gitlab_merge_request_id"


def test_azure_pull_request_validation() -> None:
    pr = pull_request_from_ci(
        "azure", {"SYSTEM_PULLREQUEST_PULLREQUESTID": "31", "SYSTEM_PULLREQUEST_SOURCECOMMITID": SHA.upper()}
    )
    assert (pr.number, pr.head_sha, pr.provider) == (31, SHA, "azure")


def test_bitbucket_and_flags_for_any_other_ci() -> None:
    assert pull_request_from_ci("other", {"BITBUCKET_PR_ID": "4", "BITBUCKET_COMMIT": SHA}).number == 4
    pr = pull_request_from_ci("other", {}, number=9, git_sha=SHA)
    assert (pr.number, pr.head_sha, pr.provider) == (9, SHA, "other")


@pytest.mark.parametrize(
    ("provider", "env", "says"),
    [
        ("gitlab", {"CI_COMMIT_SHA": SHA}, "merge request pipeline"),
        ("azure", {"SYSTEM_PULLREQUEST_PULLREQUESTID": "3"}, "SYSTEM_PULLREQUEST_SOURCECOMMITID"),
        ("other", {"BITBUCKET_COMMIT": SHA}, "--pr-number"),
        ("other", {"BITBUCKET_PR_ID": "x", "BITBUCKET_COMMIT": SHA}, "not a pull request number"),
    ],
)
def test_missing_or_bad_variables_say_how_to_run(provider: str, env: dict[str, str], says: str) -> None:
    with pytest.raises(EventError, match=says):
        pull_request_from_ci(provider, env)


AZURE_GITHUB_PR = {
    "SYSTEM_PULLREQUEST_PULLREQUESTID": "987654321",  # Azure's own id of the pull request: no GitHub number
    "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER": "42",
    "SYSTEM_PULLREQUEST_SOURCECOMMITID": SHA,
}


@pytest.mark.parametrize(
    ("repository", "host", "number"),
    [
        ("GitHub", "github", 42),
        ("GitHubEnterprise", "github", 42),
        ("Bitbucket", "other", 42),
        ("TfsGit", "azure", 987654321),
        ("", "azure", 987654321),  # Azure Repos, whose builds may not say
    ],
)
def test_azure_sends_the_pull_request_of_the_git_host_the_repository_is_on(
    repository: str, host: str, number: int
) -> None:
    pr = pull_request_from_ci("azure", {**AZURE_GITHUB_PR, "BUILD_REPOSITORY_PROVIDER": repository})
    assert (pr.provider, pr.number) == (host, number)


def test_git_provider_overrides_the_host_the_variables_name() -> None:
    pr = pull_request_from_ci("azure", {**AZURE_GITHUB_PR, "BUILD_REPOSITORY_PROVIDER": "TfsGit"}, host="github")
    assert (pr.provider, pr.number) == ("github", 42)


def test_gitlab_building_a_github_repository_sends_the_github_pull_request() -> None:
    env = {
        "CI_PIPELINE_SOURCE": "external_pull_request_event",
        "CI_EXTERNAL_PULL_REQUEST_IID": "17",
        "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA": SHA,
        "CI_COMMIT_SHA": "e" * 40,  # the merge of the pull request into its target, not its head
        "CI_PIPELINE_ID": "5150",
    }
    pr = pull_request_from_ci("gitlab", env)
    assert (pr.provider, pr.number, pr.head_sha) == ("github", 17, SHA)
    assert pr.order is not None and pr.order.marker() == " [pipeline 5150]"
    with pytest.raises(EventError, match=r"CI_EXTERNAL_PULL_REQUEST_IID is not set.*external_pull_request_event"):
        pull_request_from_ci("gitlab", {"CI_PIPELINE_SOURCE": "external_pull_request_event"})
