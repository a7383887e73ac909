"""Injected faults and latency: what the client sees, and what happens (or not) to the state."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator, EmulatorConfig

from .helpers import client


def test_scripted_status_faults_match_method_and_path(emu: Emulator, api: httpx.Client) -> None:
    emu.inject(status=503, count=2, method="get", path=r"/runs/$")
    assert emu.faults.pending() == 2
    assert api.get("/").status_code == 200
    assert api.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "x"}).status_code == 200
    first = api.get("/runs/")
    assert first.status_code == 503
    assert first.headers["content-type"] == "text/html"
    assert "Service Unavailable" in first.text
    assert "retry-after" not in first.headers
    assert api.get("/runs/").status_code == 503
    assert api.get("/runs/").status_code == 200
    assert emu.faults.pending() == 0
    faults = [(r["path"].rsplit("/", 2)[-2], r["status"], r["fault"]) for r in emu.requests()]
    assert faults[-3:] == [("runs", 503, "503"), ("runs", 503, "503"), ("runs", 200, None)]


def test_429_with_and_without_retry_after(emu: Emulator, api: httpx.Client) -> None:
    emu.inject(status=429, retry_after=2)
    emu.inject(status=429, retry_after=0.5)
    emu.inject(kind="429_no_retry_after")
    emu.inject(kind="429")
    limited = api.get("/")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.json()["status"]["is_success"] is False
    assert api.get("/").headers["retry-after"] == "0.5"
    bare = api.get("/")
    assert bare.status_code == 429
    assert "retry-after" not in bare.headers
    assert api.get("/").headers["retry-after"] == "1"  # the configured default
    assert api.get("/").status_code == 200


def test_500_is_json_and_502_is_html(emu: Emulator, api: httpx.Client) -> None:
    emu.inject(status=500)
    emu.inject(kind="502")
    server_error = api.get("/")
    assert server_error.status_code == 500
    assert server_error.json()["status"]["code"] == 500
    gateway = api.get("/")
    assert gateway.status_code == 502
    assert "Bad Gateway" in gateway.text


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 429, "retry_after": 1}, {"kind": "drop"}])
def test_a_fault_before_processing_changes_nothing(emu: Emulator, api: httpx.Client, fault: dict[str, Any]) -> None:
    emu.inject(method="POST", path=r"/run/$", **fault)
    try:
        response = api.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "x"})
        assert response.status_code != 200
    except httpx.RemoteProtocolError:
        assert fault == {"kind": "drop"}
    assert emu.runs() == []
    emu.inject(kind="drop", path="/jobs/")
    with pytest.raises(httpx.RemoteProtocolError):
        api.delete(f"/jobs/{emu.ci_job_id}/")
    assert emu.jobs()[0]["state"] == 1
    last = emu.requests()[-1]
    assert (last["status"], last["fault"]) == (None, "drop")


def test_drop_after_applies_the_change(emu: Emulator, api: httpx.Client) -> None:
    emu.inject(kind="drop_after", method="POST", path=r"/jobs/\d+/run/$")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(f"/jobs/{emu.ci_job_id}/run/", json={"cause": "ambiguous", "github_pull_request_id": 9})
    runs = emu.runs()
    assert len(runs) == 1
    assert runs[0]["trigger"]["github_pull_request_id"] == 9
    last = emu.requests()[-1]
    assert (last["method"], last["status"], last["fault"]) == ("POST", None, "drop_after")
    # The connection was closed, not the server: the next request works.
    assert api.get("/runs/").json()["extra"]["pagination"]["total_count"] == 1


def test_slow_answers_late_but_correctly(emu: Emulator, api: httpx.Client) -> None:
    emu.inject(kind="slow", delay_seconds=0.2, path="/runs/")
    started = time.monotonic()
    response = api.get("/runs/")
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
    assert emu.requests()[-1]["fault"] == "slow"


def test_slow_times_out_a_client(emu: Emulator, api: httpx.Client) -> None:
    emu.inject(kind="slow", delay_seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        api.get("/", timeout=0.05)


def test_latency_is_added_to_every_api_request() -> None:
    with Emulator(EmulatorConfig(latency_seconds=0.05)) as emu, client(emu) as api:
        started = time.monotonic()
        for _ in range(3):
            assert api.get("/").status_code == 200
        assert time.monotonic() - started >= 0.15


def sequence(seed: int, rate: float = 0.5) -> list[object]:
    """The status (or the error class) of 30 GETs under a random fault rate."""
    config = EmulatorConfig(seed=seed, fault_rate=rate, fault_kinds=("429", "500", "503", "drop"))
    seen: list[object] = []
    with Emulator(config) as emu, client(emu) as api:
        for _ in range(30):
            try:
                seen.append(api.get("/").status_code)
            except httpx.RemoteProtocolError:
                seen.append("drop")
        assert [r["status"] or "drop" for r in emu.requests()] == seen
    return seen


def test_seeded_fault_rate_is_reproducible() -> None:
    first = sequence(3)
    assert first == sequence(3)
    assert {200, 429, 500, 503, "drop"} <= set(first)
    assert first != sequence(4)


def test_fault_rate_one_fails_everything_and_clear_stops_it() -> None:
    with Emulator(EmulatorConfig(fault_rate=1.0, fault_kinds=("500",))) as emu, client(emu) as api:
        assert {api.get("/").status_code for _ in range(5)} == {500}
        emu.clear_faults()
        assert api.get("/").status_code == 200
        emu.set_fault_rate(1.0, ["502"])
        assert api.get("/").status_code == 502
        emu.set_fault_rate(0.0)
        assert api.get("/").status_code == 200


def test_invalid_fault_settings() -> None:
    with pytest.raises(ValueError, match="fault kinds"):
        EmulatorConfig(fault_kinds=("teapot",))
    with pytest.raises(ValueError, match=r"0\.\.1"):
        EmulatorConfig(fault_rate=2)
    with pytest.raises(ValueError, match=">= 0"):
        EmulatorConfig(run_slots=-1)
    with pytest.raises(ValueError, match=">= 0"):
        EmulatorConfig(speed=-1)
    emu = Emulator(EmulatorConfig(fault_kinds=()))
    with pytest.raises(ValueError, match="at least one"):
        emu.set_fault_rate(0.5)
    with pytest.raises(ValueError, match="within"):
        emu.set_fault_rate(1.5)
    with pytest.raises(ValueError, match="status or a kind"):
        emu.inject()
    with pytest.raises(ValueError, match="unknown fault kind"):
        emu.inject(kind="teapot")
    with pytest.raises(ValueError, match="count"):
        emu.inject(status=500, count=0)


def test_admin_endpoints_are_never_faulted(emu: Emulator) -> None:
    emu.set_fault_rate(1.0, ["500"])
    assert httpx.get(f"{emu.url}/_emulator/state").status_code == 200


def test_server_ignores_clients_that_hung_up(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    server = emu._server
    assert server is not None
    try:
        raise BrokenPipeError
    except BrokenPipeError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert capsys.readouterr().err == ""
    try:
        raise KeyError("real bug")
    except KeyError:
        server.handle_error(None, ("127.0.0.1", 1))
    assert "real bug" in capsys.readouterr().err


def test_an_outage_fails_every_matching_request_until_the_clock_passes_its_end(
    frozen: Emulator, fapi: httpx.Client
) -> None:
    frozen.outage(50, 503, method="GET", path=r"/runs/\d+/$")
    run_id = fapi.post(f"/jobs/{frozen.ci_job_id}/run/", json={"cause": "x"}).json()["data"]["id"]
    for _ in range(5):  # however many requests, while the clock stands still
        assert fapi.get(f"/runs/{run_id}/").status_code == 503
    assert fapi.get("/runs/").status_code == 200  # other paths answer
    assert frozen.faults.pending() == 1
    frozen.advance(49)
    assert fapi.get(f"/runs/{run_id}/").status_code == 503
    frozen.advance(1)
    assert fapi.get(f"/runs/{run_id}/").status_code == 200
    assert frozen.faults.pending() == 0


def test_a_dropped_connection_outage_and_its_bad_input(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.outage(10, kind="drop", path=r"/$")
    with pytest.raises(httpx.TransportError):
        fapi.get("/")
    frozen.advance(10)
    assert fapi.get("/").status_code == 200
    with pytest.raises(ValueError, match="seconds must be > 0"):
        frozen.outage(0)
    with pytest.raises(ValueError, match="give a status or a kind"):
        frozen.outage(5, None)


def test_over_the_rate_limit_every_request_is_429_without_retry_after_for_five_minutes(
    frozen: Emulator, fapi: httpx.Client
) -> None:
    frozen.rate_limit()
    limited = fapi.get("/")
    assert limited.status_code == 429 and "retry-after" not in limited.headers
    assert fapi.post(f"/jobs/{frozen.ci_job_id}/run/", json={"cause": "x"}).status_code == 429
    frozen.advance(299)
    assert fapi.get("/runs/").status_code == 429
    frozen.advance(1)
    assert fapi.get("/").status_code == 200
