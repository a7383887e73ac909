"""The project endpoint: the spec's ProjectResponse, with where the dbt project sits in its repository."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import httpx
import pytest
import yaml
from openapi_schema_validator import OAS30ReadValidator

from dbt_cloud_emulator import Emulator, EmulatorConfig
from tests.harness import ROOT

from .helpers import admin, client, trigger
from .test_errors import envelope

SPEC = ROOT / "spec" / "dbt-cloud-api" / "openapi-v2.yaml"
PROJECT_PATH = "/api/v2/accounts/{account_id}/projects/{id}/"
_SPACED_TIME = re.compile(r'"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"')


@cache
def spec() -> dict[str, Any]:
    """The official v2 spec."""
    loaded: dict[str, Any] = yaml.load(
        SPEC.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )
    return loaded


def nullable(schema: Any) -> Any:
    """A schema of the spec with its references inlined and null allowed wherever a value is: the spec marks nothing
    nullable, and live answers are full of nulls (NOTES.md), as test_conformance.py reads it."""
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return nullable(spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]])
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {name: nullable(sub) for name, sub in out["properties"].items()}
    if "items" in out:
        out["items"] = nullable(out["items"])
    for key in ("allOf", "oneOf", "anyOf"):
        if key in out:
            out[key] = [nullable(sub) for sub in out[key]]
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = nullable(out["additionalProperties"])
    out["nullable"] = True
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def spec_problems(response: httpx.Response, path: str = PROJECT_PATH, method: str = "get") -> list[str]:
    """What the spec's 200 answer of an endpoint (the project's by default) finds wrong with this one (spaced
    timestamps read as RFC 3339, as the live API writes them: NOTES.md)."""
    answer = spec()["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    body = json.loads(_SPACED_TIME.sub(r'"\1T\2"', response.text))
    validator = OAS30ReadValidator(nullable(answer), format_checker=OAS30ReadValidator.FORMAT_CHECKER)
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body))


def test_the_seeded_project_answers_as_the_spec_says(frozen: Emulator, fapi: httpx.Client) -> None:
    response = fapi.get(f"/projects/{frozen.project_id}/")
    assert response.status_code == 200, response.text
    assert spec_problems(response) == []
    body = response.json()
    assert body["status"] == {"code": 200, "is_success": True, "user_message": "Success!", "developer_message": ""}
    project = body["data"]
    assert (project["id"], project["account_id"], project["state"], project["type"]) == (
        frozen.project_id,
        frozen.account_id,
        1,
        0,
    )
    assert project["dbt_project_subdirectory"] is None  # NOTES.md: null, at the repository's root
    assert [env["id"] for env in project["environments"]] == [frozen.environment_id]
    assert project["created_at"] == project["updated_at"]
    required = spec()["components"]["schemas"]["ProjectResponse"]["required"]
    assert set(required) <= set(project)


def test_set_project_moves_the_dbt_project_into_a_subdirectory_and_back(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.advance(5)
    frozen.set_project("transform/dbt")
    moved = fapi.get(f"/projects/{frozen.project_id}/")
    assert spec_problems(moved) == []
    project = moved.json()["data"]
    assert project["dbt_project_subdirectory"] == "transform/dbt"
    assert project["updated_at"] > project["created_at"]
    frozen.set_project(None)
    assert fapi.get(f"/projects/{frozen.project_id}/").json()["data"]["dbt_project_subdirectory"] is None


def test_the_subdirectory_is_set_over_http_too(emu: Emulator, api: httpx.Client) -> None:
    assert admin(emu, "POST", "project", {"subdirectory": "dbt"}).status_code == 200
    assert api.get(f"/projects/{emu.project_id}/").json()["data"]["dbt_project_subdirectory"] == "dbt"
    assert admin(emu, "POST", "project", {"subdirectory": None}).status_code == 200
    assert api.get(f"/projects/{emu.project_id}/").json()["data"]["dbt_project_subdirectory"] is None
    for bad in ({"subdirectory": " "}, {"subdirectory": 3}, {"path": "dbt"}, {}):
        assert admin(emu, "POST", "project", bad).status_code == 400, bad


@pytest.mark.parametrize("subdirectory", ["", "   ", 7])
def test_a_blank_subdirectory_is_refused(emu: Emulator, subdirectory: Any) -> None:
    with pytest.raises(ValueError, match="subdirectory"):
        emu.set_project(subdirectory)


def test_an_unknown_project_is_404_as_an_unknown_job_is(emu: Emulator, api: httpx.Client) -> None:
    missing = envelope(api.get("/projects/4242/"), 404)
    assert missing["data"] is None
    assert missing["status"]["user_message"] == "Project 4242 not found."
    assert set(missing) == set(envelope(api.get("/jobs/4242/"), 404))
    envelope(api.get("/projects/not-a-number/"), 404)
    with httpx.Client(headers={"Authorization": f"Token {emu.token}"}) as other:
        envelope(other.get(f"{emu.url}/api/v2/accounts/999/projects/{emu.project_id}/"), 404)


def test_a_project_a_job_names_is_answered_at_its_root(emu: Emulator, api: httpx.Client) -> None:
    emu.set_project("transform")
    emu.seed_foreign_job(project_id=777, environment_id=778)
    response = api.get("/projects/777/")
    assert spec_problems(response) == []
    project = response.json()["data"]
    assert (project["id"], project["dbt_project_subdirectory"]) == (777, None)
    assert [env["id"] for env in project["environments"]] == [778]


def test_every_role_reads_the_project_and_none_changes_it() -> None:
    config = EmulatorConfig(tokens={"runner": "runner"})
    with Emulator(config) as emu:
        path = f"/projects/{emu.project_id}/"
        for token in (emu.token, "runner", emu.readonly_token):
            with client(emu, token) as reader:
                assert reader.get(path).status_code == 200, token
                # The emulator serves no project update, for any role.
                envelope(reader.post(path, json={"dbt_project_subdirectory": "x"}), 405)
        url = f"{emu.url}/api/v2/accounts/{emu.account_id}{path}"
        envelope(httpx.get(url), 401)
        envelope(httpx.get(url, headers={"Authorization": "Token x"}), 401)


def test_the_spec_check_catches_an_answer_off_the_spec(emu: Emulator, api: httpx.Client) -> None:
    response = api.get(f"/projects/{emu.project_id}/")
    body = response.json()
    del body["data"]["environments"]
    body["data"]["state"] = "active"
    broken = httpx.Response(200, json=body)
    problems = spec_problems(broken)
    assert any("environments" in problem for problem in problems)
    assert any(problem.startswith("data/state") for problem in problems)


def test_a_large_projects_manifest_is_as_long_as_set_and_still_a_manifest(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_project(None, manifest_bytes=200_000)
    run_id = int(trigger(fapi, frozen.ci_job_id or 0)["id"])
    frozen.advance(70)
    answer = fapi.get(f"/runs/{run_id}/artifacts/manifest.json")
    assert int(answer.headers["Content-Length"]) == len(answer.content) >= 200_000
    assert "model.emulated_project.stg_orders" in answer.json()["nodes"]
    frozen.set_project(None)
    assert len(fapi.get(f"/runs/{run_id}/artifacts/manifest.json").content) < 200_000


@pytest.mark.parametrize("size", [-1, True, "5"])
def test_a_manifest_length_that_is_no_count_is_refused(emu: Emulator, size: Any) -> None:
    with pytest.raises(ValueError, match="manifest_bytes"):
        emu.set_project(None, manifest_bytes=size)
