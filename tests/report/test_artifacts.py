from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import respx

from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.dbt_cloud.models import Run, RunStep
from autoscale_ci.report.artifacts import Findings, collect, results_step
from tests.builders import ACCOUNT, HOST, TOKEN, envelope, failure, run

ON_GITHUB = {"GITHUB_ACTIONS": "true"}

RESULTS = {"results": [{"unique_id": "model.p.a", "status": "error", "message": "boom"}]}
DOCS_RESULTS = {"results": [{"unique_id": "model.p.a", "status": "success", "message": None}]}
FINISHED = Run.model_validate(run(5, status=10))
FAILED = Run.model_validate(run(5, status=20))
WITH_DOCS = Run.model_validate({**run(5, status=10), "has_docs_generated": True})
SETUP = ["Clone git repository", "Create profile from connection", "Invoke dbt with `dbt deps`"]


def steps(*commands: str) -> list[RunStep]:
    names = [*SETUP, *(f"Invoke dbt with `{command}`" for command in commands)]
    return [RunStep(index=i, name=name, status=10) for i, name in enumerate(names, start=1)]


def client() -> DbtCloudClient:
    return DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None)


def test_wanted_artifacts_are_saved_and_results_read(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get("/runs/5/artifacts/run_results.json").respond(json=RESULTS)
    api.get("/runs/5/artifacts/manifest.json").respond(json={"nodes": {}})
    out = io.StringIO()
    found = collect(
        client(), Runtime(ON_GITHUB, out), FINISHED, ("manifest.json", "run_results.json"), tmp_path / "target"
    )
    assert found.results is not None
    assert found.results.problems[0].unique_id == "model.p.a"
    assert json.loads((tmp_path / "target" / "manifest.json").read_text(encoding="utf-8")) == {"nodes": {}}
    assert (tmp_path / "target" / "run_results.json").exists()


def test_a_missing_artifact_is_a_warning_only_when_it_was_asked_for(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get(url__regex=r".*/artifacts/.*").respond(404, json=failure(404, "Not found"))
    out = io.StringIO()
    assert collect(client(), Runtime(ON_GITHUB, out), FINISHED, (), tmp_path) == Findings()
    assert out.getvalue() == ""
    assert collect(client(), Runtime(ON_GITHUB, out), FINISHED, ("catalog.json",), tmp_path) == Findings()
    assert "::warning title=Artifact missing::Could not download artifact catalog.json of run 5" in out.getvalue()


def test_results_that_are_not_json_are_ignored(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get("/runs/5/artifacts/run_results.json").respond(text="<html>")
    assert collect(client(), Runtime(ON_GITHUB, io.StringIO()), FINISHED, (), tmp_path).results is None


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        (["dbt build --select state:modified+", "dbt docs generate"], 4),
        (["dbt seed", "dbt run", "dbt test", "dbt docs generate"], 6),
        (["dbt source freshness", "dbt build", "dbt docs generate"], 5),
        (["dbt build", "dbt source freshness"], 4),
        (["dbt docs generate"], None),
        ([], None),
    ],
)
def test_the_results_step_is_the_last_command_that_builds(commands: list[str], expected: int | None) -> None:
    assert results_step(list(reversed(steps(*commands)))) == expected


def test_a_command_that_never_ran_is_passed_over_for_the_one_that_failed() -> None:
    found = steps("dbt seed", "dbt build", "dbt docs generate")
    found[3] = found[3].model_copy(update={"status": 20})  # dbt seed failed
    found[4] = found[4].model_copy(update={"status": None})  # so dbt build never ran
    assert results_step(found) == 4


def test_with_docs_generated_the_results_come_from_the_build_step(api: respx.MockRouter, tmp_path: Path) -> None:
    with_steps = {**run(5, status=10), "run_steps": [s.model_dump() for s in steps("dbt build", "dbt docs generate")]}
    read = api.get("/runs/5/", params={"include_related": '["run_steps"]'}).respond(json=envelope(with_steps))
    build = api.get("/runs/5/artifacts/run_results.json", params={"step": "4"}).respond(json=RESULTS)
    api.get("/runs/5/artifacts/run_results.json").respond(json=DOCS_RESULTS)
    catalog = api.get("/runs/5/artifacts/catalog.json").respond(json={"nodes": {}})
    out = io.StringIO()
    found = collect(client(), Runtime(ON_GITHUB, out), WITH_DOCS, ("catalog.json",), tmp_path)
    assert found.results is not None and found.results.problems[0].unique_id == "model.p.a"
    assert read.call_count == build.call_count == 1
    assert "step" not in catalog.calls.last.request.url.params  # the catalog is only in the docs step
    assert "results come from step 4" in out.getvalue()


def test_a_successful_run_without_docs_has_no_steps_read(api: respx.MockRouter, tmp_path: Path) -> None:
    read = api.get("/runs/5/").respond(json=envelope(run(5, status=10)))
    last = api.get("/runs/5/artifacts/run_results.json").respond(json=RESULTS)
    found = collect(client(), Runtime(ON_GITHUB, io.StringIO()), FINISHED, (), tmp_path)
    assert found.results is not None and found.failed_step is None
    assert read.call_count == 0
    assert "step" not in last.calls.last.request.url.params


def test_unreadable_steps_fall_back_to_the_last_step(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get("/runs/5/").respond(403, json=failure(403, "Forbidden"))
    last = api.get("/runs/5/artifacts/run_results.json").respond(json=DOCS_RESULTS)
    out = io.StringIO()
    assert collect(client(), Runtime(ON_GITHUB, out), WITH_DOCS, (), tmp_path).results is not None
    assert "step" not in last.calls.last.request.url.params
    assert "Could not read the steps of run 5" in out.getvalue()


def failed_steps(failed_at: int, log: str, *commands: str) -> list[dict[str, object]]:
    listed = [s.model_dump() for s in steps(*commands)][:failed_at]
    listed[-1] = {**listed[-1], "status": 20, "logs": log}
    return listed


def test_a_failed_run_has_its_results_read_from_the_step_that_failed(api: respx.MockRouter, tmp_path: Path) -> None:
    listed = failed_steps(4, "\x1b[31mERROR\x1b[0m boom", "dbt build", "dbt docs generate")
    api.get("/runs/5/").respond(json=envelope({**run(5, status=20), "run_steps": listed}))
    build = api.get("/runs/5/artifacts/run_results.json", params={"step": "4"}).respond(json=RESULTS)
    out = io.StringIO()
    found = collect(client(), Runtime(ON_GITHUB, out), FAILED, (), tmp_path)
    assert build.call_count == 1
    assert found.results is not None and found.results.problems[0].unique_id == "model.p.a"
    assert found.failed_step is not None
    assert (found.failed_step.index, found.failed_step.command) == (4, "dbt build")
    assert found.failed_step.log_tail == ("ERROR boom",)
    assert "failed in step 4 (Invoke dbt with `dbt build`)" in out.getvalue()


def test_a_run_that_failed_before_any_results_keeps_its_log(api: respx.MockRouter, tmp_path: Path) -> None:
    log = "\n".join(f"\x1b[0m12:00:{i:02d}  line {i}" for i in range(50)) + "\nPackage not found ghs_secret"
    api.get("/runs/5/").respond(json=envelope({**run(5, status=20), "run_steps": failed_steps(3, log, "dbt build")}))
    # No build step ran: the results would be the last step's, and it has none.
    deps = api.get("/runs/5/artifacts/run_results.json").respond(404, json=failure(404, "No"))
    runtime = Runtime(ON_GITHUB, io.StringIO())
    runtime.mask("ghs_secret")
    found = collect(client(), runtime, FAILED, (), tmp_path)
    assert deps.call_count == 1
    assert found.results is None
    assert found.failed_step is not None and found.failed_step.command == "dbt deps"
    assert found.failed_step.log_tail[-1] == "Package not found ***"
    assert found.failed_step.log_tail[0] == "12:00:21  line 21"
    assert found.failed_step.earlier_lines_cut


def test_a_failed_run_whose_steps_cannot_be_read_has_its_last_steps_results(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    api.get("/runs/5/").respond(403, json=failure(403, "Forbidden"))
    last = api.get("/runs/5/artifacts/run_results.json").respond(json=RESULTS)
    found = collect(client(), Runtime(ON_GITHUB, io.StringIO()), FAILED, (), tmp_path)
    assert found.results is not None and found.failed_step is None
    assert "step" not in last.calls.last.request.url.params


def test_a_successful_run_whose_freshness_step_failed_has_no_failed_step(api: respx.MockRouter, tmp_path: Path) -> None:
    listed = [s.model_dump() for s in steps("dbt source freshness", "dbt build", "dbt docs generate")]
    listed[3] = {**listed[3], "status": 20, "logs": "ERROR STALE source.p.orders"}
    api.get("/runs/5/").respond(json=envelope({**run(5, status=10), "run_steps": listed}))
    build = api.get("/runs/5/artifacts/run_results.json", params={"step": "5"}).respond(json=DOCS_RESULTS)
    found = collect(client(), Runtime(ON_GITHUB, io.StringIO()), WITH_DOCS, (), tmp_path)
    assert build.call_count == 1
    assert found.failed_step is None and found.results is not None


def test_a_run_failed_outside_the_build_reads_the_builds_results_and_keeps_the_log(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    listed = [s.model_dump() for s in steps("dbt build", "dbt run-operation notify")]
    listed[4] = {**listed[4], "status": 20, "logs": "Compilation Error in macro notify"}
    api.get("/runs/5/").respond(json=envelope({**run(5, status=20), "run_steps": listed}))
    build = api.get("/runs/5/artifacts/run_results.json", params={"step": "4"}).respond(json=RESULTS)
    found = collect(client(), Runtime(ON_GITHUB, io.StringIO()), FAILED, (), tmp_path)
    assert build.call_count == 1
    assert found.failed_step is not None and found.failed_step.command == "dbt run-operation notify"
    assert found.failed_step.log_tail == ("Compilation Error in macro notify",)
