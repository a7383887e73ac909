"""Shared pieces: paths, dbtc's virtualenv, running each tool once against an emulator, reading the request log."""

# ruff: noqa: S603, S607 - the only commands run are the interpreters and pip of known virtualenvs

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from dbt_cloud_emulator import Emulator, caller_id
from tests.harness import make_step, pr_event

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
DBTC_VENV = BENCH / ".venv-dbtc"
DBTC_PYTHON = DBTC_VENV / "bin" / "python"
DBTC_RUNNER = BENCH / "dbtc_runner.py"
DBTC_REQUIREMENTS = ("dbtc", "pyarrow<26")
ACTIVE = (1, 2, 3)
TERMINAL = (10, 20, 30)


def log(message: str) -> None:
    """Progress on stderr, so stdout carries only the results table."""
    print(message, file=sys.stderr, flush=True)


def ensure_dbtc_venv() -> None:
    """Create dbtc's virtualenv once; it stays (git-ignored) for later runs."""
    if DBTC_PYTHON.exists():
        probe = subprocess.run([str(DBTC_PYTHON), "-c", "import dbtc"], capture_output=True, check=False)
        if probe.returncode == 0:
            return
    log(f"Creating {DBTC_VENV.relative_to(ROOT)} with {' '.join(DBTC_REQUIREMENTS)} ...")
    subprocess.run(["python3", "-m", "venv", str(DBTC_VENV)], check=True)
    subprocess.run(
        [str(DBTC_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *DBTC_REQUIREMENTS],
        check=True,
    )


def dbtc_version() -> str:
    """The installed dbtc version."""
    out = subprocess.run(
        [str(DBTC_PYTHON), "-c", "import dbtc; print(dbtc.__version__)"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def median(values: Sequence[float]) -> float:
    """The median, NaN for no values."""
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (as numpy's default), NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def parse_iso(text: str | None) -> float | None:
    """Epoch seconds from the emulator's `2026-01-01 12:00:00.000000+00:00`."""
    if not text:
        return None
    return datetime.fromisoformat(text).timestamp()


def api(emu: Emulator) -> httpx.Client:
    """An admin client for setting up a situation; its requests carry the admin token, not a tool's."""
    return httpx.Client(
        base_url=f"{emu.url}/api/v2/accounts/{emu.account_id}",
        headers={"Authorization": f"Token {emu.token}"},
        timeout=10,
    )


def trigger(client: httpx.Client, job_id: int, pr: int | None, sha: str | None, cause: str | None = None) -> int:
    """Start a run (for a PR commit, or a plain one), as an earlier trigger would have."""
    body: dict[str, Any] = {"cause": cause or (f"PR #{pr} @ {(sha or '')[:7]}" if pr else "Scheduled")}
    if sha:
        body["git_sha"] = sha
    if pr:
        body["github_pull_request_id"] = pr
    response = client.post(f"/jobs/{job_id}/run/", json=body)
    response.raise_for_status()
    return int(response.json()["data"]["id"])


def wait_running(emu: Emulator, run_ids: Sequence[int], timeout: float = 10.0) -> None:
    """Block until the set-up runs execute, so each tool sees the same account."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = {run["id"]: run["status"] for run in emu.runs()}
        if all(status.get(run_id) == 3 for run_id in run_ids):
            return
        time.sleep(0.01)
    raise RuntimeError(f"set-up runs {list(run_ids)} did not start")


def payload(job_id: int, pr: int, sha: str) -> dict[str, Any]:
    """The Slim CI trigger body dbtc's docs ask for (the same fields the action sends)."""
    return {
        "cause": f"Autoscaling Slim CI: PR #{pr} @ {sha[:7]}",
        "git_sha": sha,
        "github_pull_request_id": pr,
        "schema_override": f"dbt_cloud_pr_{job_id}_{pr}",
    }


@dataclass
class Invocation:
    """One tool process: when it was spawned, how it exited, what it printed."""

    tool: str
    token: str
    spawned: float
    exited: float = 0.0
    returncode: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    stdout: str = ""
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    def wait(self, timeout: float = 180.0) -> Invocation:
        """Wait for the process and read what it left."""
        assert self.process is not None
        self.stdout, _ = self.process.communicate(timeout=timeout)
        self.exited = time.time()
        self.returncode = self.process.returncode
        if self.tool == "dbtc":
            lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
            self.detail = json.loads(lines[-1]) if lines else {"ok": False, "error": self.stdout[-500:]}
        return self


def start_ours(
    emu: Emulator,
    workdir: Path,
    token: str,
    *,
    job_id: int,
    pr: int,
    sha: str,
    pushed: datetime | None = None,
    **inputs: str,
) -> tuple[Invocation, Any]:
    """Start the action's real entrypoint as a runner would (harness), without waiting."""
    step = make_step(
        workdir,
        label=f"PR {pr}",
        host=emu.url,
        token=token,
        account_id=emu.account_id,
        job_id=job_id,
        event=pr_event(pr, sha, updated_at=pushed),
        **inputs,
    )
    spawned = time.time()
    step.start()
    return Invocation("ours", token, spawned, process=step.process), step


def finish_ours(invocation: Invocation, step: Any, timeout: float = 180.0) -> Invocation:
    """Wait for the action step and read its outputs."""
    done = step.wait(timeout=timeout)
    invocation.exited = time.time()
    invocation.returncode = done.returncode
    invocation.outputs = done.outputs
    invocation.stdout = done.stdout
    return invocation


def start_dbtc(emu: Emulator, token: str, job_id: int, pr: int, sha: str, **kwargs: Any) -> Invocation:
    """Start dbtc's `trigger_autoscaling_ci_job` in its own virtualenv, without waiting."""
    host = emu.url.removeprefix("http://")
    env = {key: value for key, value in os.environ.items() if not key.startswith("DBT_CLOUD_")}
    env.update({"DBT_CLOUD_HOST": host, "DBT_CLOUD_SERVICE_TOKEN": token})
    args = {"account_id": emu.account_id, "job_id": job_id, "payload": payload(job_id, pr, sha), **kwargs}
    spawned = time.time()
    process = subprocess.Popen(
        [str(DBTC_PYTHON), str(DBTC_RUNNER), json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return Invocation("dbtc", token, spawned, process=process)


def requests_of(emu: Emulator, token: str) -> list[dict[str, Any]]:
    """The request log entries one tool invocation made, in order."""
    me = caller_id(token)
    return sorted((e for e in emu.requests() if e["caller"] == me), key=lambda e: e["seq"])


def short_path(emu: Emulator, path: str) -> str:
    """A logged path without the account prefix."""
    return path.removeprefix(f"/api/v2/accounts/{emu.account_id}") or "/"


def ends(entry: dict[str, Any]) -> float:
    """When the emulator finished answering a logged request."""
    return float(entry["timestamp"]) + float(entry["elapsed_ms"]) / 1000


def utc_now() -> str:
    """Now, for the results file."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
