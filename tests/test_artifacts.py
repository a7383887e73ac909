from __future__ import annotations

import io
import json
from pathlib import Path

import respx

from autoscale_ci.artifacts import collect
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.github import Runtime
from tests.builders import ACCOUNT, HOST, TOKEN, failure

RESULTS = {"results": [{"unique_id": "model.p.a", "status": "error", "message": "boom"}]}


def client() -> DbtCloudClient:
    return DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None)


def test_wanted_artifacts_are_saved_and_results_read(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get("/runs/5/artifacts/run_results.json").respond(json=RESULTS)
    api.get("/runs/5/artifacts/manifest.json").respond(json={"nodes": {}})
    out = io.StringIO()
    found = collect(client(), Runtime({}, out), 5, ("manifest.json", "run_results.json"), tmp_path / "target")
    assert found is not None
    assert found.problems[0].unique_id == "model.p.a"
    assert json.loads((tmp_path / "target" / "manifest.json").read_text(encoding="utf-8")) == {"nodes": {}}
    assert (tmp_path / "target" / "run_results.json").exists()


def test_a_missing_artifact_is_a_warning_only_when_it_was_asked_for(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get(url__regex=r".*/artifacts/.*").respond(404, json=failure(404, "Not found"))
    out = io.StringIO()
    assert collect(client(), Runtime({}, out), 5, (), tmp_path) is None
    assert out.getvalue() == ""
    assert collect(client(), Runtime({}, out), 5, ("catalog.json",), tmp_path) is None
    assert "::warning title=Artifact missing::Could not download artifact catalog.json of run 5" in out.getvalue()


def test_results_that_are_not_json_are_ignored(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get("/runs/5/artifacts/run_results.json").respond(text="<html>")
    assert collect(client(), Runtime({}, io.StringIO()), 5, (), tmp_path) is None
