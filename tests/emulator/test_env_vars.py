"""v3 job-level environment variable overrides: reading them, creating them, who may, and what deleting a job does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator, EmulatorConfig
from dbt_cloud_emulator.envvars import MASK

from .helpers import admin, client, env_client
from .test_errors import envelope

INVALID = "The request was invalid. Please double check the provided data and try again."


def overrides(env: httpx.Client, job_id: int | None) -> Any:
    """The `data` of a successful job overrides answer."""
    response = env.get("/job/", params={"job_definition_id": job_id})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def override_body(emu: Emulator, job_id: int | None, name: str = "DBT_TARGET", **fields: Any) -> dict[str, Any]:
    """A create body for a job override, as clients such as dbt's Terraform provider send it."""
    return {
        "account_id": emu.account_id,
        "project_id": emu.project_id,
        "name": name,
        "type": "job",
        "job_definition_id": job_id,
        "raw_value": "job_value",
        **fields,
    }


@pytest.fixture
def env(emu: Emulator) -> Iterator[httpx.Client]:
    """Admin client for `emu`'s project environment variables."""
    with env_client(emu) as c:
        yield c


def test_overrides_answer_every_variable_with_the_values_that_apply(emu: Emulator, env: httpx.Client) -> None:
    job = emu.ci_job_id or 0
    other = emu.seed_job("Other")
    ids = emu.set_env_var("DBT_TARGET", project="dev", environment="ci", job_id=job, job_value="pr")
    only_project = emu.set_env_var("DBT_THREADS", project="4")["project"]
    emu.set_env_var("DBT_ELSEWHERE", environment="prod", environment_id=1)
    emu.set_env_var("DBT_TARGET", job_id=other, job_value="other's")
    response = env.get("/job/", params={"job_definition_id": job, "include_related": "job"})
    assert response.status_code == 200
    assert response.json() == {
        "status": {"code": 200, "is_success": True, "user_message": "Success!", "developer_message": ""},
        "data": {
            "DBT_ELSEWHERE": {},
            "DBT_TARGET": {
                "project": {"id": ids["project"], "value": "dev"},
                "environment": {"id": ids["environment"], "value": "ci"},
                "job": {"id": ids["job"], "value": "pr"},
            },
            "DBT_THREADS": {"project": {"id": only_project, "value": "4"}},
        },
        "extra": {},
    }
    assert overrides(env, other)["DBT_TARGET"]["job"]["value"] == "other's"


def test_secret_values_are_masked_at_every_scope(emu: Emulator, env: httpx.Client) -> None:
    job = emu.ci_job_id or 0
    emu.set_env_var("DBT_ENV_SECRET_TOKEN", project="p", environment="e", job_id=job, job_value="j")
    emu.set_env_var("DBT_ENV_SECRETIVE", project="also a secret: the prefix is DBT_ENV_SECRET")
    emu.set_env_var("DBT_NOT_SECRET", project="plain")
    data = overrides(env, job)
    assert MASK == "**********"
    assert [scope["value"] for scope in data["DBT_ENV_SECRET_TOKEN"].values()] == [MASK, MASK, MASK]
    assert data["DBT_ENV_SECRETIVE"]["project"]["value"] == MASK
    assert data["DBT_NOT_SECRET"]["project"]["value"] == "plain"
    created = env.post("/", json=override_body(emu, emu.seed_job("Clone"), "DBT_ENV_SECRET_KEY", raw_value="s3cr3t"))
    assert created.json()["data"]["display_value"] == MASK
    assert "s3cr3t" not in created.text
    # The emulator's own reader is not masked, so a test can see what a client really wrote.
    assert {v["value"] for v in emu.env_vars() if v["name"].startswith("DBT_ENV_SECRET_")} == {"p", "e", "j", "s3cr3t"}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "This field is required."),
        ({"job_definition_id": "abc"}, "A valid integer is required."),
        ({"job_definition_id": ""}, "A valid integer is required."),
        ({"job_definition_id": "1.5"}, "A valid integer is required."),
    ],
)
def test_a_missing_or_invalid_job_definition_id_is_400(env: httpx.Client, params: dict[str, str], error: str) -> None:
    body = envelope(env.get("/job/", params=params), 400)
    assert body["status"]["user_message"] == INVALID
    assert body["data"] == {"job_definition_id": [error]}


def test_an_unknown_deleted_or_other_projects_job_is_404_as_in_v2(emu: Emulator, env: httpx.Client) -> None:
    assert envelope(env.get("/job/", params={"job_definition_id": 424242}), 404)["status"]["user_message"] == (
        "Job definition 424242 not found."
    )
    elsewhere = emu.seed_job("Elsewhere", project_id=1, environment_id=2)
    envelope(env.get("/job/", params={"job_definition_id": elsewhere}), 404)
    with env_client(emu, project_id=1) as there:
        assert overrides(there, elsewhere) == {}
    with client(emu) as api:
        assert api.delete(f"/jobs/{elsewhere}/").status_code == 200
    with env_client(emu, project_id=1) as there:
        envelope(there.get("/job/", params={"job_definition_id": elsewhere}), 404)
    with env_client(emu, project_id=999) as nowhere:
        body = envelope(nowhere.get("/job/", params={"job_definition_id": emu.ci_job_id}), 404)
        assert body["status"]["user_message"] == "Project 999 not found."
        envelope(nowhere.post("/", json=override_body(emu, emu.ci_job_id, project_id=999)), 404)
    headers = {"Authorization": f"Token {emu.token}"}
    other_account = f"{emu.url}/api/v3/accounts/999/projects/{emu.project_id}/environment-variables/job/"
    envelope(httpx.get(other_account, params={"job_definition_id": emu.ci_job_id}, headers=headers), 404)


def test_a_created_override_is_answered_and_then_listed(emu: Emulator, env: httpx.Client) -> None:
    clone = emu.seed_job("Clone")
    emu.set_env_var("DBT_TARGET", project="dev")
    # dbt's Terraform provider sends `id` and `display_value` as null; read-only and unknown fields are ignored.
    response = env.post("/", json=override_body(emu, clone, id=None, display_value=None, created_at="yesterday"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == {"code": 200, "is_success": True, "user_message": "Success!", "developer_message": ""}
    created = body["data"]
    assert created["id"] not in (None, 0)
    assert {key: created[key] for key in ("account_id", "project_id", "name", "type", "job_definition_id")} == {
        "account_id": emu.account_id,
        "project_id": emu.project_id,
        "name": "DBT_TARGET",
        "type": "job",
        "job_definition_id": clone,
    }
    assert (created["display_value"], created["state"], created["environment_id"], created["environment"]) == (
        "job_value",
        1,
        None,
        None,
    )
    assert created["created_at"] == created["updated_at"] != "yesterday"
    assert overrides(env, clone)["DBT_TARGET"]["job"] == {"id": created["id"], "value": "job_value"}
    assert "job" not in overrides(env, emu.ci_job_id)["DBT_TARGET"]


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"name": None}, "name", "This field may not be null."),
        ({"name": ""}, "name", "This field may not be blank."),
        ({"name": 7}, "name", "Not a valid string."),
        ({"name": "TARGET"}, "name", None),
        ({"name": "dbt target"}, "name", None),
        ({"type": "team"}, "type", '"team" is not a valid choice.'),
        ({"raw_value": ""}, "raw_value", "This field may not be blank."),
        ({"raw_value": 5}, "raw_value", "Not a valid string."),
        ({"raw_value": None}, "raw_value", "This field may not be null."),
        ({"job_definition_id": None}, "job_definition_id", "This field may not be null."),
        ({"job_definition_id": "1001"}, "job_definition_id", "A valid integer is required."),
        ({"job_definition_id": True}, "job_definition_id", "A valid integer is required."),
        ({"account_id": 1}, "account_id", "Must match the account in the URL."),
        ({"project_id": 1}, "project_id", "Must match the project in the URL."),
        ({"project_id": "5678"}, "project_id", "A valid integer is required."),
        ({"state": 3}, "state", '"3" is not a valid choice.'),
        ({"display_value": 1}, "display_value", "Not a valid string."),
    ],
)
def test_invalid_create_bodies_are_400(
    emu: Emulator, env: httpx.Client, changes: dict[str, Any], field: str, error: str | None
) -> None:
    data = envelope(env.post("/", json=override_body(emu, emu.ci_job_id, **changes)), 400)["data"]
    assert list(data) == [field]
    if error is not None:
        assert data[field] == [error]
    assert emu.env_vars() == []


@pytest.mark.parametrize("missing", ["account_id", "project_id", "name", "type", "raw_value", "job_definition_id"])
def test_every_required_create_field_is_required(emu: Emulator, env: httpx.Client, missing: str) -> None:
    body = override_body(emu, emu.ci_job_id)
    del body[missing]
    assert envelope(env.post("/", json=body), 400)["data"] == {missing: ["This field is required."]}


def test_create_errors_are_collected_as_drf_does(emu: Emulator, env: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    assert "JSON parse error" in envelope(env.post("/", content=b"{", headers=headers), 400)["status"]["user_message"]
    assert envelope(env.post("/", json=["DBT_X"]), 400)["data"] == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }
    assert envelope(env.post("/", json={"type": "job", "raw_value": 1}), 400)["data"] == {
        "account_id": ["This field is required."],
        "project_id": ["This field is required."],
        "name": ["This field is required."],
        "raw_value": ["Not a valid string."],
        "job_definition_id": ["This field is required."],
    }


def test_an_override_for_an_unknown_deleted_or_other_projects_job_is_400(emu: Emulator, env: httpx.Client) -> None:
    gone = emu.seed_job("Gone")
    elsewhere = emu.seed_job("Elsewhere", project_id=1)
    with client(emu) as api:
        assert api.delete(f"/jobs/{gone}/").status_code == 200
    for job_id in (424242, gone, elsewhere):
        body = envelope(env.post("/", json=override_body(emu, job_id)), 400)
        assert body["status"]["user_message"] == INVALID
        assert body["data"] == {"job_definition_id": [f'Invalid pk "{job_id}" - object does not exist.']}
    assert emu.env_vars() == []


def test_a_second_override_of_a_name_for_the_same_job_is_400(emu: Emulator, env: httpx.Client) -> None:
    clone = emu.seed_job("Clone")
    first = env.post("/", json=override_body(emu, clone)).json()["data"]
    body = envelope(env.post("/", json=override_body(emu, clone, raw_value="again")), 400)
    assert body["status"]["user_message"] == INVALID
    assert body["data"] == {"reason": "An environment variable by this name already exists for this job"}
    assert overrides(env, clone)["DBT_TARGET"]["job"] == {"id": first["id"], "value": "job_value"}
    # The same name for another job, or another name for this job, is a new override.
    assert env.post("/", json=override_body(emu, emu.ci_job_id)).status_code == 200
    assert env.post("/", json=override_body(emu, clone, "DBT_OTHER")).status_code == 200
    assert len(emu.env_vars()) == 3


def test_project_and_environment_values_can_be_created_too(emu: Emulator, env: httpx.Client) -> None:
    project_body = override_body(emu, None, type="project", raw_value="dev")
    del project_body["job_definition_id"]
    project = env.post("/", json=project_body).json()["data"]
    assert (project["type"], project["environment"], project["job_definition_id"]) == ("project", None, None)
    duplicate = envelope(env.post("/", json=project_body), 400)["data"]
    assert duplicate == {"reason": "An environment variable by this name already exists in this project and account"}
    environment_body = {**project_body, "type": "environment", "environment_id": emu.environment_id, "raw_value": "ci"}
    environment = env.post("/", json=environment_body).json()["data"]
    assert environment["environment_id"] == emu.environment_id
    assert environment["environment"]["id"] == emu.environment_id
    assert environment["environment"]["project_id"] == emu.project_id
    assert envelope(env.post("/", json=environment_body), 400)["data"] == {
        "reason": "An environment variable by this name already exists for this environment"
    }
    unknown = envelope(env.post("/", json={**environment_body, "environment_id": 424242}), 400)["data"]
    assert unknown == {"environment_id": ['Invalid pk "424242" - object does not exist.']}
    assert envelope(env.post("/", json={**project_body, "type": "environment"}), 400)["data"] == {
        "environment_id": ["This field is required."]
    }
    assert overrides(env, emu.ci_job_id)["DBT_TARGET"] == {
        "project": {"id": project["id"], "value": "dev"},
        "environment": {"id": environment["id"], "value": "ci"},
    }


def test_user_values_are_refused_as_the_emulator_has_no_users(emu: Emulator, env: httpx.Client) -> None:
    body = {**override_body(emu, None), "type": "user", "user_id": 7}
    assert envelope(env.post("/", json=body), 400)["data"] == {"user_id": ['Invalid pk "7" - object does not exist.']}
    del body["user_id"]
    assert envelope(env.post("/", json=body), 400)["data"] == {"user_id": ["This field is required."]}


def test_only_admin_tokens_create_overrides_but_every_token_reads_them() -> None:
    config = EmulatorConfig(tokens={"runner": "runner", "reader": "readonly"})
    with Emulator(config) as emu:
        emu.set_env_var("DBT_TARGET", project="dev")
        for token in ("runner", "reader", emu.readonly_token):
            with env_client(emu, token) as env:
                body = envelope(env.post("/", json=override_body(emu, emu.ci_job_id)), 403)
                assert body["status"]["user_message"] == "You do not have permission to perform this action."
                assert overrides(env, emu.ci_job_id)["DBT_TARGET"]["project"]["value"] == "dev"
        assert [value["type"] for value in emu.env_vars()] == ["project"]
        with env_client(emu) as env:
            assert env.post("/", json=override_body(emu, emu.ci_job_id)).status_code == 200


def test_v3_needs_a_token_and_knows_only_its_paths(emu: Emulator, env: httpx.Client) -> None:
    base = f"{emu.url}/api/v3/accounts/{emu.account_id}/projects/{emu.project_id}/environment-variables/"
    envelope(httpx.get(f"{base}job/", params={"job_definition_id": emu.ci_job_id}), 401)
    envelope(httpx.post(base, json={}, headers={"Authorization": "Token nope"}), 401)
    envelope(env.put("/"), 405)
    envelope(env.post("/job/", json={}), 405)
    envelope(env.get("/job"), 404)  # every path ends with "/", as in v2
    envelope(env.get("/environment/"), 404)  # not emulated
    headers = {"Authorization": f"Token {emu.token}"}
    envelope(httpx.get(f"{emu.url}/api/v3/accounts/{emu.account_id}/jobs/", headers=headers), 404)  # v3 has no jobs
    envelope(httpx.get(f"{emu.url}/api/v2/accounts/{emu.account_id}/projects/1/environment-variables/job/"), 401)
    with client(emu) as api:
        envelope(api.get(f"/projects/{emu.project_id}/environment-variables/job/"), 404)  # v3 only


def test_deleting_a_job_drops_its_overrides_and_nothing_else(emu: Emulator, env: httpx.Client) -> None:
    clone = emu.seed_job("Clone")
    kept = emu.set_env_var("DBT_TARGET", project="dev", environment="ci", job_id=emu.ci_job_id, job_value="pr")
    env.post("/", json=override_body(emu, clone))
    env.post("/", json=override_body(emu, clone, "DBT_ENV_SECRET_KEY"))
    with client(emu) as api:
        assert api.delete(f"/jobs/{clone}/").status_code == 200
    envelope(env.get("/job/", params={"job_definition_id": clone}), 404)
    states = {(value["name"], value["type"], value["job_definition_id"]): value["state"] for value in emu.env_vars()}
    assert states == {
        ("DBT_TARGET", "project", None): 1,
        ("DBT_TARGET", "environment", None): 1,
        ("DBT_TARGET", "job", emu.ci_job_id): 1,
        ("DBT_TARGET", "job", clone): 2,
        ("DBT_ENV_SECRET_KEY", "job", clone): 2,
    }
    data = overrides(env, emu.ci_job_id)
    assert data["DBT_TARGET"]["job"] == {"id": kept["job"], "value": "pr"}
    assert "DBT_ENV_SECRET_KEY" not in data  # a variable whose only value was that override is gone
    # A new clone may carry the same overrides again: the deleted ones are no duplicates.
    again = emu.seed_job("Clone again")
    assert env.post("/", json=override_body(emu, again)).status_code == 200


def test_a_job_updated_to_state_2_loses_its_overrides_too(emu: Emulator, env: httpx.Client) -> None:
    with client(emu) as api:
        job = api.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
        emu.set_env_var("DBT_TARGET", job_id=emu.ci_job_id, job_value="pr")
        assert api.post(f"/jobs/{emu.ci_job_id}/", json={**job, "state": 2}).status_code == 200
    assert [value["state"] for value in emu.env_vars()] == [2]


def test_set_env_var_creates_then_replaces_and_defaults_to_the_jobs_project_and_environment(emu: Emulator) -> None:
    elsewhere = emu.seed_job("Elsewhere", project_id=1, environment_id=2)
    first = emu.set_env_var("DBT_X", environment="a", job_id=elsewhere, job_value="j")
    second = emu.set_env_var("DBT_X", environment="b", job_id=elsewhere, job_value="k")
    assert first == second
    assert [(v["project_id"], v["environment_id"], v["value"]) for v in emu.env_vars()] == [(1, 2, "b"), (1, None, "k")]
    with env_client(emu, project_id=1) as there:
        assert overrides(there, elsewhere) == {
            "DBT_X": {
                "environment": {"id": first["environment"], "value": "b"},
                "job": {"id": first["job"], "value": "k"},
            }
        }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "TARGET", "project": "x"}, "must start with DBT_"),
        ({"name": "DBT_X"}, "at least one value"),
        ({"name": "DBT_X", "project": " "}, "non-blank string"),
        ({"name": "DBT_X", "job_id": 1001}, "together"),
        ({"name": "DBT_X", "job_value": "x"}, "together"),
        ({"name": "DBT_X", "job_id": 424242, "job_value": "x"}, "not a live job"),
        ({"name": "DBT_X", "job_id": 1001, "job_value": "x", "project_id": 1}, "belongs to project"),
    ],
)
def test_set_env_var_refuses_what_dbt_cloud_would(emu: Emulator, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        emu.set_env_var(**kwargs)
    assert emu.env_vars() == []


def test_answer_shapes_bend_data_for_bad_input_tests(emu: Emulator, env: httpx.Client) -> None:
    ids = emu.set_env_var("DBT_TARGET", project="dev", job_id=emu.ci_job_id, job_value="pr")
    emu.set_env_answer_shape("list")
    assert overrides(env, emu.ci_job_id) == [
        {
            "name": "DBT_TARGET",
            "project": {"id": ids["project"], "value": "dev"},
            "job": {"id": ids["job"], "value": "pr"},
        }
    ]
    emu.set_env_answer_shape("null")
    assert overrides(env, emu.ci_job_id) is None
    emu.set_env_answer_shape("null_scopes")
    assert overrides(env, emu.ci_job_id) == {
        "DBT_TARGET": {
            "project": {"id": ids["project"], "value": "dev"},
            "environment": None,
            "job": {"id": ids["job"], "value": "pr"},
        }
    }
    emu.set_env_answer_shape("null_values")
    assert overrides(env, emu.ci_job_id) == {
        "DBT_TARGET": {"project": {"id": ids["project"], "value": None}, "job": {"id": ids["job"], "value": None}}
    }
    emu.set_env_answer_shape("mapping")
    assert overrides(env, emu.ci_job_id)["DBT_TARGET"]["job"]["value"] == "pr"
    with pytest.raises(ValueError, match="unknown answer shape"):
        emu.set_env_answer_shape("tuple")
    # Errors keep their shape whatever the knob says.
    emu.set_env_answer_shape("list")
    assert envelope(env.get("/job/"), 400)["data"] == {"job_definition_id": ["This field is required."]}


def test_faults_and_the_request_log_cover_v3_paths(emu: Emulator, env: httpx.Client) -> None:
    emu.inject(status=503, path=r"/api/v3/.*/environment-variables/job/$")
    emu.inject(kind="drop", method="POST", path=r"/environment-variables/$")
    emu.inject(kind="drop_after", method="POST", path=r"/environment-variables/$")
    assert env.get("/job/", params={"job_definition_id": emu.ci_job_id}).status_code == 503
    assert overrides(env, emu.ci_job_id) == {}
    with pytest.raises(httpx.RemoteProtocolError):
        env.post("/", json=override_body(emu, emu.ci_job_id))
    assert emu.env_vars() == []  # dropped before processing
    with pytest.raises(httpx.RemoteProtocolError):
        env.post("/", json=override_body(emu, emu.ci_job_id))
    assert [value["value"] for value in emu.env_vars()] == ["job_value"]  # processed, then dropped
    log = emu.requests()
    prefix = f"/api/v3/accounts/{emu.account_id}/projects/{emu.project_id}/environment-variables/"
    assert [(e["method"], e["path"], e["status"], e["fault"]) for e in log] == [
        ("GET", f"{prefix}job/", 503, "503"),
        ("GET", f"{prefix}job/", 200, None),
        ("POST", prefix, None, "drop"),
        ("POST", prefix, None, "drop_after"),
    ]
    assert log[1]["query"] == {"job_definition_id": [str(emu.ci_job_id)]}
    assert log[3]["body"] == override_body(emu, emu.ci_job_id)


def test_admin_endpoints_seed_and_shape_env_vars(emu: Emulator, env: httpx.Client) -> None:
    seeded = admin(emu, "POST", "env_vars", {"name": "DBT_TARGET", "job_id": emu.ci_job_id, "job_value": "pr"})
    assert seeded.status_code == 200
    job_value_id = seeded.json()["data"]["job"]
    assert admin(emu, "POST", "env_answer_shape", {"shape": "null"}).status_code == 200
    assert overrides(env, emu.ci_job_id) is None
    assert admin(emu, "POST", "env_answer_shape", {"shape": "square"}).status_code == 400
    assert admin(emu, "POST", "env_vars", {"name": "nope", "project": "x"}).status_code == 400
    state = admin(emu, "GET", "state").json()["data"]
    assert [(value["id"], value["value"]) for value in state["env_vars"]] == [(job_value_id, "pr")]


def test_an_override_can_be_set_anew_and_deleted_by_id(emu: Emulator, env: httpx.Client) -> None:
    job_id = emu.ci_job_id
    created = env.post("/", json=override_body(emu, job_id, raw_value="old")).json()["data"]
    var_id = created["id"]
    changed = env.post(f"/{var_id}/", json=override_body(emu, job_id, id=var_id, raw_value="new"))
    assert changed.status_code == 200, changed.text
    assert overrides(env, job_id)["DBT_TARGET"]["job"] == {"id": var_id, "value": "new"}
    renamed = env.post(f"/{var_id}/", json=override_body(emu, job_id, id=var_id, name="DBT_OTHER"))
    assert renamed.status_code == 400
    assert env.delete(f"/{var_id}/").status_code == 204
    assert "DBT_TARGET" not in overrides(env, job_id)
    assert env.delete(f"/{var_id}/").status_code == 404
    assert env.post("/999999/", json=override_body(emu, job_id, id=999999)).status_code == 404


def test_an_update_must_carry_the_values_own_id(emu: Emulator, env: httpx.Client) -> None:
    job_id = emu.ci_job_id
    var_id = env.post("/", json=override_body(emu, job_id, raw_value="old")).json()["data"]["id"]
    for given in ({}, {"id": var_id + 1}, {"id": None}, {"id": str(var_id)}):
        body = envelope(env.post(f"/{var_id}/", json=override_body(emu, job_id, raw_value="new", **given)), 400)
        assert (body["data"], body["extra"], body["error_code"]) == (
            {"id": "The provided id does not match."},
            {},
            None,
        )
    assert overrides(env, job_id)["DBT_TARGET"]["job"]["value"] == "old"
    # An unknown id is not found, whatever the body says.
    envelope(env.post("/999999/", json=override_body(emu, job_id)), 404)


def test_the_token_lists_its_one_account_or_what_a_test_lists() -> None:
    with Emulator(EmulatorConfig()) as emu:
        url = f"{emu.url}/api/v3/accounts/"
        auth = {"Authorization": f"Token {emu.token}"}
        listed = httpx.get(url, headers=auth).json()["data"]
        assert [account["id"] for account in listed] == [emu.account_id]
        emu.set_listed_accounts([{"id": 1, "name": "A"}, {"id": 2, "name": "B"}])
        assert [account["id"] for account in httpx.get(url, headers=auth).json()["data"]] == [1, 2]
        assert httpx.get(url).status_code == 401
        assert httpx.post(url, headers=auth).status_code == 405
