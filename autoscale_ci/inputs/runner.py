"""The runner's variables the action reads, read from the environment in this one place, and the pull request
they describe."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from autoscale_ci.ci.detect import detect
from autoscale_ci.errors import EventError
from autoscale_ci.github.api import api_url
from autoscale_ci.inputs.ci_variables import pull_request_from_ci
from autoscale_ci.inputs.github_event import (
    MERGE_GROUP,
    PR_EVENTS,
    PullRequest,
    pull_request_from_event,
    queue_branch,
    read_event,
)
from autoscale_ci.rules.markers import PushOrder


@dataclass(frozen=True)
class Runner:
    """Where and for what event the step runs; `env` keeps the rest for the providers' own variables."""

    event_name: str
    event_path: str
    provider: str
    repository: str | None
    api_url: str
    github_token: str | None
    env: Mapping[str, str] = field(repr=False)

    @classmethod
    def read(cls, env: Mapping[str, str]) -> Runner:
        """The runner's side of the environment."""
        return cls(
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event_path=env.get("GITHUB_EVENT_PATH", ""),
            provider=detect(env),
            repository=env.get("GITHUB_REPOSITORY") or None,
            api_url=api_url(env),
            github_token=env.get("GITHUB_TOKEN") or None,
            env=dict(env),
        )


def pull_request(
    runner: Runner, *, provider: str, number: int | None, git_sha: str | None, pushed_at: datetime | None = None
) -> PullRequest:
    """The pull request to run for: from another CI's variables (`provider`, or the detected one for "auto"), or
    from the GitHub event (or from the inputs alone, for a run by hand outside a workflow)."""
    pr = _pull_request(runner, provider, number, git_sha)
    # A push time given as an input wins: whoever sets it vouches that it is the push's, as its CI knows it.
    return replace(pr, order=PushOrder.pushed(pushed_at)) if pushed_at is not None else pr


def _pull_request(runner: Runner, provider: str, number: int | None, git_sha: str | None) -> PullRequest:
    # The CI that runs the step says where to read the pull request from; git-provider (when not auto) says which
    # git host it lives on, which otherwise the CI's variables say.
    host = None if provider == "auto" else provider
    ci = runner.provider if runner.provider != "github" or host in (None, "github") else host
    if ci != "github":
        return pull_request_from_ci(ci, runner.env, host=host, number=number, git_sha=git_sha)
    event_name = runner.event_name
    if number is not None and git_sha is not None and not runner.event_path and event_name in ("", "workflow_dispatch"):
        event_name, event = "workflow_dispatch", {}
    else:
        event = read_event(runner.event_path)
    return pull_request_from_event(event_name, event, pr_number=number, git_sha=git_sha)


def merge_queue_branch(runner: Runner) -> str | None:
    """The merge queue branch a GitHub workflow's event is about (a queue entry, or a push to its branch); None for
    any other event, and under any other CI."""
    if runner.provider != "github" or runner.event_name not in (MERGE_GROUP, "push"):
        return None
    return queue_branch(runner.event_name, read_event(runner.event_path))


def fork_pr_number(runner: Runner) -> int | None:
    """The number of the pull request the event is about, when it comes from a fork (GitHub gives it no secrets)."""
    if runner.event_name not in PR_EVENTS:
        return None
    try:
        pr = pull_request_from_event(runner.event_name, read_event(runner.event_path))
    except EventError:
        return None
    return pr.number if pr.is_fork else None
