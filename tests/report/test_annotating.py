from __future__ import annotations

import io
import json
from pathlib import Path

from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report.annotating import annotate
from autoscale_ci.report.outcome import Outcome
from autoscale_ci.report.results import Node, RunResults
from autoscale_ci.rules.annotations import NodeFile
from autoscale_ci.rules.decide import Trigger
from autoscale_ci.rules.verdict import RunStatus

PR = PullRequest(number=7, head_sha="a" * 40)
RUN = Run(id=11, job_definition_id=5, status=20)


def failed(count: int) -> Outcome:
    problems = tuple(Node(f"model.p.m{k}", "error", f"m{k} broke") for k in range(count))
    files = {node.unique_id: NodeFile(f"models/{node.unique_id}.sql", "") for node in problems}
    results = RunResults({"error": count}, problems)
    return Outcome(Trigger("idle"), PR, RunStatus.ERROR, run=RUN, exit_code=1, results=results, node_files=files)


def test_the_nodes_take_the_room_the_verdicts_annotation_left_on_github() -> None:
    out = io.StringIO()
    runtime = Runtime({"GITHUB_ACTIONS": "true"}, out)
    runtime.error("dbt Cloud run 11 failed", title="dbt Cloud run error")
    annotate(failed(12), runtime)
    lines = out.getvalue().splitlines()
    assert len([line for line in lines if line.startswith("::error file=")]) == 9
    assert any(line.startswith("::notice::3 more failed or warned node(s)") for line in lines), lines


def test_elsewhere_every_node_is_annotated_and_gitlab_gets_the_report_even_when_empty(tmp_path: Path) -> None:
    out = io.StringIO()
    gitlab = Runtime({"GITLAB_CI": "true", "CI_PROJECT_DIR": str(tmp_path)}, out)
    annotate(failed(12), gitlab)
    assert len([line for line in out.getvalue().splitlines() if ".sql:1: error:" in line]) == 12
    report = tmp_path / "gl-code-quality-report.json"
    assert len(json.loads(report.read_text(encoding="utf-8"))) == 12
    passed = Outcome(Trigger("idle"), PR, RunStatus.SUCCESS, run=RUN, results=RunResults({"success": 3}, ()))
    annotate(passed, gitlab)
    assert json.loads(report.read_text(encoding="utf-8")) == []  # the last findings show as resolved


def test_a_report_that_cannot_be_written_or_a_failure_inside_is_a_warning(tmp_path: Path) -> None:
    out = io.StringIO()
    gitlab = Runtime({"GITLAB_CI": "true", "CI_PROJECT_DIR": str(tmp_path / "missing" / "dir")}, out)
    annotate(failed(1), gitlab)
    assert "warning: Code Quality report: Could not write the Code Quality report" in out.getvalue()
    broken = Outcome(Trigger("idle"), PR, RunStatus.ERROR, run=RUN, results=RunResults({"error": 1}, (None,)))  # type: ignore[arg-type]
    annotate(broken, Runtime({}, out))
    assert "warning: Could not annotate the failed nodes on their files (AttributeError" in out.getvalue()
