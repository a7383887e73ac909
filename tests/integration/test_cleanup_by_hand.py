"""Cleanup of a pull request named by hand (workflow_dispatch, or the command's --pr-number): nothing is touched
until GitHub says the pull request is closed, or, where GitHub cannot be asked, the user says so."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_cloud_emulator import Emulator
from tests.fake_github import FakeGitHub
from tests.harness import EXPRESSIONS, ROOT, Step
from tests.integration.conftest import StepFactory, requests_of, run_of, trigger

SHA = "a" * 40
PR = 5
REPO = "acme/analytics"
WORKFLOW_TOKEN = EXPRESSIONS["${{ github.token }}"]


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=WORKFLOW_TOKEN) as fake:
        yield fake


def by_hand(step: StepFactory, github: FakeGitHub | None, **inputs: str) -> Step:
    """A workflow_dispatch run of cleanup mode for PR #5, asking `github` (None: no GitHub to ask)."""
    action = step(PR, SHA, event={"inputs": {"pr-number": str(PR)}}, mode="cleanup", **inputs)
    action.env["GITHUB_EVENT_NAME"] = "workflow_dispatch"
    if github is not None:
        action.env["GITHUB_API_URL"] = github.url
    return action


def in_flight(emu: Emulator) -> tuple[int, int]:
    """PR #5's clone, and a run of the PR kept in flight: what a wrong cleanup would delete and cancel."""
    clone = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id} PR #{PR}]")
    running = trigger(emu, PR, SHA)
    emu.hold(run_id=running["id"])
    return clone, running["id"]


def untouched(emu: Emulator, action: Step, clone: int, run_id: int) -> None:
    assert requests_of(emu, action) == []  # not even a read: nothing in dbt Cloud was asked or changed
    assert run_of(emu, run_id)["status"] in (1, 2, 3)
    assert {job["id"]: job["state"] for job in emu.jobs()}[clone] == 1


def test_a_closed_pr_named_by_hand_is_cleaned_up(emu: Emulator, step: StepFactory, github: FakeGitHub) -> None:
    github.pulls[REPO, PR] = "closed"
    clone = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id} PR #{PR}]")
    done = by_hand(step, github).run()
    assert done.returncode == 0, done.stdout
    assert [(asked.method, asked.path) for asked in github.asked] == [("GET", f"/repos/{REPO}/pulls/{PR}")]
    assert f"GitHub says PR #{PR} of {REPO} is closed." in done.stdout
    assert {job["id"]: job["state"] for job in emu.jobs()}[clone] == 2
    drop = run_of(emu, int(done.outputs["run-id"]))
    assert drop["trigger"]["schema_override"] == f"dbt_cloud_pr_{emu.ci_job_id}_{PR}"
    assert f"for PR #{PR}: " in done.stdout  # the drop run's notice names no commit it does not know
    assert "@ unknown" not in done.stdout


def test_an_open_pr_named_by_hand_is_one_error_and_no_change(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    github.pulls[REPO, PR] = "open"
    clone, run_id = in_flight(emu)
    action = by_hand(step, github, **{"confirm-closed": "true"})  # a confirmation does not make an open PR closed
    done = action.run()
    assert done.returncode == 1
    errors = done.lines("::error")
    assert len(errors) == 1, done.stdout
    assert f"PR #{PR} of {REPO} is open, so cleanup mode changed nothing" in errors[0]
    untouched(emu, action, clone, run_id)


def test_a_pr_number_github_does_not_know_is_one_error(emu: Emulator, step: StepFactory, github: FakeGitHub) -> None:
    clone, run_id = in_flight(emu)
    action = by_hand(step, github)
    done = action.run()
    assert done.returncode == 1
    errors = done.lines("::error")
    assert len(errors) == 1
    assert f"GitHub has no pull request #{PR} in {REPO}" in errors[0]
    untouched(emu, action, clone, run_id)
    # A private repository answers 404 to a token that may not read it: someone who checked may say so.
    confirmed = by_hand(step, github, **{"confirm-closed": "true"}).run()
    assert confirmed.returncode == 0, confirmed.stdout
    assert any("since confirm-closed is true" in line for line in confirmed.lines("::warning"))


def test_when_github_will_not_say_a_confirmation_is_required(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    github.status = 403  # a token without pull-requests: read
    clone, run_id = in_flight(emu)
    refused = by_hand(step, github)
    done = refused.run()
    assert done.returncode == 1
    errors = done.lines("::error")
    assert len(errors) == 1
    assert "GitHub answered 403" in errors[0]
    assert "confirm-closed: true" in errors[0]
    assert "pull-requests: read" in errors[0]
    untouched(emu, refused, clone, run_id)

    confirmed = by_hand(step, github, **{"confirm-closed": "true"}).run()
    assert confirmed.returncode == 0, confirmed.stdout
    assert any("since confirm-closed is true" in line for line in confirmed.lines("::warning"))
    assert run_of(emu, run_id)["status"] == 30
    assert {job["id"]: job["state"] for job in emu.jobs()}[clone] == 2


def command(emu: Emulator, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`autoscale-dbt-ci cleanup --pr-number 5` in a plain shell: no GitHub to ask."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_"))}
    env.update({"DBT_CLOUD_TOKEN": emu.token, "PYTHONPATH": str(ROOT)})
    return subprocess.run(
        [sys.executable, "-m", "autoscale_ci", "cleanup", "--account-id", str(emu.account_id), "--job-id",
         str(emu.ci_job_id), "--dbt-cloud-host", emu.url, "--pr-number", str(PR), "--poll-interval", "0.1", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip


def test_the_command_needs_a_confirmation_where_it_cannot_ask_github(emu: Emulator, tmp_path: Path) -> None:
    clone, run_id = in_flight(emu)
    before = len(emu.requests())
    refused = command(emu, tmp_path)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    errors = [line for line in refused.stdout.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "cannot ask GitHub whether it is closed" in errors[0]
    assert "--confirm-closed true" in errors[0]
    assert len(emu.requests()) == before
    assert run_of(emu, run_id)["status"] in (1, 2, 3)

    confirmed = command(emu, tmp_path, "--confirm-closed", "true")
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    out = confirmed.stdout.splitlines()
    assert f"Deleted clone job {clone} of closed PR #{PR}." in out
    # The report agrees with itself: the clone deleted for the closed PR is counted.
    assert any(line.startswith(f"Cleanup of job {emu.ci_job_id}'s clones: 1 deleted") for line in out), out
    assert f"output deleted-clone-ids={clone}" in out
    assert f"output cancelled-run-ids={run_id}" in out
