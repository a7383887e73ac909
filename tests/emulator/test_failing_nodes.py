"""A failing run with many failing nodes (Emulator.set_failing_nodes): models that error and tests that fail, each
in dbt's own words, in run_results.json and in the failing step's log lines alike."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator
from dbt_cloud_emulator.project import (
    MAX_SELECTED,
    NODE_ERROR,
    NODES,
    failures_allowed,
    many_failures,
    selection,
    selection_for_failures,
)

from .helpers import admin, results, run, trigger
from .test_jobs import new_job
from .test_logs import messages, steps_of

GOT = re.compile(r"^Got (\d+) results?, configured to fail if != 0$")


def finished(frozen: Emulator, api: httpx.Client, job_id: int, **body: Any) -> int:
    """Trigger a run of the job and play it to its end: 10 s starting, 60 s running."""
    run_id = int(trigger(api, job_id, **body)["id"])
    frozen.advance(70)
    assert run(api, run_id)["status"] in (10, 20)
    return run_id


def failing(frozen: Emulator, count: int | None) -> int:
    """The seeded CI job, set to fail with `count` failing nodes."""
    job_id = frozen.ci_job_id or 0
    frozen.set_outcome("error", job_id=job_id)
    frozen.set_failing_nodes(count, job_id=job_id)
    return job_id


def test_fifteen_nodes_fail_each_in_dbts_words_with_its_file(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = finished(frozen, fapi, failing(frozen, 15))
    found = results(fapi, run_id)
    nodes = fapi.get(f"/runs/{run_id}/artifacts/manifest.json").json()["nodes"]
    failed = [r for r in found if r["status"] in ("error", "fail")]
    assert len(failed) == 15
    kinds = Counter(r["status"] for r in failed)
    assert kinds["error"] and kinds["fail"]  # models and tests alike
    for result in failed:
        node = nodes[result["unique_id"]]
        if result["status"] == "error":
            assert node["resource_type"] == "model"
            assert result["message"].startswith(
                f"Database Error in model {node['name']} ({node['original_file_path']})\n"
            )
            assert (result["failures"], result["adapter_response"]) == (None, {})
        else:
            assert node["resource_type"] == "test"
            counted = GOT.match(result["message"])
            assert counted is not None
            assert result["failures"] == int(counted.group(1)) >= 1
    # Whatever depends on a model that errored skips; everything else passes.
    broken = {r["unique_id"] for r in found if r["status"] in ("error", "skipped")}
    for result in found:
        parents = set(nodes[result["unique_id"]]["depends_on"]["nodes"])
        assert (result["status"] == "skipped") == bool(parents & broken)
    assert run(fapi, run_id)["status_message"] == "dbt command failed"


def test_the_failing_steps_log_says_each_failure(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = finished(frozen, fapi, failing(frozen, 15))
    found = results(fapi, run_id)
    total = len(found)
    said = messages(steps_of(fapi, run_id)[-1]["logs"])
    for position, result in enumerate(found, start=1):
        name = result["unique_id"].split(".")[2]
        if result["status"] == "error":
            assert any(line.startswith(f"{position} of {total} ERROR creating sql table model") for line in said)
        elif result["status"] == "fail":
            rows = result["failures"]
            line = next(line for line in said if line.startswith(f"{position} of {total} FAIL "))
            assert line.startswith(f"{position} of {total} FAIL {rows} {name} ")
            assert re.search(rf"\[FAIL {rows} in \d+\.\d\ds\]$", line)
            assert any(line.startswith(f"Failure in test {name} (models/") for line in said)
            assert f"  {result['message']}" in said
    logs = steps_of(fapi, run_id)[-1]["logs"]
    for result in found:
        if result["status"] == "error":
            assert f"  {result['message']}" in logs  # the model's error, as run_results.json has it
    assert "Completed with 15 errors, 0 partial successes, and 0 warnings:" in said
    counts = Counter(r["status"] for r in found)
    passed, skipped = counts["success"] + counts["pass"], counts["skipped"]
    assert said[-1] == f"Done. PASS={passed} WARN=0 ERROR=15 SKIP={skipped} NO-OP=0 TOTAL={total}"


def test_the_job_selects_as_many_nodes_as_its_failures_need(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = failing(frozen, 15)
    grown = len(results(fapi, finished(frozen, fapi, job_id)))
    assert grown == selection_for_failures(15, None)
    assert grown > len(NODES)
    frozen.set_selected_nodes(100, job_id=job_id)  # a larger selection of its own is kept
    found = results(fapi, finished(frozen, fapi, job_id))
    assert len(found) == 100
    assert sum(r["status"] in ("error", "fail") for r in found) == 15
    frozen.set_outcome("success", job_id=job_id)  # a run that succeeds fails nothing, whatever the rule
    assert {r["status"] for r in results(fapi, finished(frozen, fapi, job_id))} == {"success", "pass"}


def test_two_failures_fit_the_projects_own_nodes(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = finished(frozen, fapi, failing(frozen, 2))
    statuses = {r["unique_id"]: r["status"] for r in results(fapi, run_id)}
    assert statuses == {
        "model.emulated_project.stg_orders": "error",
        "model.emulated_project.stg_customers": "success",  # left to pass, so that its test can fail
        "model.emulated_project.orders": "skipped",
        "test.emulated_project.unique_orders_order_id.1a2b3c": "skipped",
        "test.emulated_project.not_null_customers_id.4d5e6f": "fail",
    }


def test_only_the_failing_command_fails_and_none_is_back_to_one_model(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = failing(frozen, 15)
    run_id = finished(frozen, fapi, job_id, steps_override=["dbt seed", "dbt build"])
    assert {r["status"] for r in results(fapi, run_id, step=4)} == {"success", "pass"}
    assert sum(r["status"] in ("error", "fail") for r in results(fapi, run_id, step=5)) == 15
    frozen.set_failing_nodes(None, job_id=job_id)
    found = results(fapi, finished(frozen, fapi, job_id))
    assert [(r["status"], r["message"]) for r in found] == [
        ("error", NODE_ERROR),
        ("success", "SUCCESS 1"),
        ("skipped", None),
        ("skipped", None),
        ("pass", None),
    ]


def test_a_clone_fails_as_many_as_its_source(frozen: Emulator, fapi: httpx.Client) -> None:
    source = failing(frozen, 15)
    clone = fapi.post("/jobs/", json=new_job(frozen, name=f"CI [autoscale {source} PR #7 0a1b2c3d]")).json()["data"]
    frozen.set_outcome("error", job_id=clone["id"])
    found = results(fapi, finished(frozen, fapi, clone["id"]))
    assert sum(r["status"] in ("error", "fail") for r in found) == 15


def test_over_http_and_refused_counts(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_outcome("error", job_id=job_id)
    assert admin(frozen, "POST", "failing_nodes", {"count": 6, "job_id": job_id}).status_code == 200
    found = results(fapi, finished(frozen, fapi, job_id))
    assert sum(r["status"] in ("error", "fail") for r in found) == 6
    for bad in (0, -1, True, "3", 1.5, MAX_SELECTED + 1):
        response = admin(frozen, "POST", "failing_nodes", {"count": bad})
        assert response.status_code == 400, bad
        assert "failing nodes must be an integer" in response.json()["status"]["user_message"]
        with pytest.raises(ValueError, match="failing nodes must be an integer"):
            frozen.set_failing_nodes(bad)  # type: ignore[arg-type]
    assert admin(frozen, "POST", "failing_nodes", {"count": None, "job_id": job_id}).status_code == 200
    assert sum(r["status"] == "error" for r in results(fapi, finished(frozen, fapi, job_id))) == 1


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 15, 16, 40, 333])
def test_the_smallest_selection_that_fails_that_many(count: int) -> None:
    size = selection_for_failures(count, None)
    effective = len(NODES) if size is None else size
    assert failures_allowed(effective) >= count
    if size is not None:
        assert failures_allowed(size - 1) < count
    statuses = many_failures(selection(effective), count)
    assert sum(status in ("error", "fail") for status in statuses.values()) == count


def test_how_many_can_fail_only_grows_with_the_selection() -> None:
    allowed = [failures_allowed(size) for size in range(1, 200)]
    assert allowed == sorted(allowed)
    assert failures_allowed(len(NODES)) == 2
