"""Shared helpers for the emulator tests."""

from __future__ import annotations

from typing import Any

import httpx

from dbt_cloud_emulator import Emulator


def client(emu: Emulator, token: str | None = None, *, scheme: str = "Token") -> httpx.Client:
    """An httpx client rooted at the emulator's account, authenticated with the admin token by default."""
    headers = {"Authorization": f"{scheme} {token or emu.token}"}
    return httpx.Client(base_url=f"{emu.url}/api/v2/accounts/{emu.account_id}", headers=headers, timeout=10)


def admin(emu: Emulator, method: str, path: str, body: Any = None) -> httpx.Response:
    """Call an `/_emulator/` control endpoint."""
    return httpx.request(method, f"{emu.url}/_emulator/{path}", json=body)


def trigger(api: httpx.Client, job_id: int, **body: Any) -> dict[str, Any]:
    """Trigger a run and return its data, asserting success."""
    response = api.post(f"/jobs/{job_id}/run/", json={"cause": "test", **body})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def run(api: httpx.Client, run_id: int, **params: Any) -> dict[str, Any]:
    """Fetch one run's data."""
    response = api.get(f"/runs/{run_id}/", params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def statuses(emu: Emulator) -> dict[int, int]:
    """Run id -> status, straight from the emulator."""
    return {r["id"]: r["status"] for r in emu.runs()}


def env_client(emu: Emulator, token: str | None = None, *, project_id: int | None = None) -> httpx.Client:
    """An httpx client rooted at a project's v3 environment variables, the admin token by default."""
    project = emu.project_id if project_id is None else project_id
    base = f"{emu.url}/api/v3/accounts/{emu.account_id}/projects/{project}/environment-variables"
    return httpx.Client(base_url=base, headers={"Authorization": f"Token {token or emu.token}"}, timeout=10)


def results(api: httpx.Client, run_id: int, step: int | None = None) -> list[dict[str, Any]]:
    """A finished run's run_results.json results (of its last step by default)."""
    params = {} if step is None else {"step": step}
    response = api.get(f"/runs/{run_id}/artifacts/run_results.json", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["results"]
    return found
