"""Step outputs and the Markdown job summary for an outcome; pure formatting."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from autoscale_ci.act.closed_pr import Closed
from autoscale_ci.act.stale_clones import Sweep
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.report.failed_step import FailedStep
from autoscale_ci.report.outcome import Attempt, Outcome
from autoscale_ci.report.results import Node, RunResults
from autoscale_ci.rules.annotations import MESSAGE_CHARS, cut
from autoscale_ci.rules.decide import Clone, Follow, Plan, Skip, Trigger
from autoscale_ci.rules.polling import parse_duration
from autoscale_ci.rules.verdict import RunStatus

ICONS = {
    RunStatus.SUCCESS: "✅",
    RunStatus.SUPERSEDED: "⏭️",
    RunStatus.SKIPPED: "⏭️",
    RunStatus.ERROR: "❌",
    RunStatus.CANCELLED: "🚫",
    RunStatus.TIMEOUT: "⏱️",
}


def decision(plan: Plan) -> str:
    """The name the `decision` output gives the plan."""
    match plan:
        case Skip():
            return "skip"
        case Follow():
            return "follow"
        case Trigger(cancel=cancel) | Clone(cancel=cancel) if cancel:
            return "cancel-and-retrigger"
        case Trigger():
            return "plain-trigger"
        case Clone():
            return "clone-and-trigger"


def planned(plan: Plan, job_id: int, payload: Mapping[str, Any], prefix: str = "PR #") -> list[str]:
    """What a real run would do with `plan`, step by step, for a dry run; pull requests named with `prefix`."""
    steps: list[str] = []
    match plan:
        case Skip():
            steps.append(f"trigger nothing: {plan.reason}")
        case Follow(run=followed):
            steps.append(f"trigger nothing and follow run {followed.id}, in flight for this commit")
        case Clone(reuse_clone_id=reused) if reused is not None:
            steps.append(f"update idle clone job {reused} from job {job_id}, trigger it, and keep it afterwards")
        case Clone():
            steps.append(
                f"clone job {job_id} (every trigger and the schedule off), trigger the clone, and delete it "
                "once its run has finished"
            )
        case Trigger():
            steps.append(f"trigger job {job_id}")
    if isinstance(plan, Trigger | Clone):
        steps.append(f"send the trigger body {json.dumps(dict(payload), sort_keys=True)}")
        # Once dbt Cloud has accepted the trigger, never before.
        for stale in plan.cancel:
            at = f" at commit {stale.sha[:7]}" if stale.sha else ""
            steps.append(f"cancel run {stale.id} of job {stale.job_id} ({prefix}{stale.pr_number}{at}): {plan.reason}")
    return steps


def failed_nodes(results: RunResults | None) -> list[str]:
    """The unique ids of the nodes that errored or failed (a warning is no failure), each once."""
    failing = (node.unique_id for node in (results.problems if results else ()) if node.status != "warn")
    return list(dict.fromkeys(failing))


def outputs(outcome: Outcome) -> dict[str, str]:
    """The values of the action's outputs."""
    run = outcome.run
    results = outcome.results
    return {
        "decision": decision(outcome.plan),
        "run-id": str(run.id) if run else "",
        "attempts": str(len(outcome.attempts) + 1) if run else "",
        "run-url": (run.href or "") if run else "",
        "run-status": outcome.run_status,
        "job-id": str(outcome.job_id) if outcome.job_id is not None else "",
        "cloned-job-id": str(outcome.cloned_job_id) if outcome.cloned_job_id is not None else "",
        "cancelled-run-ids": ",".join(str(run_id) for run_id in outcome.cancelled_run_ids),
        "failed-nodes": "\n".join(failed_nodes(results)),
        "nodes-summary": json.dumps({"total": results.total, **results.tally()}) if results else "",
    }


def duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m {whole % 60:02d}s" if whole >= 60 else f"{whole}s"


_INLINE = str.maketrans({"|": "\\|", "\n": " ", "&": "&amp;", "<": "&lt;", ">": "&gt;"})


def cell(text: str) -> str:
    """Text from dbt or dbt Cloud, fit for one line of Markdown: no table break, no HTML, and no @mention (a
    Snowflake stage such as `@raw_stage` would notify whoever has that name)."""
    return text.translate(_INLINE).replace("@", "@&#8288;")


def timings(run: Run) -> str:
    """`queued 12s, ran 3m 04s`, as far as dbt Cloud says."""
    spent = (("queued", parse_duration(run.queued_duration)), ("ran", parse_duration(run.run_duration)))
    return ", ".join(f"{label} {duration(seconds)}" for label, seconds in spent if seconds is not None)


def reasons(plan: Plan, cloned_job_id: int | None = None, cancelled: Sequence[int] = ()) -> list[tuple[str, str]]:
    """The decision and what it did beside the run: why this run, on which job, in place of which."""
    rows = [("Decision", f"`{decision(plan)}`: {plan.reason}")]
    if cloned_job_id is not None:
        rows.append(("Ran on", f"clone job {cloned_job_id}"))
    if cancelled:
        rows.append(("Cancelled runs", ", ".join(str(run_id) for run_id in cancelled)))
    return rows


def facts(rows: Sequence[tuple[str, str]]) -> list[str]:
    """Rows of name and value as a two-column Markdown table."""
    return ["| | |", "| --- | --- |", *(f"| {name} | {cell(value)} |" for name, value in rows)]


def folded(plan: Plan, rows: Sequence[tuple[str, str]]) -> list[str]:
    """The reasoning under the verdict, folded: a reviewer reads the result first and opens this when curious."""
    return [
        f"<details><summary>Why this run: <code>{decision(plan)}</code></summary>",
        "",
        *facts(rows),
        "",
        "</details>",
    ]


def summary(outcome: Outcome) -> str:
    """The job summary: the verdict, the run and its dbt results first; the decision's reasoning after, folded."""
    run = outcome.run
    status = outcome.run_status
    why = reasons(outcome.plan, outcome.cloned_job_id, outcome.cancelled_run_ids)
    rows = [("Pull request", outcome.pr.name), ("Commit", f"`{outcome.pr.short_sha}`")]
    if outcome.pr.queue_branch is not None:
        branch = outcome.pr.queue_branch.replace("`", "")
        rows.insert(1, ("Merge queue entry", f"`{branch}`" if branch else "(its branch unnamed)"))
    if run is not None:
        link = f"[{run.id}]({run.href})" if run.href else str(run.id)
        rows.append(("Run", f"{link} (job {outcome.job_id})"))
    rows.append(("Status", status))
    if run is not None:
        spent = timings(run)
        rows.append(("Duration", duration(outcome.seconds) + (f" ({spent})" if spent else "")))
    else:
        # No run (a skip, a dry run): the decision is the whole story, so it is not folded away.
        rows, why = [*why, *rows], []
    lines = [f"### {ICONS.get(status, '🔹')} dbt Cloud CI: {status}", "", *facts(rows)]
    if outcome.message:
        lines += ["", cell(outcome.message)]
    lines += [line for note in outcome.notes for line in ("", f"> ⚠️ {cell(note)}")]
    if outcome.attempts:
        lines += ["", *attempts_lines(outcome.attempts)]
    if outcome.trigger_body is not None:
        # In a code block, which neither notifies anyone nor needs escaping: it copies as the JSON it is.
        lines += ["", "The trigger body:", "", *fenced([outcome.trigger_body])]
    if outcome.results is not None:
        lines += ["", *results_section(outcome.results)]
    elif outcome.failed_step is not None:
        lines += ["", *failed_step_section(outcome.failed_step)]
    if why:
        lines += ["", *folded(outcome.plan, why)]
    return "\n".join(lines) + "\n"


def attempts_lines(attempts: Sequence[Attempt]) -> list[str]:
    """Each earlier attempt that failed on weather: its run, the line that showed it, and how the next began."""
    lines = [f"Tried {len(attempts) + 1} times (retry-transient):", ""]
    for attempt in attempts:
        run = f"[{attempt.run_id}]({attempt.href})" if "://" in attempt.href else str(attempt.run_id)
        said = cut(attempt.cause, 200).replace("`", "")
        lines.append(
            f"- Run {run} failed on what looks transient: `{said}`; {attempt.again} as run {attempt.next_run_id}."
        )
    return lines


def counts_line(results: RunResults) -> str:
    """`3 success, 1 error, 1 skipped`: the non-zero counts, or `no nodes`; then how many checks failed, if any."""
    counts = ", ".join(f"{count} {status}" for status, count in results.tally().items() if count) or "no nodes"
    checks = results.failed_checks
    return f"{counts} ({checks} check{'' if checks == 1 else 's'} failed)" if checks else counts


def fenced(lines: Sequence[str]) -> list[str]:
    """Lines in a Markdown code block whose fence no line can close."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *lines, fence]


def failed_step_section(step: FailedStep) -> list[str]:
    """The step a run failed in, and the end of its log."""
    cut = " (last lines)" if step.earlier_lines_cut else ""
    lines = [f"#### Failed in step {step.index}: `{step.command.replace('`', '')}`", ""]
    return lines + ([f"Its log{cut}:", "", *fenced(step.log_tail)] if step.log_tail else ["Its log is empty."])


NODE_ROWS = 200


def problems_table(problems: Sequence[Node], rows: int, chars: int, *, more: str) -> list[str]:
    """The nodes that errored, failed or warned as a table: at most `rows`, messages cut to `chars`."""
    lines = ["| node | status | message |", "| --- | --- | --- |"]
    for node in problems[:rows]:
        message = cut(node.message, chars)
        lines.append(f"| `{node.unique_id.replace('`', '')}` | {cell(node.status)} | {cell(message)} |")
    if len(problems) > rows:
        lines += ["", f"_{len(problems) - rows} more {more}._"]
    return lines


def results_section(results: RunResults) -> list[str]:
    """Counts by status and a table of the nodes that errored, failed or warned."""
    lines = ["#### dbt results", "", counts_line(results)]
    if results.problems:
        lines += ["", *problems_table(results.problems, NODE_ROWS, MESSAGE_CHARS, more="not shown")]
    return lines


def skip_outputs(plan: Skip) -> dict[str, str]:
    """The outputs of a step that skipped before it read a pull request."""
    return {"decision": decision(plan), "run-status": RunStatus.SKIPPED}


def skip_summary(plan: Skip) -> str:
    """The summary of a step that skipped before it read a pull request: the decision is the whole story."""
    status = RunStatus.SKIPPED
    return "\n".join([f"### {ICONS[status]} dbt Cloud CI: {status}", "", *facts(reasons(plan))]) + "\n"


def error_summary(message: str, title: str = "failed") -> str:
    """The summary for a step that ended before it had an outcome."""
    return f"### {'🚫' if title == 'cancelled' else '❌'} dbt Cloud CI: {title}\n\n{cell(message)}\n"


def cleanup_outputs(found: Sweep, closing: Closed, drop: Outcome | None) -> dict[str, str]:
    """The outputs of cleanup mode; the run outputs only when a schema drop ran."""
    values = {
        "decision": "cleanup",
        "deleted-clone-ids": ",".join(map(str, (*closing.deleted, *found.deleted))),
        "cancelled-run-ids": ",".join(map(str, closing.cancelled)),
    }
    if drop is not None and drop.run is not None:
        values.update({"run-id": str(drop.run.id), "run-url": drop.run.href or "", "run-status": drop.run_status})
    return values


def cleanup_summary(job_id: int, found: Sweep, closing: Closed, drop: Outcome | None) -> str:
    """The summary of cleanup mode."""
    deleted = ", ".join(map(str, (*closing.deleted, *found.deleted))) or "none"
    lines = [
        f"### 🧹 dbt Cloud CI: cleanup of job {job_id}'s clones",
        "",
        "| | |",
        "| --- | --- |",
        f"| Clones deleted | {deleted} |",
        f"| Runs of the closed PR cancelled | {', '.join(map(str, closing.cancelled)) or 'none'} |",
        f"| Kept, a run is using them | {len(found.kept_busy)} |",
        f"| Kept, younger than the limit | {len(found.kept_young)} |",
    ]
    if drop is not None and drop.run is not None:
        link = f"[{drop.run.id}]({drop.run.href})" if drop.run.href else str(drop.run.id)
        lines.append(f"| Schema drop | {cell(drop.plan.reason)}: run {link}, {drop.run_status} |")
    return "\n".join(lines) + "\n"
