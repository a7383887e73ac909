"""Fault soak: the action against the emulator under many seeded random fault schedules.

Each schedule builds a situation (idle job, another PR's run, this PR's stale run), turns on a random mix of
429s (with and without Retry-After), 5xx, dropped connections (before and after the change) and slow answers,
runs the main step and then the post step as a runner would, and checks what must hold whatever the network did.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from autoscale_ci import post
from autoscale_ci import run as action
from autoscale_ci.dbt_cloud import DbtCloudClient
from dbt_cloud_emulator import FAULT_KINDS, Emulator, EmulatorConfig
from tests.harness import input_defaults, parse_file_commands, pr_event

PR, OTHER_PR = 7, 8
SHA_OLD, SHA_NEW, SHA_OTHER = "0" * 40, "1" * 40, "2" * 40
SITUATIONS = ("idle", "other-pr-busy", "stale-run", "stale-and-busy")


@dataclass
class Tally:
    """Counts over all schedules, and every broken promise found."""

    schedules: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def report(self) -> str:
        """One line a count, for the log."""
        return "\n".join(
            [
                f"schedules: {self.schedules}",
                f"outcomes: {dict(sorted(self.outcomes.items()))}",
                f"decisions: {dict(sorted(self.decisions.items()))}",
                f"faults injected: {dict(sorted(self.faults.items()))}, total {sum(self.faults.values())}",
                *(f"failure x{n}: {why}" for why, n in self.failures.most_common()),
                f"violations: {len(self.violations)}",
            ]
        )


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: value for key, value in os.environ.items() if key.startswith(("INPUT_", "GITHUB_", "STATE_"))}
    for key in saved:
        del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        for key in [key for key in os.environ if key.startswith(("INPUT_", "GITHUB_", "STATE_"))]:
            del os.environ[key]
        os.environ.update(saved)


@contextmanager
def _fast_retries() -> Iterator[None]:
    """Keep the client's retry logic but shrink its waits, so hundreds of schedules fit in a minute."""
    original = DbtCloudClient.__init__

    def fast(self: DbtCloudClient, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("sleep", lambda seconds: time.sleep(min(seconds, 0.02)))
        original(self, *args, **kwargs)

    DbtCloudClient.__init__ = fast  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        DbtCloudClient.__init__ = original  # type: ignore[method-assign]


def _trigger(emu: Emulator, job_id: int, pr: int, sha: str, pushed: datetime) -> int:
    cause = f"Autoscaling Slim CI: PR #{pr} @ {sha[:7]} [pushed {pushed.strftime('%Y-%m-%dT%H:%M:%SZ')}]"
    response = httpx.post(
        f"{emu.url}/api/v2/accounts/{emu.account_id}/jobs/{job_id}/run/",
        json={"cause": cause, "git_sha": sha, "github_pull_request_id": pr},
        headers={"Authorization": f"Token {emu.token}"},
    )
    response.raise_for_status()
    return int(response.json()["data"]["id"])


def run_schedule(index: int, seed: int, workdir: Path, tally: Tally) -> None:
    """One schedule: situation, faults, main step, post step, checks."""
    rng = random.Random(seed * 100_003 + index)
    situation = rng.choice(SITUATIONS)
    kinds = tuple(rng.sample(FAULT_KINDS, rng.randint(1, len(FAULT_KINDS))))
    rate = rng.choice((0.05, 0.1, 0.2, 0.3))
    config = EmulatorConfig(
        run_slots=rng.randint(1, 3),
        start_seconds=0.01,
        run_seconds=rng.uniform(0.05, 0.25),
        seed=seed * 7919 + index,
        retry_after_seconds=0.05,
        slow_seconds=0.05,
    )
    pushed = datetime.now(UTC)
    where = f"schedule {index} ({situation}, faults {kinds} at {rate})"
    with Emulator(config) as emu:
        job_id = emu.ci_job_id or 0
        others: list[int] = []
        if situation in ("other-pr-busy", "stale-and-busy"):
            others.append(_trigger(emu, job_id, OTHER_PR, SHA_OTHER, pushed))
        if situation in ("stale-run", "stale-and-busy"):
            _trigger(emu, job_id, PR, SHA_OLD, pushed - timedelta(minutes=1))
        other_job = emu.seed_job(name="Nightly", job_type="scheduled")
        others.append(_trigger(emu, other_job, PR, SHA_OLD, pushed))  # same PR number, another job
        emu.set_fault_rate(rate, kinds)

        files = {name: workdir / f"{index}-{name}" for name in ("event", "output", "summary", "state")}
        files["event"].write_text(json.dumps(pr_event(PR, SHA_NEW, updated_at=pushed)), encoding="utf-8")
        for name in ("output", "summary", "state"):
            files[name].write_text("", encoding="utf-8")
        inputs = {
            **input_defaults(),
            "dbt-cloud-token": emu.token,
            "account-id": str(emu.account_id),
            "job-id": str(job_id),
            "dbt-cloud-host": emu.url,
            "poll-interval": "0.02",
            "timeout-minutes": "1",
        }
        env = {f"INPUT_{name.upper()}": value for name, value in inputs.items()}
        env.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_EVENT_PATH": str(files["event"]),
                "GITHUB_OUTPUT": str(files["output"]),
                "GITHUB_STEP_SUMMARY": str(files["summary"]),
                "GITHUB_STATE": str(files["state"]),
            }
        )
        printed = io.StringIO()
        with _environment(env), redirect_stdout(printed):
            code = action.main()
        state = parse_file_commands(files["state"].read_text(encoding="utf-8"))
        with _environment({**env, **{f"STATE_{k}": v for k, v in state.items()}}), redirect_stdout(printed):
            post.main()
        emu.clear_faults()
        emu.wait_idle(timeout=20)
        runs, jobs = emu.runs(), emu.jobs()
        tally.faults.update(entry["fault"] for entry in emu.requests() if entry["fault"])

    tally.schedules += 1
    outputs = parse_file_commands(files["output"].read_text(encoding="utf-8"))
    tally.decisions[outputs.get("decision", "none")] += 1
    errors = [line for line in printed.getvalue().splitlines() if line.startswith("::error")]

    def check(ok: bool, why: str) -> None:
        if not ok:
            tally.violations.append(f"{where}: {why}")

    if code == 0:
        tally.outcomes["success"] += 1
        check(not errors, f"exit 0 with errors {errors}")
    else:
        tally.outcomes["clear failure"] += 1
        tally.failures[re.sub(r"\d+", "N", errors[0].split("::", 2)[-1])[:160] if errors else "no error line"] += 1
        check(code == 1 and len(errors) == 1, f"exit {code} with {len(errors)} error lines: {errors}")
    mine = [r for r in runs if r["trigger"]["github_pull_request_id"] == PR and r["git_sha"] == SHA_NEW]
    check(len(mine) <= 1, f"{len(mine)} runs for PR #{PR} at its commit")
    left = [j["id"] for j in jobs if j["state"] == 1 and "[autoscale" in j["name"]]
    check(not left, f"clones left: {left}")
    cancelled = [r["id"] for r in runs if r["id"] in others and r["status"] == 30]
    check(not cancelled, f"runs of another PR or job cancelled: {cancelled}")


def soak(count: int, seed: int, workdir: Path) -> Tally:
    """Run `count` schedules and return the tally."""
    tally = Tally()
    with _fast_retries():
        for index in range(count):
            run_schedule(index, seed, workdir, tally)
    return tally
