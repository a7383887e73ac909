"""Waiting on runs with the action's real executor on the emulator's hand-moved clock.

The action sleeps between status checks; here each sleep moves the emulated clock instead of waiting, so a
10-minute run takes well under a second while every check is a real request to the emulator, and no figure depends
on how busy the machine is. The 10-minute runs have a job history of three earlier runs of the same length, as the
waiting measurement gives both tools; the short run and the run that starts queued have none.
"""

from __future__ import annotations

import io
import statistics
from typing import Any

from autoscale_ci import USER_AGENT
from autoscale_ci.act.executor import Executor, Options
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.dbt_cloud.models import parse_timestamp
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.rules.decide import Trigger
from dbt_cloud_emulator import Emulator, EmulatorConfig

RUN_SECONDS = 600.0
# How far the run's actual length strays from its history: exact, then earlier and later ends.
DEVIATIONS = (0.0, -0.05, 0.05, -0.1, 0.1)


def _wait_on_one(emu: Emulator, client: DbtCloudClient) -> dict[str, Any]:
    """Trigger the CI job and wait with the real executor and the action's defaults (wait, poll-interval 30), each
    sleep moving the emulator's clock; the run's length, its status checks, every read, and how late its end was
    seen."""
    job_id = emu.ci_job_id or 0
    before = len(emu.requests())
    executor = Executor(client, Runtime({}, io.StringIO()), Options(job_id=job_id), clock=emu.now, sleep=emu.advance)
    pr = PullRequest(number=1, head_sha="a" * 40)
    outcome = executor.execute(Trigger("bench"), pr, None, {"cause": "bench", "git_sha": pr.head_sha})
    client.close()
    run_id = outcome.run.id if outcome.run else 0
    run = next(r for r in emu.runs() if r["id"] == run_id)
    checks = [e for e in emu.requests()[before:] if e["method"] == "GET" and e["path"].endswith(f"/runs/{run_id}/")]
    reads = [e for e in emu.requests()[before:] if e["method"] == "GET"]
    created, finished = parse_timestamp(run["created_at"]), parse_timestamp(run["finished_at"])
    seen = parse_timestamp(checks[-1]["emulated_at"]) if checks else None
    if created is None or finished is None or seen is None:
        raise RuntimeError(f"run {run_id} has no creation or finish time, or was never checked")
    seconds = (finished - created).total_seconds()
    return {
        "run_seconds": round(seconds, 1),
        "status_checks": len(checks),
        "requests": len(reads),
        "requests_per_minute": round(len(reads) / (seconds / 60), 2),
        "noticed_after_s": round((seen - finished).total_seconds(), 2),
        "status": outcome.run_status,
    }


def _history(emu: Emulator, client: DbtCloudClient, runs: int, seconds: float) -> None:
    for _ in range(runs):
        client.trigger_run(emu.ci_job_id or 0, {"cause": "history"})
        emu.advance(seconds + 2)


def one_run(deviation: float) -> dict[str, Any]:
    """Trigger and wait on one run of RUN_SECONDS * (1 + deviation) after a history of RUN_SECONDS runs."""
    with Emulator(EmulatorConfig(speed=0.0, start_seconds=1.0, run_seconds=RUN_SECONDS)) as emu:
        client = DbtCloudClient(emu.url, emu.token, emu.account_id, user_agent=USER_AGENT)
        _history(emu, client, 3, RUN_SECONDS)
        emu.set_timing(job_id=emu.ci_job_id, run_seconds=RUN_SECONDS * (1 + deviation))
        return {"deviation": deviation, **_wait_on_one(emu, client)}


def fresh_run(run_seconds: float, queued_seconds: float, history: int) -> dict[str, Any]:
    """A run, with the action's defaults, of a job with `history` earlier runs as long as this one, that waits
    `queued_seconds` for the account's only slot before it starts (1 s) and runs `run_seconds`: when is its end
    noticed, for how many requests."""
    with Emulator(EmulatorConfig(speed=0.0, start_seconds=1.0, run_seconds=run_seconds)) as emu:
        client = DbtCloudClient(emu.url, emu.token, emu.account_id, user_agent=USER_AGENT)
        _history(emu, client, history, run_seconds)
        if queued_seconds:
            ahead = emu.seed_job("Ahead", start_seconds=0.0, run_seconds=queued_seconds)
            emu.set_account(run_slots=1)  # the only slot is taken: ours waits in the queue
            client.trigger_run(ahead, {"cause": "ahead"})
            emu.advance(0)
        measured = _wait_on_one(emu, client)
    # The run's own length (not from trigger to end): the queue is part of what is measured.
    return {"queued_s": queued_seconds, "history": history, **measured, "run_seconds": run_seconds}


def measure() -> dict[str, Any]:
    """Every deviation; the targets read the exact-history run and the medians. Then a short run, and a run that
    starts queued."""
    rows = [one_run(deviation) for deviation in DEVIATIONS]
    return {
        "run_seconds": RUN_SECONDS,
        "per_run": rows,
        "requests_per_minute_max": max(row["requests_per_minute"] for row in rows),
        "noticed_after_s_median": statistics.median(row["noticed_after_s"] for row in rows),
        "exact": rows[0],
        "short": fresh_run(5.0, 0.0, history=0),  # as the README's emulator example: a fresh job, runs of 5 s
        "queued": fresh_run(600.0, 300.0, history=3),
    }
