"""Runs on dbt Fusion (Emulator.set_engine("fusion")): Fusion's version in the artifacts, the project's checks that a
build runs first and that can fail it before any model runs, nodes state-aware orchestration reused, and Fusion's
fields on each result."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator
from dbt_cloud_emulator.fusion import BLOCKED, CHECKS, FUSION_VERSION, REUSED_MESSAGE
from dbt_cloud_emulator.project import NODE_ERROR, NODES

from .helpers import admin, run, trigger
from .test_jobs import new_job
from .test_logs import messages, steps_of

CHECK_IDS = [f"check.emulated_project.{name}" for name in CHECKS]


def finished(frozen: Emulator, api: httpx.Client, job_id: int, **body: Any) -> int:
    """Trigger a run of the job and play it to its end: 10 s starting, 60 s running."""
    run_id = int(trigger(api, job_id, **body)["id"])
    frozen.advance(70)
    assert run(api, run_id)["status"] in (10, 20)
    return run_id


def artifact(api: httpx.Client, run_id: int, path: str, step: int | None = None) -> dict[str, Any]:
    """One artifact of a finished run (of its last step by default)."""
    response = api.get(f"/runs/{run_id}/artifacts/{path}", params={} if step is None else {"step": step})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def on_fusion(frozen: Emulator, outcome: str = "success", reused: int = 0) -> int:
    """The seeded CI job, on Fusion, its runs ending in `outcome`."""
    job_id = frozen.ci_job_id or 0
    frozen.set_engine("fusion", job_id=job_id, reused=reused)
    frozen.set_outcome(outcome, job_id=job_id)
    return job_id


def test_a_fusion_build_reports_fusions_version_fields_and_checks(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = finished(frozen, fapi, on_fusion(frozen))
    results = artifact(fapi, run_id, "run_results.json")
    assert results["metadata"]["dbt_version"] == FUSION_VERSION
    assert FUSION_VERSION.startswith("2.")
    assert "invocation_started_at" in results["metadata"]
    assert results["args"] == {"command": "build", "which": "build", "target": "default"}
    nodes, checks = results["results"][: len(NODES)], results["results"][len(NODES) :]
    assert [r["unique_id"] for r in nodes] == [node[0] for node in NODES]
    for result in nodes:
        assert "compiled" not in result  # Fusion leaves out what it does not set
        assert result["message"] == {"success": "Succeeded", "pass": "Pass"}[result["status"]]
        assert result["state_decision_id"]
    assert [(r["unique_id"], r["status"], r["failures"]) for r in checks] == [(c, "pass", 0) for c in CHECK_IDS]
    manifest = artifact(fapi, run_id, "manifest.json")
    assert manifest["metadata"]["dbt_version"] == FUSION_VERSION
    check = manifest["nodes"][CHECK_IDS[0]]
    assert (check["resource_type"], check["original_file_path"], check["path"]) == (
        "check",
        f"checks/{CHECKS[0]}.sql",
        f"{CHECKS[0]}.sql",
    )
    assert CHECK_IDS[0] not in manifest["parent_map"]  # checks are not in the DAG
    said = messages(steps_of(fapi, run_id)[-1]["logs"])
    assert said[0] == f"Running with dbt={FUSION_VERSION}"
    assert any(line.startswith("    Passed [  0.") and line.endswith(f"] check {CHECKS[0]}") for line in said)
    assert not any(" of 5 " in line for line in said)  # Fusion numbers no node
    assert any(line.startswith(" Succeeded [") and "model analytics.stg_orders (table)" in line for line in said)
    assert any(line.startswith("    Passed [") and line.endswith("test  unique_orders_order_id") for line in said)


def test_a_failing_check_stops_the_build_before_any_model(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = finished(frozen, fapi, on_fusion(frozen, "check_error"), steps_override=["dbt seed", "dbt build"])
    assert (run(fapi, run_id)["status"], run(fapi, run_id)["status_message"]) == (20, "dbt command failed")
    results = artifact(fapi, run_id, "run_results.json")["results"]
    failed, passed = results[:2]
    assert failed == {
        "status": "fail",
        "timing": [],
        "thread_id": "main",
        "execution_time": 0.0,
        "adapter_response": {},
        "message": "unique_id=model.emulated_project.stg_orders",
        "failures": 1,
        "unique_id": CHECK_IDS[0],
    }
    assert (passed["unique_id"], passed["status"]) == (CHECK_IDS[1], "pass")
    assert [(r["unique_id"], r["status"], r["message"]) for r in results[2:]] == [
        (node[0], "skipped", BLOCKED) for node in NODES
    ]
    seed_results = artifact(fapi, run_id, "run_results.json", step=4)["results"]
    assert {r["status"] for r in seed_results} == {"success", "pass"}  # `dbt seed` runs no check
    assert not any(r["unique_id"].startswith("check.") for r in seed_results)
    seed, build = steps_of(fapi, run_id)[3:]
    assert (seed["status"], build["status"]) == (10, 20)
    said = messages(build["logs"])
    assert any(line.startswith("    Failed [  0.") and line.endswith(f"] check {CHECKS[0]}") for line in said)
    assert f"[error] [CheckFailed (dbt1650)]: check '{CHECKS[0]}' failed with 1 violation(s)" in said
    assert not any("model analytics." in line for line in said)  # no model ran
    assert said[-1] == "Done. PASS=1 WARN=0 ERROR=1 SKIP=5 NO-OP=0 TOTAL=7"


def test_without_a_fusion_build_a_check_error_fails_as_an_error(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_outcome("check_error", job_id=job_id)
    core = {
        r["unique_id"]: r["status"]
        for r in artifact(fapi, finished(frozen, fapi, job_id), "run_results.json")["results"]
    }
    assert core["model.emulated_project.stg_orders"] == "error"  # dbt Core has no checks
    frozen.set_engine("fusion", job_id=job_id)
    results = artifact(fapi, finished(frozen, fapi, job_id, steps_override=["dbt run"]), "run_results.json")
    assert results["results"][0]["status"] == "error"  # `dbt run` runs no check either
    assert not any(r["unique_id"].startswith("check.") for r in results["results"])


def test_a_fusion_run_that_fails_a_model_says_where(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = finished(frozen, fapi, on_fusion(frozen, "error"))
    first = artifact(fapi, run_id, "run_results.json")["results"][0]
    assert first["status"] == "error"
    assert first["message"].startswith("Database Error in model stg_orders (models/staging/stg_orders.sql)\n")
    assert first["message"] != NODE_ERROR
    said = messages(steps_of(fapi, run_id)[-1]["logs"])
    assert any(line.startswith("    Failed [") and "model analytics.stg_orders (table)" in line for line in said)
    assert any(line.startswith("   Skipped [-------] test  unique_orders_order_id (models/marts/") for line in said)


def test_reused_nodes_are_the_last_that_would_have_passed(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = on_fusion(frozen, "success", reused=2)
    frozen.set_selected_nodes(12, job_id=job_id)
    run_id = finished(frozen, fapi, job_id)
    results = artifact(fapi, run_id, "run_results.json")["results"][:12]
    assert [r["status"] for r in results[-2:]] == ["reused", "reused"]
    assert all(r["status"] != "reused" for r in results[:-2])
    assert {r["message"] for r in results[-2:]} == {REUSED_MESSAGE}
    said = messages(steps_of(fapi, run_id)[-1]["logs"])
    assert f"    Reused [-------] model analytics.model_00012 (table - {REUSED_MESSAGE})" in said
    # With state-aware orchestration on, a model it built says why.
    assert any(line.endswith("model analytics.stg_orders (table - New changes detected)") for line in said)
    assert said[-1] == "Done. PASS=12 WARN=0 ERROR=0 SKIP=2 NO-OP=0 TOTAL=14"


def test_a_clone_runs_on_its_sources_engine_and_none_is_back_to_core(frozen: Emulator, fapi: httpx.Client) -> None:
    source = on_fusion(frozen)
    clone = fapi.post("/jobs/", json=new_job(frozen, name=f"CI [autoscale {source} PR #7 0a1b2c3d]")).json()["data"]
    meta = artifact(fapi, finished(frozen, fapi, clone["id"]), "run_results.json")["metadata"]
    assert meta["dbt_version"] == FUSION_VERSION
    frozen.set_engine(None, job_id=source)
    meta = artifact(fapi, finished(frozen, fapi, clone["id"]), "run_results.json")["metadata"]
    assert meta["dbt_version"] == "1.10.0"
    assert "invocation_started_at" not in meta


def test_over_http_and_refused_engines(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    assert admin(frozen, "POST", "engine", {"engine": "fusion", "job_id": job_id, "reused": 1}).status_code == 200
    statuses = [r["status"] for r in artifact(fapi, finished(frozen, fapi, job_id), "run_results.json")["results"]]
    assert statuses.count("reused") == 1
    for body, words in (
        ({"engine": "dbt2"}, "engine must be one of"),
        ({"engine": "fusion", "reused": -1}, "reused must be an integer"),
        ({"engine": "core", "reused": 2}, "only the fusion engine reuses nodes"),
    ):
        response = admin(frozen, "POST", "engine", body)
        assert response.status_code == 400
        assert words in response.json()["status"]["user_message"]
        with pytest.raises(ValueError, match=words):
            frozen.set_engine(**body)
    assert admin(frozen, "POST", "outcome", {"outcome": "check_error"}).status_code == 200
