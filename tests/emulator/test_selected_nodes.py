"""A job's selection: how many nodes its build, run and test steps number in their logs as the step's time passes,
and how many results their run_results.json holds."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator
from dbt_cloud_emulator.project import MAX_SELECTED, NODES, selecting, selection

from .helpers import admin, results, run, trigger
from .test_jobs import new_job
from .test_logs import messages, steps_of

SELECTED = 842
# How 842 selected nodes divide: the project's 3 models and 2 tests, then generated nodes of which every third is a
# test.
FOUND = "Found 561 models, 281 data tests, 527 macros"
START = re.compile(r"^(\d+) of (\d+) START ")


def started(logs: str) -> list[tuple[int, int]]:
    """Each `k of M START` line's k and M, in order."""
    found = (START.match(line) for line in messages(logs))
    return [(int(m.group(1)), int(m.group(2))) for m in found if m]


def finished(frozen: Emulator, api: httpx.Client, job_id: int, **body: Any) -> int:
    """Trigger a run of the job and play it to its end: 10 s starting, 60 s running."""
    run_id = int(trigger(api, job_id, **body)["id"])
    frozen.advance(70)
    assert run(api, run_id)["status"] in (10, 20)
    return run_id


def test_the_build_step_numbers_the_selected_nodes_while_it_runs(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_selected_nodes(SELECTED, job_id=job_id)
    run_id = trigger(fapi, job_id, git_sha="abc")["id"]
    frozen.advance(10)  # started; its set-up takes the first 6 of its 60 s running, the build the rest
    frozen.advance(20)
    build = steps_of(fapi, run_id)[-1]
    assert (run(fapi, run_id)["status"], build["status"]) == (3, 3)
    so_far = started(build["logs"])
    assert 1 < len(so_far) < SELECTED
    assert so_far == [(k, SELECTED) for k in range(1, len(so_far) + 1)]
    assert FOUND in messages(build["logs"])
    assert "Done." not in build["logs"]
    frozen.advance(10)
    later = steps_of(fapi, run_id)[-1]
    assert later["logs"].startswith(build["logs"])  # lines are only ever added
    assert len(so_far) < len(started(later["logs"])) < SELECTED
    frozen.advance(30)
    assert run(fapi, run_id)["status"] == 10
    done = steps_of(fapi, run_id)[-1]
    assert started(done["logs"]) == [(k, SELECTED) for k in range(1, SELECTED + 1)]
    said = messages(done["logs"])
    assert "Finished running 561 table models, 281 data tests in 0 hours 0 minutes and 54.00 seconds (54.00s)." in said
    assert said[-1] == f"Done. PASS={SELECTED} WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL={SELECTED}"
    found = results(fapi, run_id)
    assert len(found) == len({r["unique_id"] for r in found}) == SELECTED
    assert Counter(r["status"] for r in found) == {"success": 561, "pass": 281}
    manifest = fapi.get(f"/runs/{run_id}/artifacts/manifest.json").json()
    assert {r["unique_id"] for r in found} == set(manifest["nodes"])


def test_a_failing_selection_errors_in_its_first_model_and_skips_what_depends_on_it(
    frozen: Emulator, fapi: httpx.Client
) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_selected_nodes(SELECTED, job_id=job_id)
    frozen.set_outcome("error", job_id=job_id)
    run_id = finished(frozen, fapi, job_id)
    found = {r["unique_id"]: r["status"] for r in results(fapi, run_id)}
    assert len(found) == SELECTED
    assert Counter(found.values()) == {"error": 1, "skipped": 2, "success": 559, "pass": 280}
    assert found["model.emulated_project.stg_orders"] == "error"
    said = messages(steps_of(fapi, run_id)[-1]["logs"])
    assert any(line.startswith(f"1 of {SELECTED} ERROR creating sql table model analytics.stg_orders") for line in said)
    assert any(line.startswith(f"3 of {SELECTED} SKIP relation analytics.orders") for line in said)
    assert said[-1] == f"Done. PASS=839 WARN=0 ERROR=1 SKIP=2 NO-OP=0 TOTAL={SELECTED}"


def test_a_clone_selects_as_many_nodes_as_its_source(frozen: Emulator, fapi: httpx.Client) -> None:
    source = frozen.ci_job_id or 0
    frozen.set_selected_nodes(SELECTED, job_id=source)
    clone = fapi.post("/jobs/", json=new_job(frozen, name=f"CI [autoscale {source} PR #7 0a1b2c3d]")).json()["data"]
    bare = fapi.post("/jobs/", json=new_job(frozen, name=f"CI [autoscale {source} PR #8]")).json()["data"]
    plain = fapi.post("/jobs/", json=new_job(frozen, name="CI copy")).json()["data"]
    assert len(results(fapi, finished(frozen, fapi, clone["id"]))) == SELECTED
    assert len(results(fapi, finished(frozen, fapi, bare["id"]))) == SELECTED  # a marker without its nonce
    assert len(results(fapi, finished(frozen, fapi, plain["id"]))) == len(NODES)  # not a clone: the project's own
    frozen.set_selected_nodes(12, job_id=clone["id"])  # a rule of its own wins over its source's
    assert len(results(fapi, finished(frozen, fapi, clone["id"]))) == 12
    frozen.set_selected_nodes(None, job_id=clone["id"])
    assert len(results(fapi, finished(frozen, fapi, clone["id"]))) == SELECTED
    frozen.set_selected_nodes(None, job_id=source)
    assert len(results(fapi, finished(frozen, fapi, clone["id"]))) == len(NODES)


def test_a_rule_without_a_job_is_every_other_jobs(frozen: Emulator, fapi: httpx.Client) -> None:
    ci = frozen.ci_job_id or 0
    other = frozen.seed_job("Nightly")
    frozen.set_selected_nodes(30)
    frozen.set_selected_nodes(SELECTED, job_id=ci)
    assert len(results(fapi, finished(frozen, fapi, other))) == 30
    assert len(results(fapi, finished(frozen, fapi, ci))) == SELECTED
    frozen.set_selected_nodes(None)
    assert len(results(fapi, finished(frozen, fapi, other))) == len(NODES)


def test_only_build_run_and_test_select(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_selected_nodes(20, job_id=job_id)
    commands = ["dbt seed", "dbt run --select state:modified+", "dbt --warn-error test", "dbt source freshness"]
    run_id = finished(frozen, fapi, job_id, steps_override=commands)
    steps = steps_of(fapi, run_id)[3:]
    totals = [{total for _, total in started(step["logs"])} for step in steps]
    assert totals == [{5}, {20}, {20}, {5}]
    assert [len(results(fapi, run_id, step["index"])) for step in steps] == [5, 20, 20, 5]
    # Each step's `Found` counts the project, which holds the selection and the project's own nodes.
    assert all("Found 13 models, 7 data tests, 527 macros" in messages(step["logs"]) for step in steps)


def test_a_selection_smaller_than_the_project_takes_its_first_nodes(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_selected_nodes(2, job_id=job_id)
    run_id = finished(frozen, fapi, job_id, generate_docs_override=True)
    build, docs = steps_of(fapi, run_id)[-2:]
    assert started(build["logs"]) == [(1, 2), (2, 2)]
    assert "Found 3 models, 2 data tests, 527 macros" in messages(build["logs"])
    assert [r["unique_id"] for r in results(fapi, run_id, build["index"])] == [node[0] for node in NODES[:2]]
    assert len(results(fapi, run_id, docs["index"])) == len(NODES)  # docs compile the whole project


def test_docs_generation_compiles_the_whole_selection(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_selected_nodes(SELECTED, job_id=job_id)
    run_id = finished(frozen, fapi, job_id, generate_docs_override=True)
    last = fapi.get(f"/runs/{run_id}/artifacts/run_results.json").json()
    assert last["args"]["which"] == "generate" and len(last["results"]) == SELECTED
    catalog = fapi.get(f"/runs/{run_id}/artifacts/catalog.json").json()
    assert len(catalog["nodes"]) == 561  # the models


def test_a_run_keeps_the_selection_it_left_the_queue_with(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_selected_nodes(SELECTED, job_id=job_id)
    run_id = trigger(fapi, job_id)["id"]
    frozen.advance(10)
    frozen.set_selected_nodes(None, job_id=job_id)
    frozen.advance(60)
    assert len(results(fapi, run_id)) == SELECTED
    assert len(results(fapi, finished(frozen, fapi, job_id))) == len(NODES)


def test_the_selection_is_set_over_http_too(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    assert admin(frozen, "POST", "selected_nodes", {"count": 40, "job_id": job_id}).status_code == 200
    assert len(results(fapi, finished(frozen, fapi, job_id))) == 40
    assert admin(frozen, "POST", "selected_nodes", {"count": None, "job_id": job_id}).status_code == 200
    assert len(results(fapi, finished(frozen, fapi, job_id))) == len(NODES)
    for bad in ({"count": 0}, {"count": "842"}, {"count": True}, {"count": MAX_SELECTED + 1}, {"nodes": 3}):
        assert admin(frozen, "POST", "selected_nodes", bad).status_code == 400, bad


@pytest.mark.parametrize("count", [0, -1, MAX_SELECTED + 1, True, 8.5, "842"])
def test_a_selection_is_a_whole_number_of_nodes(emu: Emulator, count: Any) -> None:
    with pytest.raises(ValueError, match="selected nodes"):
        emu.set_selected_nodes(count, job_id=emu.ci_job_id)


@pytest.mark.parametrize(
    ("command", "selects"),
    [
        ("dbt build", True),
        ("dbt build --select state:modified+", True),
        ("dbt run -s my_model", True),
        ("dbt --debug test", True),
        ("dbt seed", False),
        ("dbt source freshness", False),
        ("dbt docs generate", False),
        ("dbt compile", False),
        ("dbt", False),
    ],
)
def test_which_commands_a_selection_sets(command: str, selects: bool) -> None:
    assert selecting(command) is selects


def test_a_generated_selection_tests_the_model_before_each_test() -> None:
    nodes = selection(SELECTED)
    assert nodes[: len(NODES)] == NODES and len({node[0] for node in nodes}) == SELECTED
    seen: set[str] = set()
    for unique_id, kind, relation, parents in nodes:
        assert set(parents) <= seen  # dbt runs a node after what it depends on
        assert (relation is None) == (kind == "test")
        seen.add(unique_id)
    assert selection(None) == NODES
