from __future__ import annotations

from autoscale_ci.rules.clone_body import WRITABLE_FIELDS, clone_definition
from tests.builders import job


def test_clone_copies_the_job_with_every_trigger_off() -> None:
    source = job(name="CI")
    body = clone_definition(source, 73797, 3)
    assert body["name"] == "CI [autoscale 73797 PR #3]"
    assert body["triggers"] == {
        "github_webhook": False,
        "schedule": False,
        "git_provider_webhook": False,
        "on_merge": False,
    }
    assert body["triggers_on_draft_pr"] is False
    assert body["execute_steps"] == source["execute_steps"]
    assert body["deferring_environment_id"] == 30
    assert body["settings"] == {"threads": 4, "target_name": "ci"}


def test_clone_drops_read_only_and_empty_fields() -> None:
    body = clone_definition(job(), 73797, 3)
    assert set(body) <= set(WRITABLE_FIELDS)
    for read_only in ("id", "created_at", "updated_at", "is_deferrable", "lifecycle_webhooks_url", "raw_dbt_version"):
        assert read_only not in body
    assert "description" not in body  # "" would fail minLength
    assert "dbt_version" not in body  # null is not a string


def test_clone_fills_required_fields_a_sparse_job_lacks() -> None:
    body = clone_definition({"account_id": 1, "project_id": 2, "environment_id": 3, "name": "J"}, 9, 1)
    for required in ("execution", "settings", "state", "generate_docs", "run_lint", "errors_on_lint_failure"):
        assert required in body


def test_clone_of_a_clone_is_not_double_marked() -> None:
    body = clone_definition(job(name="CI [autoscale 73797 PR #2]"), 73797, 5)
    assert body["name"] == "CI [autoscale 73797 PR #5]"


def test_a_clone_has_a_schedule_the_live_api_accepts_and_never_fires() -> None:
    body = clone_definition(job(), 73797, 3)
    assert body["schedule"] == {"date": {"type": "every_day"}, "time": {"type": "every_hour", "interval": 1}}
    assert body["triggers"]["schedule"] is False
    assert "custom_branch_only" not in body["triggers"]  # refused on create: "Additional properties are not allowed"


def test_a_clone_copies_the_fields_an_embedded_job_lacks() -> None:
    source = job(
        run_lint=True,
        errors_on_lint_failure=False,
        compare_changes_flags="--select state:modified+ --exclude tag:slow",
        cost_optimization_features=["efficient_testing"],
        generate_sources=True,
    )
    body = clone_definition(source, 73797, 3)
    for field in ("run_lint", "errors_on_lint_failure", "compare_changes_flags", "cost_optimization_features"):
        assert body[field] == source[field]
    assert body["generate_sources"] is True
