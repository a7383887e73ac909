"""Which CI runs the step, from the variables each CI always sets."""

from __future__ import annotations

from collections.abc import Mapping


def on_github_actions(env: Mapping[str, str]) -> bool:
    """Whether GitHub's runner runs this step, the only place workflow commands and runner files mean anything."""
    return env.get("GITHUB_ACTIONS", "").strip().lower() == "true"


def detect(env: Mapping[str, str]) -> str:
    """Which CI runs us, from the variables each CI always sets, named by the git host it builds by default (so a
    CI of its own host: gitlab, azure), "other" for Bitbucket Pipelines, and "github" for GitHub Actions and for a
    step that no CI runs (a terminal)."""
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    if env.get("TF_BUILD", "").lower() == "true":
        return "azure"
    if env.get("BITBUCKET_BUILD_NUMBER"):
        return "other"
    return "github"
