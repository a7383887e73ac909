from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from autoscale_ci.errors import EventError
from autoscale_ci.inputs.github_event import pull_request_from_event, queue_branch, read_event
from autoscale_ci.rules.markers import PushOrder
from tests.builders import SHA_A, SHA_B
from tests.conftest import FIXTURES, pr_event
from tests.harness import merge_group_event


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
        ("merge_group", {"action": "checks_requested"}, "no merge_group object"),
        ("merge_group", merge_group_event(7, "not-a-sha"), "merge_group.head_sha is not .* as the input `git-sha`"),
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


QUEUE_BRANCH = "gh-readonly-queue/main/pr-104-929f8209d40f77f4abc622a499c93a83babdbe64"


def test_a_real_merge_group_payload_is_the_entry_of_the_pull_request_its_branch_names() -> None:
    event = read_event(str(FIXTURES / "merge_group.checks_requested.payload.json"))
    pr = pull_request_from_event("merge_group", event)
    assert (pr.number, pr.head_sha) == (104, "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d")
    assert pr.queue_branch == QUEUE_BRANCH
    # The queue made the commit when it made the entry: that is the entry's place among the pull request's entries.
    assert pr.order == PushOrder.queued(datetime(2019, 5, 15, 15, 20, 30, tzinfo=UTC))
    assert pr.name == "PR #104" and pr.provider == "github"
    assert not (pr.draft or pr.closed or pr.is_fork)
    assert pr.base_ref is None  # an entry is made on its base: there is no branch to compare


def test_entries_are_ordered_among_themselves_never_against_the_pull_requests_pushes() -> None:
    pushed = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    own = pull_request_from_event("pull_request", pr_event(number=7, sha=SHA_A, updated_at=pushed.isoformat()))
    entry = pull_request_from_event("merge_group", merge_group_event(7, SHA_B, made_at=pushed.replace(minute=5)))
    later = pull_request_from_event("merge_group", merge_group_event(7, SHA_A, made_at=pushed.replace(minute=9)))
    assert entry.order is not None and later.order is not None and own.order is not None
    assert later.order.after(entry.order) and not entry.order.after(later.order)
    # A commit date says nothing of when the pull request was pushed (a rebase keeps the author's date).
    assert not entry.order.after(own.order) and not own.order.after(entry.order)
    assert entry.number == own.number


@pytest.mark.parametrize(
    ("branch", "number"),
    [
        ("gh-readonly-queue/main/pr-7-" + "9" * 40, 7),
        ("gh-readonly-queue/release/2.x/pr-31-" + "9" * 40, 31),  # a base branch with slashes
        ("gh-readonly-queue/main/pr-12345-" + "9" * 64, 12345),  # a SHA-256 repository
    ],
)
def test_the_pull_request_is_read_from_the_queue_branch(branch: str, number: int) -> None:
    pr = pull_request_from_event("merge_group", merge_group_event(None, SHA_A, branch=branch))
    assert (pr.number, pr.queue_branch) == (number, branch)


@pytest.mark.parametrize(
    "branch",
    [
        "gh-readonly-queue/main/entry-" + "9" * 40,  # a form GitHub might change to
        "merge-train/main/pr-7-" + "9" * 40,  # a branch named by hand
        "gh-readonly-queue/main/pr-99999999999-" + "9" * 40,  # past any pull request number
    ],
)
def test_a_queue_branch_that_names_no_pull_request_names_the_branch_and_pr_number(branch: str) -> None:
    with pytest.raises(EventError) as raised:
        pull_request_from_event("merge_group", merge_group_event(None, SHA_A, branch=branch))
    assert f"The merge queue branch '{branch}' names no pull request" in raised.value.message
    assert "input `pr-number`" in raised.value.message
    # Given by hand, the number is the one the step runs for.
    pr = pull_request_from_event("merge_group", merge_group_event(None, SHA_A, branch=branch), pr_number=7)
    assert (pr.number, pr.queue_branch) == (7, branch)


def test_a_merge_group_without_a_branch_says_which_field_is_missing() -> None:
    event = merge_group_event(7, SHA_A)
    del event["merge_group"]["head_ref"]
    with pytest.raises(EventError, match=r"merge_group\.head_ref names no pull request.*`pr-number`"):
        pull_request_from_event("merge_group", event)


def test_a_long_branch_is_cut_in_the_error() -> None:
    branch = "gh-readonly-queue/" + "x" * 300
    with pytest.raises(EventError) as raised:
        pull_request_from_event("merge_group", merge_group_event(None, SHA_A, branch=branch))
    assert branch not in raised.value.message and f"'{branch[:97]}...'" in raised.value.message


def test_pr_number_and_git_sha_given_win_over_the_entry() -> None:
    pr = pull_request_from_event("merge_group", merge_group_event(7, SHA_A), pr_number=8, git_sha=SHA_B)
    assert (pr.number, pr.head_sha) == (8, SHA_B)


@pytest.mark.parametrize("timestamp", [None, "yesterday"])
def test_an_entry_without_a_readable_commit_time_has_no_order(timestamp: str | None) -> None:
    event = merge_group_event(7, SHA_A)
    event["merge_group"]["head_commit"]["timestamp"] = timestamp
    assert pull_request_from_event("merge_group", event).order is None


@pytest.mark.parametrize(
    ("name", "event", "branch"),
    [
        (
            "merge_group",
            merge_group_event(7, SHA_A, branch="gh-readonly-queue/main/pr-7-abc"),
            "gh-readonly-queue/main/pr-7-abc",
        ),
        ("merge_group", {"merge_group": {}}, ""),
        ("push", {"ref": "refs/heads/gh-readonly-queue/main/pr-7-abc"}, "gh-readonly-queue/main/pr-7-abc"),
        ("push", {"ref": "refs/heads/main"}, None),
        ("push", {"ref": "refs/tags/gh-readonly-queue/v1"}, None),
        ("pull_request", pr_event(), None),
    ],
)
def test_the_queue_branch_of_an_event(name: str, event: dict[str, Any], branch: str | None) -> None:
    assert queue_branch(name, event) == branch


RUNNABLE = ("`pull_request`", "`pull_request_target`", "`merge_group`", "`workflow_dispatch`", "`pr-number`")


@pytest.mark.parametrize(
    ("name", "fits"),
    [
        ("push", "add `pull_request` to `on:`"),
        ("pull_request_review", "add `pull_request` to `on:`"),
        ("pull_request_review_comment", "add `pull_request` to `on:`"),
        ("schedule", "set the input `mode: cleanup`"),
        ("issue_comment", "use `workflow_dispatch` with the inputs `pr-number` and `git-sha`"),
        ("workflow_run", "use `workflow_dispatch` with the inputs `pr-number` and `git-sha`"),
    ],
)
def test_an_event_the_action_cannot_run_on_says_which_it_can_and_what_fits(name: str, fits: str) -> None:
    with pytest.raises(EventError) as raised:
        pull_request_from_event(name, {})
    message = raised.value.message
    assert message.startswith(f"The action cannot run on the '{name}' event: it runs on ")
    assert all(word in message for word in RUNNABLE), message
    assert fits in message
