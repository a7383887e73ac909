from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report.comment import (
    BODY_LIMIT,
    NODE_ROWS,
    Marker,
    Mode,
    finished,
    in_flight,
    may_replace,
    read_marker,
    wanted,
)
from autoscale_ci.report.failed_step import FailedStep
from autoscale_ci.report.outcome import Outcome
from autoscale_ci.report.results import Node, RunResults
from autoscale_ci.rules.decide import Trigger
from autoscale_ci.rules.verdict import RunStatus

SHA_A, SHA_B = "a" * 40, "b" * 40
PUSHED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PR = PullRequest(number=7, head_sha=SHA_A, updated_at=PUSHED)
RUN = Run(id=11, job_definition_id=5, status=20, href="https://cloud.example/runs/11/", run_duration="00:01:05")
OURS = Marker(5, SHA_A, PUSHED)


def outcome(**changes: Any) -> Outcome:
    base = Outcome(Trigger("job 5 is idle"), PR, RunStatus.ERROR, run=RUN, job_id=5, exit_code=1, message="failed")
    return replace(base, **changes)


def test_the_marker_is_read_back_from_the_first_line() -> None:
    body = finished(OURS, outcome())
    assert read_marker(body) == OURS
    assert read_marker(Marker(5, SHA_A).line()) == Marker(5, SHA_A, None)
    assert read_marker("LGTM\n" + OURS.line()) is None  # a quote of the marker in someone's comment is not one
    assert read_marker("<!-- autoscale-dbt-ci job=5 sha=aaa pushed=yesterday -->") == Marker(5, "aaa", None)


@pytest.mark.parametrize(
    ("mode", "failed", "exists", "expected"),
    [
        ("always", False, False, True),
        ("on-failure", True, False, True),
        ("on-failure", False, True, True),
        ("on-failure", False, False, False),
        ("never", True, True, False),
    ],
)
def test_when_the_comment_is_written(mode: Mode, failed: bool, exists: bool, expected: bool) -> None:
    assert wanted(mode, failed=failed, exists=exists) is expected


def test_a_step_for_a_commit_that_is_no_longer_the_head_writes_nothing() -> None:
    assert not may_replace(None, OURS, SHA_B)
    assert not may_replace(Marker(5, SHA_A), OURS, SHA_B)


def test_the_head_commit_replaces_any_comment() -> None:
    assert may_replace(None, OURS, SHA_A)
    assert may_replace(Marker(5, SHA_B, PUSHED + timedelta(hours=1)), OURS, SHA_A)


def test_without_the_head_the_later_push_wins() -> None:
    assert may_replace(Marker(5, SHA_A), OURS, None)  # its own comment
    assert may_replace(Marker(5, SHA_B, PUSHED - timedelta(minutes=1)), OURS, None)
    assert not may_replace(Marker(5, SHA_B, PUSHED + timedelta(minutes=1)), OURS, None)
    assert not may_replace(Marker(5, SHA_B, None), OURS, None)


def test_the_in_flight_comment_says_so_with_the_run_link() -> None:
    body = in_flight(OURS, PR, Trigger("job 5 is idle"), RUN, cloned_job_id=None)
    assert "### 🔄 dbt Cloud CI: running" in body
    assert "[run 11](https://cloud.example/runs/11/)" in body
    assert "`plain-trigger`: job 5 is idle" in body and "ran 1m 05s" in body


def test_the_finished_comment_counts_nodes_and_lists_the_failing_ones_bounded() -> None:
    many = tuple(Node(f"model.p.m{i}", "error", "x" * 1000) for i in range(NODE_ROWS + 3))
    results = RunResults({"success": 4, "pass": 2, "reused": 3, "error": len(many)}, many)
    body = finished(OURS, outcome(results=results))
    assert f"**Nodes:** 6 success, {len(many)} error, 3 reused" in body
    assert body.count("| `model.p.m") == NODE_ROWS
    assert "_3 more are in [the run](https://cloud.example/runs/11/)._" in body
    assert "x" * 301 not in body


def test_a_run_without_results_shows_the_failed_step_and_its_log() -> None:
    step = FailedStep(3, "Invoke dbt with `dbt deps`", ("Installing dbt_utils", "```", "ERROR: not found"), True)
    body = finished(OURS, outcome(failed_step=step))
    assert "#### Failed in step 3: `dbt deps`" in body
    assert "````\nInstalling dbt_utils\n```\nERROR: not found\n````" in body  # a fence the log cannot close
    assert "(last lines)" in body


def test_a_comment_never_outgrows_what_github_accepts() -> None:
    huge = "| " * 40_000
    body = finished(OURS, outcome(message=huge))
    assert len(body) <= BODY_LIMIT + 100
    assert body.endswith("_Cut to fit GitHub's limit: see the job summary._\n")


def test_superseded_and_timed_out_runs_say_so() -> None:
    superseded = finished(OURS, outcome(run_status=RunStatus.SUPERSEDED, exit_code=0, message="superseded by bbb"))
    assert "### ⏭️ dbt Cloud CI: superseded" in superseded and "superseded by bbb" in superseded
    timed = finished(OURS, outcome(run_status=RunStatus.TIMEOUT, message="dbt Cloud cancelled run 11 because"))
    assert "### ⏱️ dbt Cloud CI: timeout" in timed


def test_messages_from_dbt_cannot_mention_anyone_or_inject_html() -> None:
    hostile = "copy into @raw_stage <img src=x> <!-- hide the rest | & more"
    body = finished(
        OURS, outcome(message=hostile, results=RunResults({"error": 1}, (Node("m.p.a", "error", hostile),)))
    )
    assert "@raw_stage" not in body and "<img" not in body and "<!-- hide" not in body
    assert "@&#8288;raw_stage &lt;img src=x&gt; &lt;!-- hide the rest \\| &amp; more" in body


def test_the_verdict_and_failing_nodes_come_first_and_the_reasoning_is_folded_after_them() -> None:
    results = RunResults({"error": 1}, (Node("model.p.broken", "error", "relation missing"),))
    body = finished(OURS, outcome(results=results, cloned_job_id=42, cancelled_run_ids=(9,)))
    verdict, node, fold = body.index("dbt Cloud CI: error"), body.index("model.p.broken"), body.index("<details>")
    assert verdict < node < fold < body.index("`plain-trigger`: job 5 is idle") < body.index("</details>")
    assert "| Ran on | clone job 42 |" in body and "| Cancelled runs | 9 |" in body
    assert "queued" not in body and "· ran 1m 05s" in body.splitlines()[3]  # the time is beside the run link


def test_a_cut_comment_loses_the_reasoning_before_any_failing_node() -> None:
    many = tuple(Node(f"model.p.m{i}", "error", "y" * 290) for i in range(NODE_ROWS))
    results = RunResults({"error": NODE_ROWS}, many)
    before_the_fold = finished(OURS, outcome(results=results, message="")).index("<details>")
    # A message that leaves the nodes just inside the limit and the folded reasoning just outside it.
    body = finished(OURS, outcome(results=results, message="z" * (BODY_LIMIT - before_the_fold - 60)))
    assert body.count("| `model.p.m") == NODE_ROWS
    assert "Why this run" not in body and body.endswith("_Cut to fit GitHub's limit: see the job summary._\n")
