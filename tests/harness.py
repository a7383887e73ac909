"""Runs the real entrypoint the way a GitHub runner runs a Docker action: INPUT_* and GITHUB_* variables, an
event file, and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_STATE files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "entrypoint.py"
POST_ENTRYPOINT = ROOT / "post.py"


def wait_for(predicate: Callable[[], object], *, what: str, timeout: float = 60.0, every: float = 0.01) -> None:
    """Poll until `predicate` is true; the deadline only guards against a hang, and its failure says what never
    happened. Tests wait on a state being reached like this, never on a sleep of a guessed length."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"never happened within {timeout:.0f} s: {what}"
        time.sleep(every)


# What the runner makes of the expressions among the defaults.
EXPRESSIONS = {"${{ github.token }}": "ghs_workflow_token_of_the_test_run"}
# No test may reach the real GitHub: a port nothing listens on, unless a test starts the fake GitHub API.
NO_GITHUB = "http://127.0.0.1:9"


@cache
def input_defaults() -> dict[str, str]:
    """Every input action.yml declares, with its default ("" when it has none), as the runner sets them."""
    spec = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    defaults = {name: str(body.get("default", "")) for name, body in spec["inputs"].items()}
    return {name: EXPRESSIONS.get(value, value) for name, value in defaults.items()}


def parse_file_commands(text: str) -> dict[str, str]:
    """Values written in the `name<<DELIM` form (GITHUB_OUTPUT, GITHUB_STATE)."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        name, delimiter = lines[index].split("<<", 1)
        end = lines.index(delimiter, index + 1)
        values[name] = "\n".join(lines[index + 1 : end])
        index = end + 1
    return values


def pr_event(
    number: int,
    sha: str,
    *,
    state: str = "open",
    draft: bool = False,
    ref: str = "feature",
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    """A pull_request event payload with the fields the action reads; `updated_at` is when the head was pushed."""
    pushed = (updated_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pr = {
        "updated_at": pushed,
        "number": number,
        "state": state,
        "draft": draft,
        "title": f"PR {number}",
        "head": {"sha": sha, "ref": ref, "repo": {"id": 1, "full_name": "acme/analytics"}},
        "base": {"ref": "main", "repo": {"id": 1, "full_name": "acme/analytics"}},
    }
    return {"action": "synchronize", "number": number, "pull_request": pr}


MERGE_GROUP_FIXTURE = ROOT / "tests" / "fixtures" / "github-events" / "merge_group.checks_requested.payload.json"


def merge_group_event(
    number: int | None,
    sha: str,
    *,
    made_at: datetime | None = None,
    base: str = "main",
    branch: str | None = None,
) -> dict[str, Any]:
    """A merge_group (checks_requested) payload as GitHub delivers it, from the real example with this entry's fields:
    the queue's commit `sha`, made at `made_at`, on the branch GitHub names for PR `number` (or on `branch`)."""
    event: dict[str, Any] = json.loads(MERGE_GROUP_FIXTURE.read_text(encoding="utf-8"))
    made = (made_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pr_head = "9" * 40  # the pull request's own head, which GitHub puts in the branch's name
    group = event["merge_group"]
    group["head_sha"] = sha
    group["head_ref"] = f"refs/heads/{branch or f'gh-readonly-queue/{base}/pr-{number}-{pr_head}'}"
    group["base_ref"] = f"refs/heads/{base}"
    group["head_commit"].update({"id": sha, "timestamp": made, "message": f"Merge pull request #{number}"})
    return event


@dataclass
class Finished:
    """What one action step left behind."""

    label: str
    returncode: int
    stdout: str
    outputs: dict[str, str]
    summary: str
    state: dict[str, str]

    def lines(self, prefix: str) -> list[str]:
        """Printed lines that start with a workflow command such as '::error'."""
        return [line for line in self.stdout.splitlines() if line.startswith(prefix)]


@dataclass
class Step:
    """One action step: its files and, once started, its process."""

    label: str
    workdir: Path
    env: dict[str, str]
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    def start(self, script: Path = ENTRYPOINT, extra_env: dict[str, str] | None = None) -> Step:
        """Start the entrypoint (or another script of the action) in the background."""
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(script)],
            cwd=self.workdir,
            env={**self.env, **(extra_env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return self

    def signal(self, signum: int = signal.SIGTERM) -> None:
        """Send a signal, as the runner does on cancel."""
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 90.0) -> Finished:
        """Wait for the step to exit and read what it wrote."""
        assert self.process is not None
        stdout, _ = self.process.communicate(timeout=timeout)

        def read(name: str) -> str:
            return (self.workdir / name).read_text(encoding="utf-8")

        return Finished(
            label=self.label,
            returncode=self.process.returncode,
            stdout=stdout,
            outputs=parse_file_commands(read("output")),
            summary=read("summary"),
            state=parse_file_commands(read("state")),
        )

    def run(self, timeout: float = 90.0) -> Finished:
        """Start and wait."""
        return self.start().wait(timeout)

    def post(self, timeout: float = 30.0) -> Finished:
        """Run the post step as the runner does: a fresh process with the saved state as STATE_ variables."""
        saved = parse_file_commands((self.workdir / "state").read_text(encoding="utf-8"))
        post = Step(label=f"{self.label} (post)", workdir=self.workdir, env=self.env)
        for name in ("output", "summary"):
            (self.workdir / name).write_text("", encoding="utf-8")
        return post.start(POST_ENTRYPOINT, {f"STATE_{name}": value for name, value in saved.items()}).wait(timeout)


def make_step(
    workdir: Path,
    *,
    label: str,
    host: str,
    token: str,
    account_id: int,
    job_id: int,
    event: dict[str, Any] | None,
    event_name: str = "pull_request",
    **inputs: str,
) -> Step:
    """A step with the environment a Docker action gets; `inputs` use the action's input names."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("output", "summary", "state"):
        (workdir / name).write_text("", encoding="utf-8")
    event_path = workdir / "event.json"
    if event is not None:
        event_path.write_text(json.dumps(event), encoding="utf-8")
    given = {
        **input_defaults(),
        "dbt-cloud-token": token,
        "account-id": str(account_id),
        "job-id": str(job_id),
        "dbt-cloud-host": host,
        **{name.replace("_", "-"): value for name, value in inputs.items()},
    }
    unknown = set(given) - set(input_defaults())
    assert not unknown, f"inputs not declared in action.yml: {unknown}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_", "STATE_"))}
    env.update({f"INPUT_{name.upper()}": value for name, value in given.items()})
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": NO_GITHUB,
            "GITHUB_REPOSITORY": "acme/analytics",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_OUTPUT": str(workdir / "output"),
            "GITHUB_STEP_SUMMARY": str(workdir / "summary"),
            "GITHUB_STATE": str(workdir / "state"),
            "GITHUB_SHA": "f" * 40,  # the merge commit; the action must not use it
            "GITHUB_WORKSPACE": str(workdir),
            "PYTHONPATH": str(ROOT),
        }
    )
    return Step(label=label, workdir=workdir, env=env)
