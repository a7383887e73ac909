"""The "deps_error" outcome: a run that fails in `dbt deps`, before any dbt command, and so leaves no artifacts."""

from __future__ import annotations

import re

import httpx

from dbt_cloud_emulator import Emulator

from .helpers import admin, run, trigger

STEPS = '["run_steps"]'
SET_UP = [
    (1, "Clone git repository", 10),
    (2, "Create profile from connection Postgres", 10),
    (3, "Invoke dbt with `dbt deps`", 20),
]
PACKAGE_ERROR = "Encountered an error:\nPackage dbt-labs/dbt_utilz was not found in the package index"


def test_a_deps_error_run_stops_at_the_deps_step_with_no_artifacts(frozen: Emulator, fapi: httpx.Client) -> None:
    assert admin(frozen, "POST", "outcome", {"outcome": "deps_error", "git_sha": "deps"}).status_code == 200
    run_id = trigger(fapi, frozen.ci_job_id or 0, git_sha="deps", generate_docs_override=True)["id"]
    frozen.advance(70)
    data = run(fapi, run_id, include_related=STEPS)
    assert (data["status"], data["is_error"], data["status_humanized"]) == (20, True, "Error")
    assert "`dbt deps`" in data["status_message"]
    assert "dbt-labs/dbt_utilz was not found in the package index" in data["status_message"]
    assert [(s["index"], s["name"], s["status"]) for s in data["run_steps"]] == SET_UP
    deps = data["run_steps"][-1]
    assert re.sub(r"\x1b\[[0-9;]*m", "", deps["logs"]).endswith(PACKAGE_ERROR)
    assert deps["debug_logs"].endswith(PACKAGE_ERROR) and "[error]" in deps["debug_logs"]
    assert (data["artifacts_saved"], data["artifact_s3_path"], data["has_docs_generated"]) == (False, None, False)
    assert fapi.get(f"/runs/{run_id}/artifacts/").json()["data"] == []
    for step in (None, 3, 4, 5):
        params = {} if step is None else {"step": step}
        missing = fapi.get(f"/runs/{run_id}/artifacts/run_results.json", params=params)
        # As any missing artifact answers.
        assert missing.status_code == 404
        assert missing.json()["data"] is None and missing.json()["status"]["is_success"] is False
        assert missing.json()["status"]["user_message"].startswith(
            f"No artifact 'run_results.json' found for run {run_id}"
        )
    other = trigger(fapi, frozen.ci_job_id or 0, git_sha="fine")["id"]  # the rule is for its commit only
    frozen.advance(70)
    assert run(fapi, other)["status"] == 10
    assert fapi.get(f"/runs/{other}/artifacts/run_results.json").status_code == 200


def test_a_run_bound_for_a_deps_error_never_shows_a_later_step(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("deps_error")
    run_id = trigger(fapi, frozen.ci_job_id or 0)["id"]
    frozen.advance(10 + 40)
    steps = run(fapi, run_id, include_related=STEPS)["run_steps"]
    assert [(s["index"], s["status"]) for s in steps] == [(1, 10), (2, 10), (3, 3)]
    assert "Running with dbt=" in steps[-1]["logs"] and "Encountered an error" not in steps[-1]["logs"]
    frozen.advance(20)
    steps = run(fapi, run_id, include_related=STEPS)["run_steps"]
    assert [(s["index"], s["name"], s["status"]) for s in steps] == SET_UP
    assert steps[-1]["logs"].endswith(PACKAGE_ERROR)
