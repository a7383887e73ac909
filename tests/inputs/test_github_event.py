from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoscale_ci.errors import EventError
from autoscale_ci.inputs.github_event import pull_request_from_event, read_event
from tests.builders import SHA_A, SHA_B
from tests.conftest import FIXTURES, pr_event


@pytest.mark.parametrize("name", ["opened", "synchronize"])
def test_real_github_payloads(name: str) -> None:
    event = read_event(str(FIXTURES / f"{name}.payload.json"))
    pr = pull_request_from_event("pull_request", event)
    assert pr.number == 2
    assert pr.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert pr.draft is False and pr.closed is False and pr.is_fork is False
    assert pr.short_sha == "ec26c3e"
    assert pr.updated_at == datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC)


def test_pull_request_target_reads_the_same_payload() -> None:
    pr = pull_request_from_event("pull_request_target", pr_event(number=9, sha=SHA_B))
    assert (pr.number, pr.head_sha) == (9, SHA_B)


def test_draft_closed_and_fork_are_read() -> None:
    event = pr_event(draft=True, state="closed", head={"sha": SHA_A, "ref": "f", "repo": {"id": 99}})
    pr = pull_request_from_event("pull_request", event)
    assert pr.draft and pr.closed and pr.is_fork


def test_git_sha_input_overrides_the_head() -> None:
    assert pull_request_from_event("pull_request", pr_event(), git_sha=SHA_B).head_sha == SHA_B


def test_workflow_dispatch_reads_its_inputs_or_the_action_inputs() -> None:
    event = {"inputs": {"pr-number": "12", "git-sha": SHA_B.upper()}}
    pr = pull_request_from_event("workflow_dispatch", event)
    assert (pr.number, pr.head_sha) == (12, SHA_B)
    pr = pull_request_from_event("workflow_dispatch", {}, pr_number=3, git_sha=SHA_A)
    assert (pr.number, pr.head_sha) == (3, SHA_A)


@pytest.mark.parametrize(
    ("name", "event", "says"),
    [
        ("push", {"ref": "refs/heads/main"}, "'push' event"),
        ("", {}, "GITHUB_EVENT_NAME not set"),
        ("pull_request", {"action": "opened"}, "no pull_request object"),
        ("pull_request", pr_event(number="x"), "pull_request.number"),
        ("pull_request", pr_event(number=True), "pull_request.number"),
        ("pull_request", pr_event(sha="not-a-sha"), "pull_request.head.sha"),
        ("pull_request", {"pull_request": {"number": 1}}, "pull_request.head.sha"),
        ("workflow_dispatch", {"inputs": {"pr-number": "1"}}, "needs the pull request number and commit"),
        ("workflow_dispatch", {"inputs": {"pr-number": "-1", "git-sha": SHA_A}}, "pr-number"),
    ],
)
def test_unusable_events_are_clear_errors(name: str, event: dict[str, Any], says: str) -> None:
    with pytest.raises(EventError, match=says):
        pull_request_from_event(name, event)


def test_github_sha_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_SHA", SHA_B)
    assert pull_request_from_event("pull_request", pr_event(sha=SHA_A)).head_sha == SHA_A


@pytest.mark.parametrize(("content", "says"), [(None, "Cannot read"), ("{", "not valid JSON"), ("[1]", "JSON object")])
def test_event_file_problems(tmp_path: Path, content: str | None, says: str) -> None:
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(EventError, match=says):
        read_event(str(path))


def test_missing_event_path() -> None:
    with pytest.raises(EventError, match="GITHUB_EVENT_PATH is not set"):
        read_event("")


def test_event_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text(json.dumps(pr_event(number=4)), encoding="utf-8")
    assert pull_request_from_event("pull_request", read_event(str(path))).number == 4


@pytest.mark.parametrize("value", [None, 5, "not a date"])
def test_unusable_update_times_are_ignored(value: object) -> None:
    assert pull_request_from_event("pull_request", pr_event(updated_at=value)).updated_at is None


def test_update_times_with_offsets_are_normalised() -> None:
    pr = pull_request_from_event("pull_request", pr_event(updated_at="2026-01-01T13:00:00+01:00"))
    assert pr.updated_at == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
