from __future__ import annotations

from datetime import UTC, datetime

import pytest

from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.inputs.settings import Settings
from autoscale_ci.rules.markers import PushOrder, push_order
from autoscale_ci.rules.trigger_body import default_cause
from autoscale_ci.wiring import payload as build_payload
from tests.builders import SHA_A, TOKEN

PR = PullRequest(number=42, head_sha=SHA_A)


def settings(**values: object) -> Settings:
    base = {"INPUT_DBT-CLOUD-TOKEN": TOKEN, "INPUT_ACCOUNT-ID": 1, "INPUT_JOB-ID": 73797}
    return Settings.model_validate({**base, **values})


def test_slim_ci_body() -> None:
    body = build_payload(settings(), PR)
    assert body == {
        "cause": "Autoscaling Slim CI: PR #42 @ aaaaaaa",
        "git_sha": SHA_A,
        "github_pull_request_id": 42,
        "schema_override": "dbt_cloud_pr_73797_42",
    }
    assert isinstance(body["github_pull_request_id"], int)


def test_overrides_pass_through_and_empty_ones_are_left_out() -> None:
    body = build_payload(
        settings(
            **{
                "INPUT_CAUSE": "Manual",
                "INPUT_SCHEMA-OVERRIDE": "pr_schema",
                "INPUT_STEPS-OVERRIDE": "dbt build\ndbt test",
                "INPUT_THREADS-OVERRIDE": "8",
                "INPUT_GENERATE-DOCS-OVERRIDE": "false",
                "INPUT_TIMEOUT-SECONDS-OVERRIDE": "0",
                "INPUT_GIT-BRANCH": "feature",
                "INPUT_TARGET-NAME-OVERRIDE": "ci",
                "INPUT_DBT-VERSION-OVERRIDE": "latest",
            }
        ),
        PR,
    )
    assert body["cause"] == "Manual"
    assert body["schema_override"] == "pr_schema"
    assert body["steps_override"] == ["dbt build", "dbt test"]
    assert body["threads_override"] == 8
    assert body["generate_docs_override"] is False
    assert body["timeout_seconds_override"] == 0
    assert body["git_branch"] == "feature"
    assert body["target_name_override"] == "ci"
    assert body["dbt_version_override"] == "latest"


def test_default_cause_names_pr_and_short_sha() -> None:
    assert default_cause(PR) == "Autoscaling Slim CI: PR #42 @ aaaaaaa"


def test_cause_records_when_the_commit_was_pushed() -> None:
    pushed = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    pr = PullRequest(number=42, head_sha=SHA_A, order=PushOrder.pushed(pushed))
    cause = build_payload(settings(), pr)["cause"]
    assert cause == "Autoscaling Slim CI: PR #42 @ aaaaaaa [pushed 2026-03-04T05:06:07Z]"
    assert push_order(cause) == PushOrder.pushed(pushed)
    long = build_payload(settings(**{"INPUT_CAUSE": "x" * 255}), pr)["cause"]
    assert len(long) == 255
    assert push_order(long) == PushOrder.pushed(pushed)


def test_a_gitlab_pipelines_order_goes_into_the_cause() -> None:
    pr = PullRequest(number=42, head_sha=SHA_A, provider="gitlab", order=PushOrder.pipeline(98765))
    assert build_payload(settings(), pr)["cause"].endswith(" [pipeline 98765]")


@pytest.mark.parametrize(
    ("provider", "field"),
    [
        ("gitlab", "gitlab_merge_request_id"),
        ("azure", "azure_pull_request_id"),
        ("other", "non_native_pull_request_id"),
    ],
)
def test_the_pr_id_goes_in_the_providers_field(provider: str, field: str) -> None:
    body = build_payload(settings(), PullRequest(number=5, head_sha=SHA_A, provider=provider))
    assert body[field] == 5
    assert "github_pull_request_id" not in body
