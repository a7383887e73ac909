from __future__ import annotations

import pytest

from autoscale_ci.ci.detect import detect, on_github_actions


@pytest.mark.parametrize(
    ("env", "provider"),
    [
        ({"GITLAB_CI": "true"}, "gitlab"),
        ({"TF_BUILD": "True"}, "azure"),
        ({"BITBUCKET_BUILD_NUMBER": "7"}, "other"),
        ({"GITHUB_ACTIONS": "true"}, "github"),
        ({}, "github"),
    ],
)
def test_detect(env: dict[str, str], provider: str) -> None:
    assert detect(env) == provider


def test_only_github_actions_is_github_actions() -> None:
    assert on_github_actions({"GITHUB_ACTIONS": "true"})
    assert on_github_actions({"GITHUB_ACTIONS": "True"})  # as some runners' tools spell it
    assert not on_github_actions({})
    assert not on_github_actions({"GITHUB_ACTIONS": ""})
    assert not on_github_actions({"GITLAB_CI": "true", "GITHUB_OUTPUT": "/tmp/out"})
