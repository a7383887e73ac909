from __future__ import annotations

from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report.outcome import Outcome
from autoscale_ci.report.results import Node, RunResults
from autoscale_ci.report.summary import skip_outputs, skip_summary, summary
from autoscale_ci.rules.decide import Clone, Skip, Trigger
from autoscale_ci.rules.verdict import RunStatus

PR = PullRequest(number=7, head_sha="a" * 40)
RUN = Run(id=11, job_definition_id=5, status=20, href="https://cloud.example/runs/11/", run_duration="00:01:05")


def test_a_runs_summary_puts_its_verdict_and_results_first_and_folds_the_reasoning() -> None:
    results = RunResults({"error": 1}, (Node("model.p.broken", "error", "relation missing"),))
    outcome = Outcome(
        Clone("job 5 is busy with PR #3"), PR, RunStatus.ERROR, run=RUN, job_id=42, cloned_job_id=42,
        cancelled_run_ids=(8, 9), exit_code=1, results=results,
    )  # fmt: skip
    text = summary(outcome)
    assert text.index("| Status | error |") < text.index("model.p.broken") < text.index("<details>")
    folded = text[text.index("<details>") :]
    assert "<summary>Why this run: <code>clone-and-trigger</code></summary>" in folded
    assert "| Decision | `clone-and-trigger`: job 5 is busy with PR #3 |" in folded
    assert "| Ran on | clone job 42 |" in folded and "| Cancelled runs | 8, 9 |" in folded
    assert folded.rstrip().endswith("</details>")


def test_without_a_run_the_decision_is_the_story_and_stays_open() -> None:
    skipped = summary(Outcome(Skip("PR #7 is a draft"), PR, RunStatus.SKIPPED))
    assert "<details>" not in skipped and skipped.index("| Decision | `skip`: PR #7 is a draft |") < skipped.index(
        "| Status | skipped |"
    )
    dry = summary(Outcome(Trigger("job 5 is idle"), PR, RunStatus.DRY_RUN, trigger_body='{"cause": "x"}'))
    assert "<details>" not in dry and "| Decision | `plain-trigger`: job 5 is idle |" in dry
    assert '```\n{"cause": "x"}\n```' in dry


def test_a_dry_runs_plan_triggers_first_cancels_after_and_names_the_pull_request_as_its_host_does() -> None:
    from autoscale_ci.report.summary import planned
    from autoscale_ci.rules.decide import ActiveRun

    stale = ActiveRun(10, 5, "CI", 7, "b" * 40)
    steps = planned(Trigger("job 5 is idle", cancel=(stale,)), 5, {"cause": "x"}, "MR !")
    assert steps[0] == "trigger job 5" and steps[1].startswith("send the trigger body")
    assert steps[2].startswith("cancel run 10 of job 5 (MR !7 at commit bbbbbbb)")


def test_a_merge_queue_entrys_summary_names_the_entry_beside_the_pull_request() -> None:
    entry = PullRequest(number=7, head_sha="b" * 40, queue_branch="gh-readonly-queue/main/pr-7-`x`")
    text = summary(Outcome(Trigger("job 5 is idle"), entry, RunStatus.SUCCESS, run=RUN, job_id=5))
    rows = text.splitlines()
    at = rows.index("| Pull request | PR #7 |")
    assert rows[at + 1 : at + 3] == [
        "| Merge queue entry | `gh-readonly-queue/main/pr-7-x` |",
        "| Commit | `bbbbbbb` |",
    ]
    assert "Merge queue" not in summary(Outcome(Trigger("job 5 is idle"), PR, RunStatus.SUCCESS, run=RUN, job_id=5))


def test_a_skip_before_any_pull_request_is_its_decision_alone() -> None:
    plan = Skip("merge-queue is skip, so the merge queue entry q passes without a run")
    assert skip_outputs(plan) == {"decision": "skip", "run-status": "skipped"}
    assert skip_summary(plan) == (
        "### ⏭️ dbt Cloud CI: skipped\n\n| | |\n| --- | --- |\n"
        "| Decision | `skip`: merge-queue is skip, so the merge queue entry q passes without a run |\n"
    )
