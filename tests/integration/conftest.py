from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator, EmulatorConfig, caller_id
from tests.fake_github import FakeGitHub
from tests.harness import EXPRESSIONS, Step, make_step, pr_event

TOKENS = [f"dbtc_step_token_{index}" for index in range(40)]
# Job Runner tokens: they may trigger and cancel runs, but not create, change or delete jobs.
RUNNER_TOKENS = [f"dbtc_runner_token_{index}" for index in range(40)]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    config = EmulatorConfig(
        run_slots=2,
        start_seconds=0.05,
        run_seconds=0.6,
        tokens={**dict.fromkeys(TOKENS, "admin"), **dict.fromkeys(RUNNER_TOKENS, "runner")},
    )
    with Emulator(config) as emulator:
        yield emulator


StepFactory = Callable[..., Step]


@pytest.fixture
def step(emu: Emulator, tmp_path: Path) -> StepFactory:
    """Build an action step for PR `pr` at `sha`, with its own token so its requests can be told apart
    (a Job Runner token with `job_runner=True`)."""
    counter = itertools.count()

    def build(
        pr: int, sha: str, *, event: dict[str, Any] | None = None, job_runner: bool = False, **inputs: str
    ) -> Step:
        index = next(counter)
        inputs.setdefault("poll-interval", "0.1")
        return make_step(
            tmp_path / f"step{index}",
            label=f"PR #{pr} @ {sha[:7]}",
            host=emu.url,
            token=(RUNNER_TOKENS if job_runner else TOKENS)[index],
            account_id=emu.account_id,
            job_id=emu.ci_job_id or 0,
            event=event if event is not None else pr_event(pr, sha),
            **inputs,
        )

    return build


def requests_of(emu: Emulator, step: Step) -> list[str]:
    """`METHOD /path/` of every request the step made, without the account prefix."""
    me = caller_id(step.env["INPUT_DBT-CLOUD-TOKEN"])
    prefix = f"/api/v2/accounts/{emu.account_id}"
    return [f"{e['method']} {e['path'].removeprefix(prefix)}" for e in emu.requests() if e["caller"] == me]


def writes_of(emu: Emulator, step: Step) -> list[str]:
    """The requests of the step that change something."""
    return [request for request in requests_of(emu, step) if not request.startswith("GET")]


def trigger(emu: Emulator, pr: int, sha: str, job_id: int | None = None) -> dict[str, Any]:
    """Start a run the way another workflow would."""
    response = httpx.post(
        f"{emu.url}/api/v2/accounts/{emu.account_id}/jobs/{job_id or emu.ci_job_id}/run/",
        json={"cause": f"PR {pr}", "git_sha": sha, "github_pull_request_id": pr},
        headers={"Authorization": f"Token {emu.token}"},
    )
    response.raise_for_status()
    data: dict[str, Any] = response.json()["data"]
    return data


def run_of(emu: Emulator, run_id: int) -> dict[str, Any]:
    """One run from the emulator's state."""
    return next(run for run in emu.runs() if run["id"] == run_id)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """The GitHub API of acme/analytics, whose PR #7 is open at commit a...a and up to date with its base, main,
    taking the workflow's token."""
    with FakeGitHub(
        token=EXPRESSIONS["${{ github.token }}"],
        pulls={("acme/analytics", 7): "open"},
        heads={("acme/analytics", 7): "a" * 40},
        bases={"main": (0, [])},
    ) as fake:
        yield fake
