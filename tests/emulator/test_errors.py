"""Auth, not-found, bad-body and locked-account answers, all in dbt Cloud's error envelope."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator, EmulatorConfig
from dbt_cloud_emulator.endpoints import Api

from .helpers import admin, client, trigger


def envelope(response: httpx.Response, code: int) -> dict[str, Any]:
    """Assert the error envelope and return it."""
    assert response.status_code == code, response.text
    body: dict[str, Any] = response.json()
    assert body["status"]["code"] == code
    assert body["status"]["is_success"] is False
    assert body["status"]["user_message"]
    assert body["status"]["developer_message"] == ""
    return body


def test_missing_and_invalid_tokens_are_401(emu: Emulator) -> None:
    base = f"{emu.url}/api/v2/accounts/{emu.account_id}/"
    assert envelope(httpx.get(base), 401)["data"] is None
    assert envelope(httpx.get(base, headers={"Authorization": "Token nope"}), 401)["status"]["user_message"] == (
        "Invalid token."
    )
    envelope(httpx.get(base, headers={"Authorization": f"Basic {emu.token}"}), 401)
    envelope(httpx.get(f"{emu.url}/api/v2/accounts/999/", headers={"Authorization": "Token nope"}), 401)


def test_token_and_bearer_are_equivalent(emu: Emulator) -> None:
    for scheme in ("Token", "Bearer", "token"):
        with client(emu, scheme=scheme) as api:
            assert api.get("/").json()["data"]["id"] == emu.account_id


def test_readonly_token_reads_but_cannot_write(emu: Emulator, api: httpx.Client) -> None:
    run_id = trigger(api, emu.ci_job_id or 0)["id"]
    with client(emu, emu.readonly_token) as ro:
        assert ro.get("/runs/").status_code == 200
        assert ro.get(f"/jobs/{emu.ci_job_id}/").status_code == 200
        envelope(ro.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "x"}), 403)
        envelope(ro.post(f"/runs/{run_id}/cancel/"), 403)
        envelope(ro.delete(f"/jobs/{emu.ci_job_id}/"), 403)
        envelope(ro.post("/jobs/", json={}), 403)
    assert len(emu.runs()) == 1


def test_extra_tokens_with_roles() -> None:
    config = EmulatorConfig(tokens={"reader": "readonly", "writer": "admin"}, readonly_token=None)
    with Emulator(config) as emu, client(emu, "writer") as writer, client(emu, "reader") as reader:
        assert writer.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "x"}).status_code == 200
        assert reader.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "x"}).status_code == 403


def test_a_job_runner_token_triggers_and_cancels_but_cannot_change_jobs() -> None:
    with Emulator(EmulatorConfig(tokens={"runner": "runner"})) as emu, client(emu, "runner") as runner:
        run_id = trigger(runner, emu.ci_job_id or 0)["id"]
        assert runner.post(f"/runs/{run_id}/cancel/").status_code == 200
        job = runner.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
        envelope(runner.post("/jobs/", json=job), 403)
        envelope(runner.post(f"/jobs/{emu.ci_job_id}/", json=job), 403)
        envelope(runner.delete(f"/jobs/{emu.ci_job_id}/"), 403)
        assert [j["state"] for j in emu.jobs()] == [1]


def test_unknown_token_role_is_rejected() -> None:
    with pytest.raises(ValueError, match="roles"):
        Emulator(EmulatorConfig(tokens={"t": "owner"}))


def test_not_found(emu: Emulator, api: httpx.Client) -> None:
    headers = {"Authorization": f"Token {emu.token}"}
    envelope(httpx.get(f"{emu.url}/api/v2/accounts/999/runs/", headers=headers), 404)
    envelope(httpx.get(f"{emu.url}/api/v3/accounts/{emu.account_id}/", headers=headers), 404)
    envelope(httpx.get(f"{emu.url}/elsewhere", headers=headers), 404)
    envelope(api.get("/nothing-here/"), 404)
    envelope(api.get("/runs"), 404)  # every path ends with "/"
    envelope(api.get("/jobs/424242/"), 404)
    envelope(api.post("/jobs/424242/run/", json={"cause": "x"}), 404)
    envelope(api.get("/runs/424242/"), 404)
    envelope(api.post("/runs/424242/cancel/"), 404)
    envelope(api.get("/runs/424242/artifacts/"), 404)
    envelope(api.delete("/jobs/424242/"), 404)


def test_wrong_method_is_405(api: httpx.Client) -> None:
    envelope(api.put("/jobs/"), 405)
    envelope(api.patch("/runs/"), 405)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cause": "x", "github_pull_request_id": "2"}, "github_pull_request_id"),
        ({"cause": "x", "gitlab_merge_request_id": 1.5}, "gitlab_merge_request_id"),
        ({"cause": "x", "threads_override": True}, "threads_override"),
        ({"cause": "x", "generate_docs_override": "yes"}, "generate_docs_override"),
        ({"cause": "x", "steps_override": "dbt build"}, "steps_override"),
        ({"cause": "x", "steps_override": ["dbt build", ""]}, "steps_override"),
        ({"cause": "x", "git_sha": 123}, "git_sha"),
        ({"cause": "x", "schema_override": "  "}, "schema_override"),
        ({"git_sha": "abc"}, "cause"),
        ({"cause": ""}, "cause"),
        ({"cause": None}, "cause"),
    ],
)
def test_invalid_trigger_bodies_are_400(emu: Emulator, api: httpx.Client, body: dict[str, Any], field: str) -> None:
    data = envelope(api.post(f"/jobs/{emu.ci_job_id}/run/", json=body), 400)["data"]
    assert field in data
    assert emu.runs() == []


def test_trigger_error_messages_follow_drf(emu: Emulator, api: httpx.Client) -> None:
    body = {"github_pull_request_id": "2", "steps_override": ["ok", ""]}
    data = envelope(api.post(f"/jobs/{emu.ci_job_id}/run/", json=body), 400)["data"]
    assert data == {
        "cause": ["This field is required."],
        "github_pull_request_id": ["A valid integer is required."],
        "steps_override": {"1": ["This field may not be blank."]},
    }


def test_optional_trigger_fields_may_be_null(emu: Emulator, api: httpx.Client) -> None:
    run = trigger(api, emu.ci_job_id or 0, git_sha=None, github_pull_request_id=None, steps_override=None)
    assert run["trigger"]["github_pull_request_id"] is None


def test_invalid_json_and_non_object_bodies_are_400(emu: Emulator, api: httpx.Client) -> None:
    url = f"/jobs/{emu.ci_job_id}/run/"
    headers = {"Content-Type": "application/json"}
    assert (
        "JSON parse error" in envelope(api.post(url, content=b"{nope", headers=headers), 400)["status"]["user_message"]
    )
    assert "non_field_errors" in envelope(api.post(url, json=["cause"]), 400)["data"]
    assert "cause" in envelope(api.post(url), 400)["data"]


def test_locked_account_refuses_triggers(emu: Emulator, api: httpx.Client) -> None:
    emu.set_account(locked=True, lock_reason="Payment overdue")
    body = envelope(api.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "x"}), 403)
    assert "locked" in body["status"]["user_message"]
    assert "Payment overdue" in body["status"]["user_message"]
    account = api.get("/").json()["data"]
    assert account["locked"] is True
    assert account["lock_reason"] == "Payment overdue"
    emu.set_account(locked=False, lock_reason=None)
    trigger(api, emu.ci_job_id or 0)


def test_locked_account_without_reason(emu: Emulator, api: httpx.Client) -> None:
    emu.set_account(locked=True)
    envelope(api.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "x"}), 403)


def test_set_account_rejects_unknown_fields(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="unknown account fields"):
        emu.set_account(colour="blue")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "101"},
        {"limit": "0"},
        {"offset": "-1"},
        {"limit": "ten"},
        {"status": "queued"},
        {"status__in": "[1,x]"},
        {"order_by": "name"},
        {"job_definition_id": "abc"},
    ],
)
def test_invalid_list_parameters_are_400(api: httpx.Client, params: dict[str, str]) -> None:
    envelope(api.get("/runs/", params=params), 400)


def test_invalid_job_list_state_is_400(api: httpx.Client) -> None:
    envelope(api.get("/jobs/", params={"state": "gone"}), 400)
    envelope(api.get("/jobs/", params={"order_by": "colour"}), 400)


def test_unexpected_errors_answer_500(emu: Emulator, api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self: Api, req: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(Api, "get_account", boom)
    body = api.get("/").json()
    assert body["status"]["code"] == 500
    assert "kaboom" in body["status"]["developer_message"]


NOT_FOUND_OR_NO_PERMISSION = "The requested resource was not found. Please check that you have the proper permissions."


def test_a_missing_permission_can_answer_404_as_dbt_cloud_often_does() -> None:
    config = EmulatorConfig(tokens={"runner": "runner"}, refusal_status=404)
    with Emulator(config) as emu, client(emu, "runner") as runner, client(emu, emu.readonly_token) as ro:
        job = runner.get(f"/jobs/{emu.ci_job_id}/").json()["data"]
        for refused in (
            runner.post("/jobs/", json=job),
            runner.post(f"/jobs/{emu.ci_job_id}/", json=job),
            runner.delete(f"/jobs/{emu.ci_job_id}/"),
            ro.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "x"}),
        ):
            assert envelope(refused, 404)["status"]["user_message"] == NOT_FOUND_OR_NO_PERMISSION
        # A thing that does not exist keeps its plain wording.
        with client(emu) as api:
            assert (
                envelope(api.get("/jobs/424242/"), 404)["status"]["user_message"] == "Job definition 424242 not found."
            )
        assert trigger(runner, emu.ci_job_id or 0)["status"] == 1  # what the role may do is untouched
        emu.set_refusal_status(403)
        body = envelope(runner.delete(f"/jobs/{emu.ci_job_id}/"), 403)
        assert body["status"]["user_message"] == "You do not have permission to perform this action."
        assert [j["state"] for j in emu.jobs()] == [1]


def test_refusal_status_is_403_by_default_and_only_403_or_404() -> None:
    assert EmulatorConfig().refusal_status == 403
    for bad in (401, 500, "404", True):
        with pytest.raises(ValueError, match="refusal status"):
            EmulatorConfig(refusal_status=bad)  # type: ignore[arg-type]
    with Emulator(EmulatorConfig(seed_ci_job=False)) as emu:
        with pytest.raises(ValueError, match="refusal status"):
            emu.set_refusal_status(400)
        assert admin(emu, "POST", "refusal_status", {"status": 418}).status_code == 400
        assert admin(emu, "POST", "refusal_status", {"status": 404}).status_code == 200
        with client(emu, emu.readonly_token) as ro:
            envelope(ro.post("/jobs/", json={}), 404)


def test_a_tokens_role_can_change_while_serving() -> None:
    with Emulator(EmulatorConfig(tokens={"ci": "admin"})) as emu, client(emu, "ci") as ci:
        first = trigger(ci, emu.ci_job_id or 0)["id"]
        emu.set_role("ci", "readonly")  # the permission revoked mid-run
        envelope(ci.post(f"/runs/{first}/cancel/"), 403)
        assert ci.get(f"/runs/{first}/").status_code == 200
        assert admin(emu, "POST", "role", {"token": "ci", "role": "runner"}).status_code == 200
        assert ci.post(f"/runs/{first}/cancel/").status_code == 200
        envelope(ci.delete(f"/jobs/{emu.ci_job_id}/"), 403)
        emu.set_role("ci", "admin")
        assert ci.delete(f"/jobs/{emu.ci_job_id}/").status_code == 200
        with pytest.raises(ValueError, match="role"):
            emu.set_role("ci", "owner")
        with pytest.raises(ValueError, match="unknown token"):
            emu.set_role("never-issued", "admin")
        assert admin(emu, "POST", "role", {"token": "ci", "role": "owner"}).status_code == 400
        with client(emu, "never-issued") as stranger:
            envelope(stranger.get("/"), 401)


def test_a_token_of_its_own_can_be_let_in_with_a_role(emu: Emulator) -> None:
    emu.add_token("dbtu_personal_token", "runner")
    with client(emu, "dbtu_personal_token") as personal:
        assert personal.get("/").status_code == 200
        assert personal.post("/jobs/", json={}).status_code == 403
    with pytest.raises(ValueError, match="blank"):
        emu.add_token("  ", "admin")
