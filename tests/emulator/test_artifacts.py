"""Run artifacts: listed and served once a run has finished, with node statuses that match its outcome."""

from __future__ import annotations

import httpx

from dbt_cloud_emulator import Emulator

from .helpers import run, trigger


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
    doc = fapi.get(f"/runs/{run_id}/artifacts/run_results.json").json()
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


def test_run_steps_name_the_commands_and_the_failing_one(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("error", git_sha="bad")
    run_id = int(trigger(fapi, frozen.ci_job_id or 0, git_sha="bad", steps_override=["dbt seed", "dbt build"])["id"])
    assert run(fapi, run_id, include_related='["run_steps"]')["run_steps"] == []  # queued: no step yet
    frozen.advance(70)
    steps = run(fapi, run_id, include_related='["run_steps"]')["run_steps"]
    assert [(s["index"], s["name"], s["status"]) for s in steps] == [
        (1, "Clone git repository", 10),
        (2, "Create profile from connection Postgres", 10),
        (3, "Invoke dbt with `dbt deps`", 10),
        (4, "Invoke dbt with `dbt seed`", 10),
        (5, "Invoke dbt with `dbt build`", 20),
    ]
    assert run(fapi, run_id)["run_steps"] == []  # only when asked for


def test_docs_generation_is_the_last_step_and_its_run_results_hide_the_build(
    frozen: Emulator, fapi: httpx.Client
) -> None:
    frozen.set_outcome("error", git_sha="bad")
    run_id = int(trigger(fapi, frozen.ci_job_id or 0, git_sha="bad", generate_docs_override=True)["id"])
    frozen.advance(70)
    names = [s["name"] for s in run(fapi, run_id, include_related='["run_steps"]')["run_steps"]]
    assert names[-2].startswith("Invoke dbt with `dbt build") and names[-1] == "Invoke dbt with `dbt docs generate`"
    last = fapi.get(f"/runs/{run_id}/artifacts/run_results.json").json()
    assert last["args"]["which"] == "generate"
    assert {r["status"] for r in last["results"]} == {"success"}  # the build's error is not in it
    build = fapi.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": len(names) - 1}).json()
    assert build["args"]["which"] == "build"
    assert "error" in {r["status"] for r in build["results"]}
    assert fapi.get(f"/runs/{run_id}/artifacts/catalog.json", params={"step": len(names) - 1}).status_code == 404
    assert fapi.get(f"/runs/{run_id}/artifacts/catalog.json").status_code == 200
    for step in (1, 3, len(names) + 1):  # set-up steps leave no artifacts; there is no step after the last
        assert fapi.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": step}).status_code == 404
