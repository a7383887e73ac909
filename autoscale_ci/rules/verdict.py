"""The verdict, pure: what a finished run means for the step (`verdict`, `superseded_by`, `explained`), and when a
followed run must be decided again (`decide_again`). No I/O: the executor reads the run and carries it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from autoscale_ci.dbt_cloud.models import CANCELLED, ERROR, SUCCESS, status_name
from autoscale_ci.rules.decide import ActiveRun, Follow, Plan, belongs_to
from autoscale_ci.rules.markers import PushOrder


class RunStatus(StrEnum):
    """What became of the step's run, as the `run-status` output says it."""

    SKIPPED = "skipped"
    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"
    TIMEOUT = "timeout"
    DRY_RUN = "dry-run"

    @classmethod
    def of(cls, status: int) -> RunStatus:
        """The status of a run dbt Cloud reports as `status`; an unknown code counts as an error."""
        try:
            return cls(status_name(status))
        except ValueError:
            return cls.ERROR


@dataclass(frozen=True)
class FinishedRun:
    """A run that has ended, as the verdict needs it."""

    id: int
    status: int
    sha: str | None
    link: str
    status_message: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What a run's end means for the step: its status, exit code and the message that explains it."""

    status: RunStatus
    exit_code: int = 0
    message: str = ""
    superseded_by: str | None = None


def superseded_by(
    run: FinishedRun, job_id: int, pr_number: int, order: PushOrder | None, later: Sequence[ActiveRun]
) -> str | None:
    """The commit whose run cancelled ours, when it was pushed after ours; None when that is not known.

    A run for another commit may be for an older one (a re-run, or a manual dispatch): only a later push order of
    the same kind makes ours superseded rather than cancelled; or, for a run of the PR's own commits, the run of a
    merge queue entry of the PR, whose check then carries the verdict. Only a later entry supersedes an entry."""
    for newer in later:
        taken_over = newer.order is not None and (
            newer.order.after(order) or (newer.order.entry and order is not None and not order.entry)
        )
        if (
            newer.id > run.id
            and belongs_to(job_id, newer.job_id, newer.job_name)
            and newer.pr_number == pr_number
            and newer.sha
            and newer.sha != run.sha
            and taken_over
        ):
            return newer.sha
    return None


# Rendered as a warning when a run succeeded and its run_results.json lists no node at all.
BUILT_NOTHING = (
    "dbt Cloud run {run_id} succeeded but built nothing: its run_results.json lists no node. Check the job's "
    "selector and its deferral: `state:modified+` deferring to an environment that has no production run, or to "
    "the wrong one, selects nothing and passes for the wrong reason."
)


def timed_out(run: FinishedRun) -> bool:
    """dbt Cloud cancelled the run because it outlasted its timeout (it ends as cancelled, with a message)."""
    return run.status == CANCELLED and "timed out" in (run.status_message or "").lower()


def may_be_superseded(run: FinishedRun) -> bool:
    """Whether the runs after this one are needed to judge it: it was cancelled, and not by its timeout."""
    return run.status == CANCELLED and not timed_out(run)


def verdict(run: FinishedRun, pr_number: int, short_sha: str, superseding: str | None) -> Verdict:
    """What the end of `run` means for the step; `superseding` is the newer commit whose run took over, if one did
    (it is triggered before ours is cancelled, so it is there to be seen)."""
    if run.status == SUCCESS:
        return Verdict(RunStatus.SUCCESS)
    why = f": {run.status_message.rstrip('.')}" if run.status_message else ""
    if timed_out(run):
        return Verdict(
            RunStatus.TIMEOUT,
            1,
            f"dbt Cloud cancelled run {run.id} because it outlasted its timeout{why}. Raise the job's timeout (its "
            f"Execution settings) or timeout-seconds-override if CI runs take longer. Run: {run.link}",
        )
    if run.status == CANCELLED:
        if superseding is not None:
            return Verdict(
                RunStatus.SUPERSEDED,
                message=f"dbt Cloud run {run.id} was cancelled because commit {superseding[:7]} of PR #{pr_number} "
                f"superseded {short_sha}; its own run reports the result. Run: {run.link}",
                superseded_by=superseding,
            )
        return Verdict(
            RunStatus.CANCELLED, 1, f"dbt Cloud run {run.id} was cancelled before it finished{why}. Run: {run.link}"
        )
    status = RunStatus.ERROR if run.status == ERROR else RunStatus.of(run.status)
    return Verdict(status, 1, f"dbt Cloud run {run.id} failed{why}. See the run's logs: {run.link}")


# dbt Cloud's status message for a failed run often says only this (NOTES.md); the failed step's own lines say what.
GENERIC_FAILURES = frozenset({"dbt command failed"})


def explained(judged: Verdict, run: FinishedRun, step: str | None, lines: Sequence[str]) -> Verdict:
    """A failure whose status message says nothing of what failed ("dbt command failed", or none) told by its failed
    `step` ("step 4 (`dbt build`)") and the first lines of that step's log that say what failed."""
    said = (run.status_message or "").strip().rstrip(".").lower()
    if judged.status is not RunStatus.ERROR or step is None or (said and said not in GENERIC_FAILURES):
        return judged
    what = f": {'; '.join(lines)}" if lines else ""
    return replace(judged, message=f"dbt Cloud run {run.id} failed in {step}{what}. See the run's logs: {run.link}")


def with_results(judged: Verdict, run_id: int, nodes: int | None) -> Verdict:
    """The verdict once the run's results are read (`nodes`, None when there were none to read): a success that
    built nothing passes, with a warning."""
    if judged.status is RunStatus.SUCCESS and nodes == 0 and not judged.message:
        return replace(judged, message=BUILT_NOTHING.format(run_id=run_id))
    return judged


def not_waited_for(judged: Verdict) -> Verdict:
    """With wait: false the step waited only so that its clone could be deleted: it never fails on the result."""
    if not judged.exit_code:
        return judged
    return replace(judged, exit_code=0, message=f"{judged.message} (wait is false, so the step does not fail)")


def decide_again(plan: Plan, status: RunStatus, attempt: int) -> bool:
    """Whether to decide once more: the followed run was cancelled (its owner's workflow was cancelled with it) and
    no newer commit superseded it, so this commit still needs a run, unless its PR was closed meanwhile; once."""
    return isinstance(plan, Follow) and status is RunStatus.CANCELLED and attempt == 1
