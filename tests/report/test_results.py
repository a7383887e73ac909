from __future__ import annotations

from typing import Any

from autoscale_ci.report.results import Node, RunResults, summarize
from autoscale_ci.report.summary import NODE_ROWS, results_section


def result(unique_id: str, status: str, message: str | None = None) -> dict[str, Any]:
    return {"unique_id": unique_id, "status": status, "message": message, "execution_time": 1.0}


def test_counts_by_status_and_the_nodes_that_went_wrong() -> None:
    document = {
        "results": [
            result("model.p.a", "success", "SELECT 10"),
            result("model.p.b", "error", "Database Error\n  relation does not exist"),
            result("test.p.c", "fail", "Got 3 results, configured to fail if != 0"),
            result("test.p.d", "warn", "Got 1 result"),
            result("model.p.e", "skipped"),
            result("test.p.f", "pass"),
        ]
    }
    found = summarize(document)
    assert found is not None
    assert found.counts == {"success": 1, "pass": 1, "warn": 1, "fail": 1, "error": 1, "skipped": 1}
    assert [(node.unique_id, node.status) for node in found.problems] == [
        ("model.p.b", "error"),
        ("test.p.c", "fail"),
        ("test.p.d", "warn"),
    ]
    assert found.problems[0].message == "Database Error relation does not exist"


def test_documents_that_are_not_run_results() -> None:
    assert summarize({"nodes": {}}) is None
    assert summarize([1, 2]) is None
    assert summarize({"results": ["x"]}) == RunResults({}, ())


def test_summary_section_lists_problems_and_escapes_pipes() -> None:
    results = RunResults({"success": 2, "error": 1}, (Node("model.p.b", "error", "bad | thing"),))
    lines = results_section(results)
    assert lines[2] == "2 success, 1 error"
    assert "| `model.p.b` | error | bad \\| thing |" in lines


def test_summary_section_stays_bounded() -> None:
    many = tuple(Node(f"model.p.m{i}", "error", "x" * 5000) for i in range(NODE_ROWS + 5))
    text = "\n".join(results_section(RunResults({"error": len(many)}, many)))
    assert "_5 more not shown._" in text
    assert len(text.encode()) < 200 * 1024


def test_summary_shows_queued_and_running_time() -> None:
    from autoscale_ci.dbt_cloud.models import Run
    from autoscale_ci.inputs.github_event import PullRequest
    from autoscale_ci.report.outcome import Outcome
    from autoscale_ci.report.summary import summary
    from autoscale_ci.rules.decide import Trigger
    from autoscale_ci.rules.verdict import RunStatus

    run = Run.model_validate(
        {"id": 1, "job_definition_id": 2, "status": 10, "queued_duration": "00:00:42", "run_duration": "00:03:05"}
    )
    outcome = Outcome(Trigger("idle"), PullRequest(3, "a" * 40), RunStatus.SUCCESS, run=run, seconds=230)
    assert "| Duration | 3m 50s (queued 42s, ran 3m 05s) |" in summary(outcome)


def test_failed_dbt_v2_checks_are_counted_and_named_as_checks() -> None:
    document = {
        "results": [
            result("check.p.owners", "error", "1 model has no owner"),
            result("check.p.descriptions", "warn", "2 models lack a description"),
            result("model.p.a", "skipped"),
        ]
    }
    found = summarize(document)
    assert found is not None and found.failed_checks == 1
    assert "1 error, 1 warn, 1 skipped (1 check failed)" in results_section(found)
    document["results"].append(result("check.p.names", "fail", "bad name"))
    again = summarize(document)
    assert again is not None and "(2 checks failed)" in "\n".join(results_section(again))
    plain = summarize({"results": [result("model.p.a", "error")]})
    assert plain is not None and plain.failed_checks == 0 and "check" not in "\n".join(results_section(plain))
