"""Run artifacts: listed and served once a run has finished, with node statuses that match its outcome."""

from __future__ import annotations

import httpx

from autoscale_ci.emulator import Emulator

from .helpers import trigger


def finished_run(frozen: Emulator, api: httpx.Client, sha: str) -> int:
    """Trigger a run and play it to the end."""
    run_id = int(trigger(api, frozen.ci_job_id or 0, git_sha=sha)["id"])
    frozen.advance(70)
    return run_id


def test_success_run_results(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = finished_run(frozen, fapi, "good")
    assert fapi.get(f"/runs/{run_id}/artifacts/").json()["data"] == ["manifest.json", "run_results.json"]
    response = fapi.get(f"/runs/{run_id}/artifacts/run_results.json")
    assert response.status_code == 200
    doc = response.json()
    assert "status" not in doc  # the file itself, not an envelope
    assert doc["metadata"]["dbt_schema_version"].endswith("run-results/v6.json")
    assert doc["metadata"]["env"]["DBT_CLOUD_RUN_ID"] == str(run_id)
    assert doc["elapsed_time"] == 60
    assert {r["status"] for r in doc["results"]} == {"success", "pass"}
    assert all(r["unique_id"] and r["timing"] for r in doc["results"])


def test_error_run_results(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("error", git_sha="bad")
    run_id = finished_run(frozen, fapi, "bad")
    doc = fapi.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 2}).json()
    by_id = {r["unique_id"]: r["status"] for r in doc["results"]}
    assert by_id["model.emulated_project.stg_orders"] == "error"
    assert by_id["model.emulated_project.orders"] == "skipped"
    assert by_id["model.emulated_project.stg_customers"] == "success"
    assert "skipped" in by_id.values()
    assert "pass" in by_id.values()


def test_manifest_and_catalog(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = finished_run(frozen, fapi, "good")
    manifest = fapi.get(f"/runs/{run_id}/artifacts/manifest.json").json()
    assert "model.emulated_project.orders" in manifest["nodes"]
    assert fapi.get(f"/runs/{run_id}/artifacts/catalog.json").status_code == 404
    docs_run = trigger(fapi, frozen.ci_job_id or 0, generate_docs_override=True)["id"]
    frozen.advance(70)
    catalog = fapi.get(f"/runs/{docs_run}/artifacts/catalog.json").json()
    assert "model.emulated_project.orders" in catalog["nodes"]


def test_missing_artifacts_are_404(frozen: Emulator, fapi: httpx.Client) -> None:
    active = trigger(fapi, frozen.ci_job_id or 0)["id"]
    response = fapi.get(f"/runs/{active}/artifacts/run_results.json")
    assert response.status_code == 404
    assert response.json()["status"]["is_success"] is False
    frozen.advance(70)
    assert fapi.get(f"/runs/{active}/artifacts/sources.json").status_code == 404
    assert fapi.get(f"/runs/{active}/artifacts/run_results.json", params={"step": "last"}).status_code == 400
    assert fapi.get("/runs/999/artifacts/run_results.json").status_code == 404
