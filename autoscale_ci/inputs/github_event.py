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
FULL_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_FIX_EVENTS = (
    "run the action on `pull_request` or `pull_request_target`, or on `workflow_dispatch` "
    "with the inputs `pr-number` and `git-sha`"
)


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


def full_sha(value: Any, what: str) -> str:
    """A full commit SHA, lower-cased, or an EventError naming where it came from."""
    sha = value.strip().lower() if isinstance(value, str) else ""
    if not FULL_SHA.match(sha):
        raise EventError(f"{what} is not a full commit SHA: {_FIX_EVENTS}.")
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


def pull_request_from_event(
    event_name: str, event: Mapping[str, Any], *, pr_number: int | None = None, git_sha: str | None = None
) -> PullRequest:
    """The pull request this event is about; raises EventError for any other event."""
    if event_name in PR_EVENTS:
        pr = _from_pull_request(event)
        if git_sha is not None:
            return replace(pr, head_sha=full_sha(git_sha, "git-sha"))
        return pr
    if event_name == "workflow_dispatch":
        return _from_dispatch(event, pr_number, git_sha)
    name = event_name or "(GITHUB_EVENT_NAME not set)"
    raise EventError(f"The action cannot run on the '{name}' event: {_FIX_EVENTS}.")
