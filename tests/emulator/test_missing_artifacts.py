"""Artifacts a run did not produce (Emulator.set_artifacts_missing): left out of the run's list, and a 404 in the
envelope when asked for, as the emulator answers any artifact a run lacks."""

from __future__ import annotations

import httpx
import pytest

from dbt_cloud_emulator import Emulator

from .helpers import admin, run, trigger
from .test_jobs import new_job


def finished(frozen: Emulator, api: httpx.Client, job_id: int, **body: object) -> int:
    """Trigger a run of the job and play it to its end: 10 s starting, 60 s running."""
    run_id = int(trigger(api, job_id, **body)["id"])
    frozen.advance(70)
    assert run(api, run_id)["status"] == 10
    return run_id


def test_a_missing_manifest_is_unlisted_and_a_404(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_artifacts_missing(["manifest.json"], job_id=job_id)
    run_id = finished(frozen, fapi, job_id, generate_docs_override=True)
    assert fapi.get(f"/runs/{run_id}/artifacts/").json()["data"] == ["catalog.json", "run_results.json"]
    response = fapi.get(f"/runs/{run_id}/artifacts/manifest.json")
    assert response.status_code == 404
    assert response.json()["status"]["is_success"] is False
    assert "manifest.json" in response.json()["status"]["user_message"]
    assert fapi.get(f"/runs/{run_id}/artifacts/manifest.json", params={"step": 4}).status_code == 404
    assert fapi.get(f"/runs/{run_id}/artifacts/run_results.json").status_code == 200
    assert fapi.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 4}).status_code == 200


def test_the_rule_is_the_jobs_and_its_clones_and_none_lifts_it(frozen: Emulator, fapi: httpx.Client) -> None:
    source = frozen.ci_job_id or 0
    other = frozen.seed_job("Nightly")
    clone = fapi.post("/jobs/", json=new_job(frozen, name=f"CI [autoscale {source} PR #7 0a1b2c3d]")).json()["data"]
    frozen.set_artifacts_missing(["manifest.json", "run_results.json"], job_id=source)
    for job_id in (source, clone["id"]):
        run_id = finished(frozen, fapi, job_id)
        assert fapi.get(f"/runs/{run_id}/artifacts/").json()["data"] == []
        assert fapi.get(f"/runs/{run_id}/artifacts/run_results.json").status_code == 404
    run_id = finished(frozen, fapi, other)
    assert fapi.get(f"/runs/{run_id}/artifacts/manifest.json").status_code == 200
    frozen.set_artifacts_missing(None, job_id=source)
    run_id = finished(frozen, fapi, source)
    assert fapi.get(f"/runs/{run_id}/artifacts/").json()["data"] == ["manifest.json", "run_results.json"]


def test_a_run_takes_the_rule_as_it_leaves_the_queue(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    earlier = int(trigger(fapi, job_id)["id"])
    frozen.advance(10)  # started: the rule set now is not its own
    frozen.set_artifacts_missing(["manifest.json"])
    frozen.advance(60)
    assert fapi.get(f"/runs/{earlier}/artifacts/manifest.json").status_code == 200
    later = finished(frozen, fapi, job_id)
    assert fapi.get(f"/runs/{later}/artifacts/manifest.json").status_code == 404


def test_over_http_and_refused_lists(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    response = admin(frozen, "POST", "artifacts_missing", {"paths": ["manifest.json"], "job_id": job_id})
    assert response.status_code == 200
    run_id = finished(frozen, fapi, job_id)
    assert fapi.get(f"/runs/{run_id}/artifacts/manifest.json").status_code == 404
    for bad in ("manifest.json", [""], [3], {"manifest.json": True}):
        assert admin(frozen, "POST", "artifacts_missing", {"paths": bad}).status_code == 400, bad
        with pytest.raises(ValueError, match="artifacts must be a list"):
            frozen.set_artifacts_missing(bad)  # type: ignore[arg-type]
