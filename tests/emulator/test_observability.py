"""The request log, the state readers and the `/_emulator/` admin endpoints."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from dbt_cloud_emulator import Emulator, EmulatorConfig, caller_id

from .helpers import admin, client, trigger


def test_request_log_records_each_api_request(emu: Emulator, api: httpx.Client) -> None:
    trigger(api, emu.ci_job_id or 0, github_pull_request_id=3)
    api.get("/runs/", params={"status__in": "[1,2,3]", "limit": 5})
    api.post(f"/jobs/{emu.ci_job_id}/run/", content=b"not json", headers={"Content-Type": "application/json"})
    httpx.get(f"{emu.url}/_emulator/state")  # admin calls stay out of the log
    posted, listed, bad = emu.requests()
    assert posted["method"] == "POST"
    assert posted["path"] == f"/api/v2/accounts/{emu.account_id}/jobs/{emu.ci_job_id}/run/"
    assert posted["body"] == {"cause": "test", "github_pull_request_id": 3}
    assert (posted["status"], posted["fault"]) == (200, None)
    assert posted["emulated_at"].endswith("+00:00")
    assert listed["query"] == {"status__in": ["[1,2,3]"], "limit": ["5"]}
    assert listed["body"] is None
    assert (bad["status"], bad["body"]) == (400, "not json")
    assert [e["seq"] for e in (posted, listed, bad)] == [1, 2, 3]
    assert posted["timestamp"] <= listed["timestamp"] <= bad["timestamp"]


def test_request_log_file(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    with Emulator(EmulatorConfig(log_path=str(path))) as emu, client(emu) as api:
        api.get("/")
        emu.inject(kind="drop")
        with pytest.raises(httpx.RemoteProtocolError):
            api.get("/jobs/")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["method"], e["status"], e["fault"]) for e in lines] == [("GET", 200, None), ("GET", None, "drop")]


def test_request_log_keeps_the_newest(tmp_path: Path) -> None:
    with Emulator(EmulatorConfig(request_log_limit=2)) as emu, client(emu) as api:
        for _ in range(4):
            api.get("/")
        assert [e["seq"] for e in emu.requests()] == [3, 4]


def test_state_readers_return_copies(emu: Emulator, api: httpx.Client) -> None:
    trigger(api, emu.ci_job_id or 0)
    emu.runs()[0]["status"] = 99
    emu.jobs()[0]["name"] = "changed"
    emu.account()["run_slots"] = 99
    emu.requests()[0]["status"] = 1
    assert emu.runs()[0]["status"] != 99
    assert emu.jobs()[0]["name"] == "CI"
    assert emu.account()["run_slots"] == 2
    assert emu.requests()[0]["status"] == 200
    assert "trigger" in emu.runs()[0]
    assert emu.now() > 0


def test_admin_endpoints_drive_the_emulator(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = admin(frozen, "POST", "jobs", {"name": "Seeded", "run_seconds": 5}).json()["data"]["id"]
    assert admin(frozen, "POST", "outcome", {"outcome": "error", "job_id": job_id}).status_code == 200
    assert admin(frozen, "POST", "timing", {"start_seconds": 1}).status_code == 200
    account = admin(frozen, "POST", "account", {"run_slots": 4}).json()["data"]
    assert account["run_slots"] == 4
    run_id = trigger(fapi, job_id)["id"]
    assert admin(frozen, "POST", "advance", {"seconds": 6}).status_code == 200
    state = admin(frozen, "GET", "state").json()["data"]
    assert state["idle"] is True
    assert [r["status"] for r in state["runs"] if r["id"] == run_id] == [20]
    assert {j["id"] for j in state["jobs"]} == {frozen.ci_job_id, job_id}
    assert state["account"]["run_slots"] == 4
    assert state["requests"][0]["method"] == "POST"
    assert admin(frozen, "POST", "faults", {"status": 502, "count": 2, "path": "/runs/"}).status_code == 200
    assert admin(frozen, "GET", "state").json()["data"]["pending_faults"] == 2
    assert fapi.get("/runs/").status_code == 502
    assert admin(frozen, "DELETE", "faults").status_code == 200
    assert fapi.get("/runs/").status_code == 200
    held = trigger(fapi, job_id)["id"]
    assert admin(frozen, "POST", "hold", {"run_id": held}).status_code == 200
    frozen.advance(60)
    assert {r["id"]: r["status"] for r in frozen.runs()}[held] == 3
    assert admin(frozen, "POST", "release", {"run_id": held}).status_code == 200
    assert {r["id"]: r["status"] for r in frozen.runs()}[held] == 20
    assert admin(frozen, "POST", "faults/rate", {"rate": 1.0, "kinds": ["503"]}).status_code == 200
    assert fapi.get("/runs/").status_code == 503


def test_admin_errors(emu: Emulator) -> None:
    assert admin(emu, "GET", "nothing").status_code == 404
    assert admin(emu, "POST", "state").status_code == 404
    assert admin(emu, "POST", "account", {"colour": "blue"}).status_code == 400
    assert admin(emu, "POST", "outcome", {"outcome": "maybe"}).status_code == 400
    assert admin(emu, "POST", "jobs", ["not", "an", "object"]).status_code == 400
    assert admin(emu, "POST", "advance", {"minutes": 1}).status_code == 400


def test_start_and_stop_guards() -> None:
    emu = Emulator(EmulatorConfig(seed_ci_job=False))
    assert emu.ci_job_id is None
    assert emu.jobs() == []
    with pytest.raises(RuntimeError, match="not started"):
        _ = emu.url
    emu.stop()  # stopping a stopped emulator is harmless
    with emu:
        with pytest.raises(RuntimeError, match="already started"):
            emu.start()
        with emu as same:
            assert same is emu
    emu.stop()


def test_clock_and_durations_helpers() -> None:
    from dbt_cloud_emulator.clock import Clock, hms, humanize, iso

    clock = Clock(speed=0, origin=0)
    clock.advance(3723.5)
    assert clock.now() == 3723.5
    assert iso(clock.now()) == "1970-01-01 01:02:03.500000+00:00"
    assert iso(None) is None
    assert hms(3723.5) == "01:02:03"
    assert humanize(3723) == "1 hour, 2 minutes, 3 seconds"
    assert humanize(0) == "0 seconds"
    with pytest.raises(ValueError, match="speed"):
        Clock(speed=-1)
    with pytest.raises(ValueError, match="seconds"):
        clock.advance(-1)


def test_request_log_tells_callers_apart_without_keeping_tokens() -> None:
    with Emulator(EmulatorConfig(tokens={"second-token": "admin"})) as emu:
        httpx.get(f"{emu.url}/api/v2/accounts/{emu.account_id}/", headers={"Authorization": f"Token {emu.token}"})
        httpx.get(f"{emu.url}/api/v2/accounts/{emu.account_id}/", headers={"Authorization": "Bearer second-token"})
        httpx.get(f"{emu.url}/api/v2/accounts/{emu.account_id}/")
        first, second, anonymous = emu.requests()
    assert first["caller"] == caller_id(emu.token)
    assert second["caller"] == caller_id("second-token")
    assert first["caller"] != second["caller"]
    assert anonymous["caller"] is None
    assert emu.token not in json.dumps([first, second])
