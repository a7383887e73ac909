"""Job create, read, update, list and delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator

from .helpers import statuses, trigger

READ_ONLY = ("id", "created_at", "updated_at", "is_deferrable", "raw_dbt_version", "run_failure_count")


def new_job(emu: Emulator, **overrides: Any) -> dict[str, Any]:
    """A minimal valid create-job body."""
    return {
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
    assert job["job_type"] == "ci"
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
        "custom_branch_only": None,
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
    assert api.post("/jobs/", json=body).json()["data"] == {missing: ["This field is required."]}


def test_update_job(emu: Emulator, api: httpx.Client) -> None:
    job = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    updated = api.post(f"/jobs/{emu.ci_job_id}/", json={**job, "name": "Renamed", "id": 5}).json()["data"]
    assert updated["id"] == emu.ci_job_id
    assert updated["name"] == "Renamed"
    assert updated["created_at"] == job["created_at"]
    assert api.post(f"/jobs/{emu.ci_job_id}/", json={"name": "x"}).status_code == 400
    assert api.post("/jobs/999999/", json=job).status_code == 404


def test_update_to_state_2_deletes_and_cancels(emu: Emulator, api: httpx.Client) -> None:
    run = trigger(api, emu.ci_job_id or 0)
    job = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
    assert api.post(f"/jobs/{emu.ci_job_id}/", json={**job, "state": 2}).status_code == 200
    assert api.get(f"/jobs/{emu.ci_job_id}/").status_code == 404
    assert statuses(emu)[run["id"]] == 30


def test_delete_job(emu: Emulator, api: httpx.Client) -> None:
    response = api.delete(f"/jobs/{emu.ci_job_id}/")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/jobs/{emu.ci_job_id}/").status_code == 404
    assert api.delete(f"/jobs/{emu.ci_job_id}/").status_code == 404
    assert api.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "x"}).status_code == 404
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
