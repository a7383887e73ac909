from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autoscale_ci.errors import EventError
from autoscale_ci.inputs.runner import Runner, merge_queue_branch
from tests.builders import SHA_A
from tests.harness import merge_group_event

QUEUE = "gh-readonly-queue/main/pr-7-" + "9" * 40


def runner(tmp_path: Path, event_name: str, event: dict[str, Any] | None, **env: str) -> Runner:
    path = tmp_path / "event.json"
    if event is not None:
        path.write_text(json.dumps(event), encoding="utf-8")
    return Runner.read({"GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(path), **env})


def test_a_merge_queue_entry_and_a_push_to_its_branch_name_the_queue_branch(tmp_path: Path) -> None:
    assert merge_queue_branch(runner(tmp_path, "merge_group", merge_group_event(7, SHA_A))) == QUEUE
    assert merge_queue_branch(runner(tmp_path, "push", {"ref": f"refs/heads/{QUEUE}"})) == QUEUE


@pytest.mark.parametrize(
    ("event_name", "event", "env"),
    [
        ("push", {"ref": "refs/heads/main"}, {}),
        ("pull_request", None, {}),  # not even read: the pull request's own reading says what is wrong with it
        ("merge_group", None, {"GITLAB_CI": "true"}),  # another CI's variables say what it runs for
    ],
)
def test_any_other_event_or_ci_names_none(
    tmp_path: Path, event_name: str, event: dict[str, Any] | None, env: dict[str, str]
) -> None:
    assert merge_queue_branch(runner(tmp_path, event_name, event, **env)) is None


def test_an_unreadable_event_file_is_the_event_error(tmp_path: Path) -> None:
    with pytest.raises(EventError, match="Cannot read the event file"):
        merge_queue_branch(runner(tmp_path, "merge_group", None))
