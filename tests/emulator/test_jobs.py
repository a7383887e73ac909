"""Job create, read, update, list and delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator
from tests.harness import wait_for

from .helpers import admin, statuses, trigger

READ_ONLY = ("id", "created_at", "updated_at", "is_deferrable", "raw_dbt_version", "run_failure_count")


def new_job(emu: Emulator, **overrides: Any) -> dict[str, Any]:
    """A minimal valid create-job body, with `"id": null` and a schedule as the live API needs."""
    return {
        "id": None,
        "schedule": {"date": {"type": "every_day"}, "time": {"type": "every_hour", "interval": 1}},
        "account_id": emu.account_id,
        "project_id": emu.project_id,
        "environment_id": emu.environment_id,
        "name": "Clone",
        "execution": {"timeout_seconds": 0},
        "settings": {"threads": 4, "target_name": "ci"},
        "triggers": {"github_webhook": False, "schedule": False},
        "state": 1,
        "errors_on_lint_failure": True,
        "generate_docs": False,
        "lifecycle_webhooks": False,
        "run_compare_changes": False,
        "run_generate_sources": False,
        "run_lint": False,
        **overrides,
    }


def test_seeded_ci_job_has_its_pr_trigger_off(emu: Emulator, api: httpx.Client) -> None:
    job = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    assert job["name"] == "CI"
    assert job["job_type"] == "other"  # a deploy job used for CI: dbt runs its runs one at a time on every plan
    assert job["triggers"]["github_webhook"] is False
    assert job["triggers"]["schedule"] is False
    assert job["execute_steps"] == ["dbt build --select state:modified+"]
    assert set(job["schedule"]) == {"cron", "date", "time"}
    for key in ("deferring_environment_id", "deferring_job_definition_id", "triggers_on_draft_pr", *READ_ONLY):
        assert key in job


def test_create_job_fills_defaults(emu: Emulator, api: httpx.Client) -> None:
    response = api.post("/jobs/", json=new_job(emu))
    assert response.status_code == 200
    job = response.json()["data"]
    assert job["id"] != emu.ci_job_id
    assert job["triggers"] == {
        "github_webhook": False,
        "schedule": False,
        "git_provider_webhook": None,
        "on_merge": None,
    }
    assert job["job_type"] == "other"
    assert job["created_at"] == job["updated_at"]
    assert api.get(f"/jobs/{job['id']}/").json()["data"] == job


def test_a_fetched_job_can_be_posted_back_as_a_clone(emu: Emulator, api: httpx.Client) -> None:
    source = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    clone_body = {**source, "name": "CI clone", "id": 1, "created_at": "yesterday", "account": {"id": 1}}
    clone_body["triggers"] = {**source["triggers"], "schedule": False}
    clone = api.post("/jobs/", json=clone_body).json()["data"]
    assert clone["id"] not in (1, source["id"])
    assert clone["created_at"] != "yesterday"
    assert clone["account"] == source["account"]  # the posted read-only object is ignored
    for key in set(source) - {"id", "name", "created_at", "updated_at"}:
        assert clone[key] == source[key], key


def test_create_job_with_optional_fields(emu: Emulator, api: httpx.Client) -> None:
    body = new_job(
        emu,
        dbt_version="1.9.0-latest",
        deferring_environment_id=77,
        job_type="ci",
        schedule={"date": {"type": "every_day"}, "time": {"type": "every_hour", "interval": 2}},
        triggers_on_draft_pr=True,
        description="",
    )
    job = api.post("/jobs/", json=body).json()["data"]
    assert job["raw_dbt_version"] == "1.9.0-latest"
    assert job["deferring_environment_id"] == 77
    assert job["schedule"]["cron"] is None
    assert job["schedule"]["time"]["interval"] == 2
    assert job["triggers_on_draft_pr"] is True


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"account_id": None}, "account_id"),
        ({"project_id": "5678"}, "project_id"),
        ({"name": ""}, "name"),
        ({"execution": {}}, "execution"),
        ({"execution": "fast"}, "execution"),
        ({"settings": {"threads": "4", "target_name": "ci"}}, "settings"),
        ({"settings": {"threads": 4, "target_name": ""}}, "settings"),
        ({"triggers": {"github_webhook": False}}, "triggers"),
        ({"triggers": {"github_webhook": 0, "schedule": False}}, "triggers"),
        ({"run_lint": "false"}, "run_lint"),
        ({"state": 3}, "state"),
        ({"job_type": "nightly"}, "job_type"),
        ({"account_id": 1}, "account_id"),
        ({"schedule": {"cron": "* * * * *"}}, "schedule"),
        ({"execute_steps": ["dbt build", 3]}, "execute_steps"),
    ],
)
def test_invalid_job_bodies_are_400(emu: Emulator, api: httpx.Client, overrides: dict[str, Any], field: str) -> None:
    response = api.post("/jobs/", json=new_job(emu, **overrides))
    assert response.status_code == 400, response.text
    assert field in response.json()["data"]
    assert len(emu.jobs()) == 1


@pytest.mark.parametrize("missing", ["settings", "triggers", "generate_docs", "state", "environment_id"])
def test_missing_required_job_fields_are_400(emu: Emulator, api: httpx.Client, missing: str) -> None:
    body = new_job(emu)
    del body[missing]
    assert api.post("/jobs/", json=body).json()["data"] == {missing: "required key not provided"}


def job_error(response: httpx.Response) -> Any:
    """The `data` of a job endpoint's 400, asserting the members the live API sends beside it."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"]["code"] == 400 and body["status"]["is_success"] is False
    assert (body["extra"], body["error_code"]) == ({}, None)
    return body["data"]


def test_a_create_needs_an_id_key_and_a_schedule(emu: Emulator, api: httpx.Client) -> None:
    for missing, data in [
        (("id",), {"id": "required key not provided"}),
        (("schedule",), {"schedule": "required key not provided"}),
        (("id", "schedule"), {"id": "required key not provided", "schedule": "required key not provided"}),
    ]:
        body = {key: value for key, value in new_job(emu).items() if key not in missing}
        assert job_error(api.post("/jobs/", json=body)) == data
    assert job_error(api.post("/jobs/", json=new_job(emu, id="new"))) == {"id": "expected int"}
    assert len(emu.jobs()) == 1
    # What the clients that run against the live API send: `"id": null` and a schedule object.
    assert api.post("/jobs/", json=new_job(emu)).status_code == 200
    # A null schedule is refused on create (a guess on the strict side), and taken as the job's own on an update.
    assert job_error(api.post("/jobs/", json=new_job(emu, schedule=None))) == {"schedule": "expected a dictionary"}


def test_triggers_refuse_custom_branch_only_and_any_other_key(emu: Emulator, api: httpx.Client) -> None:
    triggers: dict[str, bool | None] = {"github_webhook": False, "schedule": False, "custom_branch_only": False}
    assert job_error(api.post("/jobs/", json=new_job(emu, triggers=triggers))) == {
        "triggers": "Additional properties are not allowed ('custom_branch_only' was unexpected)"
    }
    triggers = {**triggers, "colour": None}
    assert job_error(api.post("/jobs/", json=new_job(emu, triggers=triggers))) == {
        "triggers": "Additional properties are not allowed ('custom_branch_only', 'colour' were unexpected)"
    }
    job = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    assert "custom_branch_only" not in job["triggers"]  # so a fetched job posted back passes
    assert len(emu.jobs()) == 1


def test_job_field_errors_are_strings_not_lists(emu: Emulator, api: httpx.Client) -> None:
    body = new_job(
        emu,
        name=None,
        run_lint="false",
        state=3,
        job_type="nightly",
        account_id=1,
        execute_steps=["dbt build", 3],
        settings={"threads": "4", "target_name": "ci"},
        execution={},
        schedule={"date": {"type": "every_day"}},
    )
    del body["generate_docs"]
    assert job_error(api.post("/jobs/", json=body)) == {
        "name": "expected str",
        "run_lint": "expected bool",
        "generate_docs": "required key not provided",
        "state": "value must be one of [1, 2]",
        "job_type": "value must be one of ['adaptive', 'ci', 'exposure_sync', 'hybrid', 'merge', 'other', 'scheduled']",
        "account_id": "Must match the account in the URL.",
        "execute_steps": "expected str",
        "settings": "'4' is not of type 'integer'",
        "execution": "'timeout_seconds' is a required property",
        "schedule": "'time' is a required property",
    }
    assert job_error(api.post("/jobs/", json=["not", "an", "object"])) == {"non_field_errors": "expected a dictionary"}
    # Other endpoints keep Django REST framework's lists.
    trigger_error = api.post(f"/jobs/{emu.ci_job_id}/run/", json={}).json()
    assert trigger_error["data"] == {"cause": ["This field is required."]}
    assert "error_code" not in trigger_error


def test_an_update_must_carry_the_jobs_own_id(emu: Emulator, api: httpx.Client) -> None:
    job = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    without = {key: value for key, value in job.items() if key != "id"}
    for body in (without, {**job, "id": 5}, {**job, "id": None}, {**job, "id": str(emu.ci_job_id)}):
        assert job_error(api.post(f"/jobs/{emu.ci_job_id}/", json={**body, "name": "Renamed"})) == {
            "id": "The provided id does not match."
        }
    assert emu.jobs()[0]["name"] == "CI"
    assert api.post(f"/jobs/{emu.ci_job_id}/", json={**job, "name": "Renamed"}).status_code == 200


def test_update_job(emu: Emulator, api: httpx.Client) -> None:
    job = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    updated = api.post(f"/jobs/{emu.ci_job_id}/", json={**job, "name": "Renamed"}).json()["data"]
    assert updated["id"] == emu.ci_job_id
    assert updated["name"] == "Renamed"
    assert updated["created_at"] == job["created_at"]
    assert api.post(f"/jobs/{emu.ci_job_id}/", json={"id": emu.ci_job_id, "name": "x"}).status_code == 400
    assert api.post("/jobs/999999/", json={**job, "id": 999999}).status_code == 404


def test_update_to_state_2_deletes_and_cancels(emu: Emulator, api: httpx.Client) -> None:
    run = trigger(api, emu.ci_job_id or 0)
    job = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    assert api.post(f"/jobs/{emu.ci_job_id}/", json={**job, "state": 2}).status_code == 200
    gone = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    assert (gone["state"], gone["deactivated_at"]) == (2, gone["updated_at"])
    assert statuses(emu)[run["id"]] == 30


def test_delete_is_a_soft_delete_answered_with_the_job_at_state_2(emu: Emulator, api: httpx.Client) -> None:
    before = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    response = api.delete(f"/jobs/{emu.ci_job_id}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"]["is_success"] is True
    deleted = body["data"]
    assert (deleted["id"], deleted["state"], deleted["name"]) == (emu.ci_job_id, 2, "CI")
    assert deleted["deactivated_at"] == deleted["updated_at"] and "deactivated_at" not in before
    fetched = api.get(f"/jobs/{emu.ci_job_id}/")  # still readable, at state 2
    assert fetched.status_code == 200 and fetched.json()["data"] == deleted
    again = api.delete(f"/jobs/{emu.ci_job_id}/")  # answered as GET answers it: the same job at state 2
    assert again.status_code == 200 and again.json()["data"] == deleted
    assert api.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "x"}).status_code == 404
    assert api.post(f"/jobs/{emu.ci_job_id}/", json=before).status_code == 404
    assert api.get("/jobs/").json()["data"] == []  # the list shows active jobs unless asked
    assert [j["id"] for j in api.get("/jobs/", params={"state": 2}).json()["data"]] == [emu.ci_job_id]
    assert [j["state"] for j in emu.jobs()] == [2]


def test_list_jobs_filters_and_pages(emu: Emulator, api: httpx.Client) -> None:
    other = emu.seed_job("Nightly build", project_id=1, job_type="scheduled")
    gone = emu.seed_job("Old CI")
    api.delete(f"/jobs/{gone}/")
    body = api.get("/jobs/").json()
    assert [j["id"] for j in body["data"]] == [emu.ci_job_id, other]
    assert body["extra"]["pagination"] == {"count": 2, "total_count": 2}
    assert [j["id"] for j in api.get("/jobs/", params={"project_id": 1}).json()["data"]] == [other]
    assert [j["id"] for j in api.get("/jobs/", params={"name__icontains": "NIGHT"}).json()["data"]] == [other]
    assert [j["id"] for j in api.get("/jobs/", params={"state": "deleted"}).json()["data"]] == [gone]
    assert len(api.get("/jobs/", params={"state": "all"}).json()["data"]) == 3
    assert [j["id"] for j in api.get("/jobs/", params={"order_by": "-id"}).json()["data"]] == [other, emu.ci_job_id]
    page = api.get("/jobs/", params={"limit": 1, "offset": 1}).json()
    assert [j["id"] for j in page["data"]] == [other]
    assert page["extra"]["filters"] == {"account_id": emu.account_id, "limit": 1, "offset": 1}


def test_seed_job_validates_and_takes_timing(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="invalid job"):
        emu.seed_job("Bad", settings={"threads": "many"})
    job_id = emu.seed_job("Slow", run_seconds=30, generate_docs=True)
    job = next(j for j in emu.jobs() if j["id"] == job_id)
    assert job["generate_docs"] is True


STATE_AWARE = {"detail": "State aware orchestration is not available for CI or Merge jobs"}


@pytest.mark.parametrize("job_type", ["ci", "merge"])
@pytest.mark.parametrize("feature", ["state_aware_orchestration", "dbt_state"])
def test_a_ci_or_merge_job_with_state_aware_orchestration_is_a_bare_405(
    emu: Emulator, api: httpx.Client, job_type: str, feature: str
) -> None:
    features = ["efficient_testing", feature]
    response = api.post("/jobs/", json=new_job(emu, job_type=job_type, cost_optimization_features=features))
    assert response.status_code == 405
    assert response.json() == STATE_AWARE  # no envelope, no status block
    typed = emu.seed_job("Typed CI", job_type=job_type)
    job = api.get(f"/jobs/{typed}/").json()["data"]
    refused = api.post(f"/jobs/{typed}/", json={**job, "cost_optimization_features": [feature]})
    assert (refused.status_code, refused.json()) == (405, STATE_AWARE)
    assert len(emu.jobs()) == 2 and emu.jobs()[1]["cost_optimization_features"] == []


def test_state_aware_orchestration_is_fine_on_other_jobs_and_seedable_on_ci_ones(
    emu: Emulator, api: httpx.Client
) -> None:
    for job_type in ("scheduled", "other", None):
        body = new_job(emu, job_type=job_type, cost_optimization_features=["dbt_state"])
        assert api.post("/jobs/", json=body).status_code == 200, job_type
    ci_body = new_job(emu, job_type="ci", cost_optimization_features=["efficient_testing"])
    assert api.post("/jobs/", json=ci_body).status_code == 200
    # A CI job made before the rule: it can be seeded, but any update of it that keeps the feature is refused.
    old = emu.seed_job("Old CI", job_type="ci", cost_optimization_features=["dbt_state"])
    job = api.get(f"/jobs/{old}/").json()["data"]
    assert (job["job_type"], job["cost_optimization_features"]) == ("ci", ["dbt_state"])
    renamed = api.post(f"/jobs/{old}/", json={**new_job(emu, name="Renamed"), "id": old})
    assert renamed.status_code == 405  # the body leaves job_type and features out: the job keeps them
    moved = api.post(f"/jobs/{old}/", json={**job, "job_type": "scheduled"})
    assert moved.status_code == 200 and moved.json()["data"]["job_type"] == "scheduled"


EMBEDDED = {
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
}


def test_a_job_embedded_in_a_run_carries_only_the_keys_of_a_live_answer(emu: Emulator, api: httpx.Client) -> None:
    job = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    run_id = trigger(api, emu.ci_job_id or 0)["id"]
    embedded = api.get(f"/runs/{run_id}/", params={"include_related": '["job"]'}).json()["data"]["job"]
    assert set(embedded) == EMBEDDED
    for missing in ("generate_sources", "run_lint", "errors_on_lint_failure", "compare_changes_flags"):
        assert missing in job and missing not in embedded  # copy a job from its own GET, not from a run
    assert "cost_optimization_features" not in embedded
    assert embedded["deactivated"] is False
    assert embedded["schedule"] == {"cron": "0 * * * *", "date": "every_day", "time": "every_hour"}
    assert job["schedule"]["date"] == {"type": "every_day", "days": None, "cron": None}
    for key in EMBEDDED - {"deactivated", "schedule"}:
        assert embedded[key] == job[key], key
    api.delete(f"/jobs/{emu.ci_job_id}/")
    gone = api.get(f"/runs/{run_id}/", params={"include_related": '["job"]'}).json()["data"]["job"]
    assert (gone["deactivated"], gone["state"]) == (True, 2)


def test_a_key_the_stored_job_lacks_is_embedded_as_null(emu: Emulator, api: httpx.Client) -> None:
    with emu.state.lock:
        del emu.state.jobs[emu.ci_job_id or 0]["lifecycle_webhooks_url"]
    run_id = trigger(api, emu.ci_job_id or 0)["id"]
    embedded = api.get(f"/runs/{run_id}/", params={"include_related": '["job"]'}).json()["data"]["job"]
    assert set(embedded) == EMBEDDED and embedded["lifecycle_webhooks_url"] is None


ODD_TRIGGERS = {"github_webhook": None, "schedule": None, "git_provider_webhook": None, "on_merge": None}


def test_another_teams_odd_job_is_stored_and_answered_as_given(emu: Emulator, api: httpx.Client) -> None:
    odd = emu.seed_foreign_job(
        triggers=ODD_TRIGGERS, settings=None, job_type="adaptive", schedule=None, execute_steps=None, updated_at=None
    )
    job = api.get(f"/jobs/{odd}/").json()["data"]
    assert (job["triggers"], job["settings"], job["job_type"], job["schedule"]) == (
        ODD_TRIGGERS,
        None,
        "adaptive",
        None,
    )
    assert job["updated_at"] is None and job["execution"] == {"timeout_seconds": 0}  # the rest: a valid default job
    listed = api.get("/jobs/").json()["data"]
    assert [j["id"] for j in listed] == [emu.ci_job_id, odd]
    for order, expected in (("updated_at", [emu.ci_job_id, odd]), ("-updated_at", [odd, emu.ci_job_id])):
        assert [j["id"] for j in api.get("/jobs/", params={"order_by": order}).json()["data"]] == expected
    assert [j["id"] for j in api.get("/jobs/", params={"name__icontains": "CI"}).json()["data"]] == [emu.ci_job_id]
    run = trigger(api, odd)
    assert run["job"]["id"] == odd
    embedded = api.get(f"/runs/{run['id']}/", params={"include_related": '["job"]'}).json()["data"]["job"]
    assert set(embedded) == EMBEDDED
    assert (embedded["triggers"], embedded["settings"], embedded["schedule"]) == (ODD_TRIGGERS, None, None)
    listed_runs = api.get("/runs/", params={"include_related": '["job","trigger"]'}).json()["data"]
    assert [r["job"]["job_type"] for r in listed_runs] == ["adaptive"]
    wait_for(lambda: statuses(emu)[run["id"]] == 3, what="the odd job's run running as any run does")


def test_seed_foreign_job_defaults_and_guards(emu: Emulator) -> None:
    plain = emu.seed_foreign_job()
    job = next(j for j in emu.jobs() if j["id"] == plain)
    assert (job["name"], job["state"], job["project_id"]) == ("Other team's job", 1, emu.project_id)
    with pytest.raises(ValueError, match="id"):
        emu.seed_foreign_job(id=5)
    response = admin(emu, "POST", "foreign_jobs", {"name": "Theirs", "settings": None, "job_type": "hybrid"})
    assert response.status_code == 200, response.text
    seeded = next(j for j in emu.jobs() if j["id"] == response.json()["data"]["id"])
    assert (seeded["name"], seeded["settings"], seeded["job_type"]) == ("Theirs", None, "hybrid")
