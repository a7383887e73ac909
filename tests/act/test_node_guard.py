from __future__ import annotations

import io
from collections import Counter
from typing import Any

from autoscale_ci.act.node_guard import FOLLOWED, NodeGuard, guard_for
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.report.results import RunResults

BUILD = "Invoke dbt with `dbt build --select state:modified+`"
RUNNING, SUCCESS = 3, 10


def run(status: int, *steps: tuple[str, str]) -> Run:
    rows: list[dict[str, Any]] = [{"index": k, "name": name, "logs": log} for k, (name, log) in enumerate(steps, 1)]
    return Run.model_validate({"id": 11, "job_definition_id": 5, "status": status, "run_steps": rows})


def guard(out: io.StringIO, *, cancel: bool = True, own: bool = True) -> NodeGuard:
    made = guard_for(Runtime({"GITHUB_ACTIONS": "true"}, out), 100, cancel=cancel, own=own)
    assert made is not None
    return made


def test_no_limit_no_guard() -> None:
    assert guard_for(Runtime({}, io.StringIO()), None, cancel=True, own=True) is None


def test_a_running_run_past_the_limit_is_stopped_and_said_cancelled_once_it_is() -> None:
    out = io.StringIO()
    watching = guard(out)
    assert watching.sees(run(RUNNING, (BUILD, "1 of 842 START model a")))
    assert "cancelled it" in watching.stopped(11, cancelled=True)
    assert "cancelled it" not in watching.stopped(11, cancelled=False)  # the cancel failed: never said done
    assert watching.notes(11, None) == (watching.said,)
    assert "::warning" not in out.getvalue()  # the error of the failed step says it


def test_a_run_seen_ended_is_judged_as_it_ended_never_cancelled() -> None:
    out = io.StringIO()
    watching = guard(out)
    assert not watching.sees(run(SUCCESS, (BUILD, "1 of 842 START model a")))
    assert not watching.stopping
    assert watching.said is not None and "cancelled it" not in watching.said and "goes on" not in watching.said
    assert out.getvalue().count("::warning title=Too many nodes::") == 1


def test_a_followed_run_is_warned_of_and_told_why_it_goes_on() -> None:
    out = io.StringIO()
    watching = guard(out, own=False)
    assert not watching.sees(run(RUNNING, (BUILD, "1 of 842 START model a")))
    assert FOLLOWED in out.getvalue()


def test_a_seed_first_does_not_hide_the_builds_count() -> None:
    out = io.StringIO()
    watching = guard(out, cancel=False)
    seed = ("Invoke dbt with `dbt seed`", "1 of 3 START seed file a")
    assert not watching.sees(run(RUNNING, seed))
    assert not watching.sees(run(RUNNING, seed, (BUILD, "1 of 50 START model a")))
    assert not watching.sees(
        run(RUNNING, seed, (BUILD, "1 of 50 START model a"), ("Invoke dbt with `dbt test`", "1 of 900 START test"))
    )
    said = out.getvalue()
    assert said.count("within max-nodes 100") == 1
    assert said.count("::warning title=Too many nodes::") == 1 and "selected 900 nodes" in said


def test_without_a_count_in_the_log_the_results_give_it_after_the_run() -> None:
    out = io.StringIO()
    watching = guard(out)
    assert not watching.sees(run(RUNNING, (BUILD, "Concurrency: 4 threads")))
    results = RunResults(counts=Counter({"success": 150}), problems=())
    (note,) = watching.notes(11, results)
    assert "selected 150 nodes, more than max-nodes 100" in note
    assert guard(io.StringIO()).notes(11, RunResults(counts=Counter({"success": 99}), problems=())) == ()
