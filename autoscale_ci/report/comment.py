"""The pull request comment: its text while the run is in flight and once it has ended, the hidden marker that
finds it again, and when a step may write it; pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.github.api import Comment
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report.outcome import Outcome
from autoscale_ci.report.summary import (
    ICONS,
    attempts_lines,
    cell,
    counts_line,
    failed_step_section,
    folded,
    problems_table,
    reasons,
    timings,
)
from autoscale_ci.rules.decide import Plan
from autoscale_ci.rules.verdict import RunStatus

Mode = Literal["always", "on-failure", "never"]
RUNNING_ICON = "🔄"
NODE_ROWS = 20  # the job summary lists far more; a comment stays short enough to read in a review
MESSAGE_CHARS = 300
# GitHub refuses a comment body over 65,536 characters.
BODY_LIMIT = 65_000
_MARKER = re.compile(r"<!-- autoscale-dbt-ci job=(\d+) sha=([0-9a-f]*) pushed=(\S*) -->")


@dataclass(frozen=True)
class Marker:
    """What the hidden first line of a comment says: the job it reports on, and for which commit."""

    job_id: int
    sha: str
    pushed_at: datetime | None = None

    def line(self) -> str:
        """The marker as the comment's first line."""
        pushed = self.pushed_at.isoformat() if self.pushed_at else ""
        return f"<!-- autoscale-dbt-ci job={self.job_id} sha={self.sha} pushed={pushed} -->"


def read_marker(body: str) -> Marker | None:
    """The marker a comment body starts with, or None for a comment this action did not write."""
    found = _MARKER.match(body)
    if found is None:
        return None
    try:
        pushed = datetime.fromisoformat(found[3]) if found[3] else None
    except ValueError:
        pushed = None
    return Marker(int(found[1]), found[2], pushed)


def trusted(comment: Comment, login: str | None) -> bool:
    """Whether a comment carrying the marker is this action's: written by a bot (the workflow's token, an app), or
    by the person whose token the step has. A marker anyone else wrote is not edited: a new comment is made."""
    return comment.by_bot or (login is not None and comment.author == login)


def wanted(mode: Mode, *, failed: bool, exists: bool) -> bool:
    """Whether to write the comment: `on-failure` writes one for a failure, and keeps one that exists current, so
    that it never shows a failure the latest commit fixed."""
    return mode == "always" or (mode == "on-failure" and (failed or exists))


def may_replace(existing: Marker | None, ours: Marker, head_sha: str | None) -> bool:
    """Whether this step's comment may take the place of `existing`, given the pull request's head commit now
    (None when GitHub did not say): a workflow for an older commit never overwrites a newer commit's comment."""
    if head_sha is not None and head_sha != ours.sha:
        return False
    if existing is None or ours.sha in (existing.sha, head_sha):
        return True
    # GitHub did not say which commit is the head: the later push wins, and without push times the comment stays.
    return existing.pushed_at is not None and ours.pushed_at is not None and ours.pushed_at > existing.pushed_at


def _header(marker: Marker, icon: str, status: str, pr: PullRequest, run: Run | None) -> list[str]:
    link = f" · [run {run.id}]({run.href})" if run and run.href else (f" · run {run.id}" if run else "")
    spent = timings(run) if run else ""
    return [
        marker.line(),
        f"### {icon} dbt Cloud CI: {status}",
        "",
        f"Job {marker.job_id} · commit `{pr.short_sha}`{link}" + (f" · {spent}" if spent else ""),
        "",
    ]


def in_flight(marker: Marker, pr: PullRequest, plan: Plan, run: Run, cloned_job_id: int | None) -> str:
    """The comment while the run is in flight."""
    lines = _header(marker, RUNNING_ICON, "running", pr, run)
    lines += ["The run is in flight; this comment is updated when it ends.", ""]
    lines += folded(plan, reasons(plan, cloned_job_id))
    return "\n".join(lines) + "\n"


def ended(marker: Marker, pr: PullRequest, message: str) -> str:
    """The comment of a step that failed before it had a verdict (dbt Cloud refused it, say)."""
    lines = _header(marker, "❌", "failed", pr, None)
    return "\n".join([*lines, cell(message)]) + "\n"


def finished(marker: Marker, outcome: Outcome) -> str:
    """The comment once the step has a verdict: the verdict and the failing nodes first, the reasoning folded after."""
    status = outcome.run_status
    lines = _header(marker, ICONS.get(status, "🔹"), status, outcome.pr, outcome.run)
    if outcome.message:
        lines += [cell(outcome.message), ""]
    lines += [line for note in outcome.notes for line in (f"> ⚠️ {cell(note)}", "")]
    if outcome.attempts:
        lines += [*attempts_lines(outcome.attempts), ""]
    results = outcome.results
    if results is not None:
        lines += [f"**Nodes:** {counts_line(results)}", ""]
        lines += _problems(outcome)
    elif outcome.failed_step is not None and status != RunStatus.SUCCESS:
        lines += [*failed_step_section(outcome.failed_step), ""]
    why = folded(outcome.plan, reasons(outcome.plan, outcome.cloned_job_id, outcome.cancelled_run_ids))
    # The reasoning goes last, so that a body cut to GitHub's limit loses it before any failing node.
    body = "\n".join([*lines, *why]) + "\n"
    if len(body) > BODY_LIMIT:
        # Cut at a line's end, so that no table row or link is left half open.
        body = body[: body.rfind("\n", 0, BODY_LIMIT) + 1] + "\n_Cut to fit GitHub's limit: see the job summary._\n"
    return body


def _problems(outcome: Outcome) -> list[str]:
    problems = outcome.results.problems if outcome.results else ()
    if not problems:
        return []
    where = f"[the run]({outcome.run.href})" if outcome.run and outcome.run.href else "the job summary"
    return [*problems_table(problems, NODE_ROWS, MESSAGE_CHARS, more=f"are in {where}"), ""]
