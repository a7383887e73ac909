"""The pull request to run for, read from the GitHub event file (never from GITHUB_SHA) or another CI's variables."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from autoscale_ci.dbt_cloud.models import parse_timestamp
from autoscale_ci.errors import EventError
from autoscale_ci.rules.markers import PushOrder

PR_EVENTS = ("pull_request", "pull_request_target")
MERGE_GROUP = "merge_group"
FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
# GitHub names each merge queue entry's branch `gh-readonly-queue/<base>/pr-<number>-<head sha>`.
QUEUE_PREFIX = "gh-readonly-queue/"
_QUEUE_PR = re.compile(r"/pr-(\d{1,10})-[0-9a-f]+$")
RUNS_ON = (
    "it runs on `pull_request` and `pull_request_target`, on `merge_group` (GitHub's merge queue), and on "
    "`workflow_dispatch` with the inputs `pr-number` and `git-sha`"
)
_FIX_EVENTS = (
    "run the action on `pull_request` or `pull_request_target`, on `merge_group`, or on `workflow_dispatch` "
    "with the inputs `pr-number` and `git-sha`"
)
# What fits instead of an event the action cannot run on, by the event; any other is a pull request named by hand.
_INSTEAD = {
    "push": "for a pull request's commits add `pull_request` to `on:` (GitHub sends it for every push to its branch)",
    "pull_request_review": "add `pull_request` to `on:`, which runs for every push rather than every review",
    "pull_request_review_comment": "add `pull_request` to `on:`, which runs for every push rather than every comment",
    "schedule": "to delete idle clones on a schedule, set the input `mode: cleanup`",
}
_BY_HAND = "to run for a pull request named by hand, use `workflow_dispatch` with the inputs `pr-number` and `git-sha`"


@dataclass(frozen=True)
class PullRequest:
    """The pull request and commit a run is for."""

    number: int
    head_sha: str
    draft: bool = False
    closed: bool = False
    is_fork: bool = False
    # When the pull request last changed (its head was pushed), as GitHub's event says.
    updated_at: datetime | None = None
    provider: str = "github"
    # Where this commit stands among the pull request's pushes, as the CI vouches for it, to tell an older commit's
    # run from a newer one; None when nothing vouches (a run by hand, a CI that says nothing of it).
    order: PushOrder | None = None
    # The branch the pull request merges into, as the event names it; None where no event says.
    base_ref: str | None = None
    # The merge queue's branch when the run is for a merge queue entry (the pull request merged onto its base and
    # the entries ahead of it), not for the pull request's own head; None otherwise.
    queue_branch: str | None = None

    @property
    def short_sha(self) -> str:
        """The first seven characters of the head SHA ("unknown" when there is none)."""
        return self.head_sha[:7] or "unknown"

    @property
    def prefix(self) -> str:
        """How the git host names its pull requests: `MR !` on GitLab, `PR #` elsewhere."""
        return "MR !" if self.provider == "gitlab" else "PR #"

    @property
    def name(self) -> str:
        """`PR #7`, or `MR !7` on GitLab."""
        return f"{self.prefix}{self.number}"

    @property
    def label(self) -> str:
        """`PR #7 @ abc1234` (`MR !7 @ abc1234` on GitLab), or without the commit where it is not known (cleanup of a
        closed pull request)."""
        return f"{self.name} @ {self.head_sha[:7]}" if self.head_sha else self.name


def read_event(path: str) -> dict[str, Any]:
    """Load the event file the runner wrote."""
    if not path:
        raise EventError(
            "GITHUB_EVENT_PATH is not set, so the pull request is unknown: run the action inside a "
            "GitHub Actions workflow, or pass the inputs `pr-number` and `git-sha`."
        )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise EventError(
            f"Cannot read the event file {path} ({exc.strerror}): run the action inside a GitHub "
            "Actions workflow, or pass the inputs `pr-number` and `git-sha`."
        ) from None
    try:
        data = json.loads(text)
    except ValueError:
        raise EventError(f"The event file {path} is not valid JSON: it must be the runner's event payload.") from None
    if not isinstance(data, dict):
        raise EventError(f"The event file {path} is not a JSON object: it must be the runner's event payload.")
    return data


def pr_number(value: Any, what: str) -> int:
    """A pull request number, or an EventError naming where it came from."""
    if isinstance(value, bool):
        raise EventError(f"{what} is not a pull request number: {_FIX_EVENTS}.")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 < value < 2**31:
        raise EventError(f"{what} is not a pull request number: {_FIX_EVENTS}.")
    return value


def full_sha(value: Any, what: str, fix: str = _FIX_EVENTS) -> str:
    """A full commit SHA, lower-cased, or an EventError naming where it came from and `fix`."""
    sha = value.strip().lower() if isinstance(value, str) else ""
    if not FULL_SHA.match(sha):
        raise EventError(f"{what} is not a full commit SHA: {fix}.")
    return sha


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _repo_id(side: Any) -> Any:
    repo = _obj(_obj(side).get("repo"))
    return repo.get("id", repo.get("full_name"))


def _from_pull_request(event: Mapping[str, Any]) -> PullRequest:
    pr = event.get("pull_request")
    if not isinstance(pr, dict):
        raise EventError(f"The event has no pull_request object: {_FIX_EVENTS}.")
    head = _obj(pr.get("head"))
    head_repo, base_repo = _repo_id(head), _repo_id(pr.get("base"))
    # The event GitHub made for the push: its pull request's `updated_at` is the push's time, and a re-run of an old
    # workflow gets the old event again.
    pushed = parse_timestamp(pr.get("updated_at"))
    return PullRequest(
        number=pr_number(pr.get("number", event.get("number")), "pull_request.number"),
        head_sha=full_sha(head.get("sha"), "pull_request.head.sha"),
        draft=pr.get("draft") is True,
        closed=pr.get("state") == "closed",
        is_fork=head_repo is not None and base_repo is not None and head_repo != base_repo,
        updated_at=pushed,
        order=PushOrder.pushed(pushed) if pushed is not None else None,
        base_ref=base_ref if isinstance(base_ref := _obj(pr.get("base")).get("ref"), str) and base_ref else None,
    )


def _from_dispatch(event: Mapping[str, Any], given: int | None, git_sha: str | None) -> PullRequest:
    inputs = _obj(event.get("inputs"))
    number = given if given is not None else inputs.get("pr-number", inputs.get("pr_number"))
    sha = git_sha if git_sha is not None else inputs.get("git-sha", inputs.get("git_sha"))
    if number in (None, "") or sha in (None, ""):
        raise EventError(
            "A workflow_dispatch run needs the pull request number and commit: declare the workflow inputs "
            "`pr-number` and `git-sha`, or pass the action inputs of the same names."
        )
    return PullRequest(number=pr_number(number, "pr-number"), head_sha=full_sha(sha, "git-sha"))


def _branch(ref: Any) -> str:
    return ref.removeprefix("refs/heads/") if isinstance(ref, str) else ""


def queue_branch(event_name: str, event: Mapping[str, Any]) -> str | None:
    """The merge queue branch the event is about: a merge queue entry's (`merge_group`; "" when the event names
    none), or the one a `push` went to; None for any other event or branch."""
    if event_name == MERGE_GROUP:
        return _branch(_obj(event.get("merge_group")).get("head_ref"))
    if event_name == "push" and (branch := _branch(event.get("ref"))).startswith(QUEUE_PREFIX):
        return branch
    return None


def _queue_pr(branch: str) -> int:
    """The pull request a merge queue branch names, or the EventError that says to name it."""
    found = _QUEUE_PR.search(branch) if branch.startswith(QUEUE_PREFIX) else None
    if found is not None and 0 < int(found[1]) < 2**31:
        return int(found[1])
    shown = branch if len(branch) <= 100 else f"{branch[:97]}..."
    named = f"The merge queue branch '{shown}'" if branch else "The merge_group event's merge_group.head_ref"
    raise EventError(
        f"{named} names no pull request (GitHub names the branch gh-readonly-queue/<base>/pr-<number>-<sha>): pass "
        "the pull request's number as the input `pr-number`."
    )


def _from_merge_group(event: Mapping[str, Any], given: int | None, git_sha: str | None) -> PullRequest:
    group = event.get("merge_group")
    if not isinstance(group, dict):
        raise EventError("The merge_group event has no merge_group object: it must be the runner's event payload.")
    branch = _branch(group.get("head_ref"))
    # The queue made this commit when it made the entry, so its commit time is the entry's time: later than every
    # push to the pull request before it, and earlier than a later entry of the same pull request.
    made = parse_timestamp(_obj(group.get("head_commit")).get("timestamp"))
    return PullRequest(
        number=given if given is not None else _queue_pr(branch),
        head_sha=full_sha(
            git_sha if git_sha is not None else group.get("head_sha"),
            "git-sha" if git_sha is not None else "merge_group.head_sha",
            "give the queue entry's commit as the input `git-sha`",
        ),
        order=PushOrder.queued(made) if made is not None else None,
        queue_branch=branch,
    )


def pull_request_from_event(
    event_name: str, event: Mapping[str, Any], *, pr_number: int | None = None, git_sha: str | None = None
) -> PullRequest:
    """The pull request this event is about; raises EventError for any other event."""
    if event_name in PR_EVENTS:
        pr = _from_pull_request(event)
        if git_sha is not None:
            return replace(pr, head_sha=full_sha(git_sha, "git-sha"))
        return pr
    if event_name == MERGE_GROUP:
        return _from_merge_group(event, pr_number, git_sha)
    if event_name == "workflow_dispatch":
        return _from_dispatch(event, pr_number, git_sha)
    name = event_name or "(GITHUB_EVENT_NAME not set)"
    raise EventError(f"The action cannot run on the '{name}' event: {RUNS_ON}; {_INSTEAD.get(name, _BY_HAND)}.")
