"""Each situation the action decides on, set up the same way for both tools; requests, timing and what each did."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from autoscale_ci.rules.clone_body import WRITABLE_FIELDS
from autoscale_ci.rules.markers import clone_marker, push_marker
from bench.common import (
    Invocation,
    api,
    ends,
    finish_ours,
    log,
    median,
    parse_iso,
    requests_of,
    short_path,
    start_dbtc,
    start_ours,
    trigger,
    wait_running,
)
from dbt_cloud_emulator import Emulator, EmulatorConfig

LATENCY = 0.05
LONG = 3600.0
SHA_A, SHA_B, SHA_C = "a1" * 20, "b2" * 20, "c3" * 20
STATUS = {1: "queued", 2: "starting", 3: "running", 10: "success", 20: "error", 30: "cancelled"}
TRIGGER_PATH = re.compile(r"/jobs/(\d+)/run/?$")
CANCEL_PATH = re.compile(r"/runs/(\d+)/cancel/?$")
EARLIER = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

Setup = Callable[[Emulator, httpx.Client, int], dict[str, int]]


@dataclass(frozen=True)
class Situation:
    """An account state to start from and the push the tool is run for."""

    key: str
    title: str
    run_slots: int
    pr: int
    sha: str
    setup: Setup
    pushed: datetime | None = None
    ours_inputs: dict[str, str] = field(default_factory=dict)
    dbtc_kwargs: dict[str, Any] = field(default_factory=dict)


def _idle(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    return {}


def _older_sha(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    return {"PR #1 @ older commit": trigger(client, ci, 1, SHA_A)}


def _other_pr(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    return {"PR #2": trigger(client, ci, 2, SHA_C)}


OVERRIDES = {"DBT_TARGET_SUFFIX": "ci", "DBT_THREADS": "8"}


def _other_pr_with_overrides(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    for name, value in OVERRIDES.items():
        emu.set_env_var(name, project="prod", job_id=ci, job_value=value)
    return _other_pr(emu, client, ci)


def _no_slot(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    deploy = emu.seed_job("Deploy", job_type="scheduled", run_seconds=LONG)
    return {"PR #2": trigger(client, ci, 2, SHA_C), "Deploy": trigger(client, deploy, None, None)}


def _same_sha(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    return {"PR #1 @ same commit": trigger(client, ci, 1, SHA_A)}


SITUATIONS = (
    Situation("idle", "idle job", 3, 1, SHA_A, _idle),
    Situation("older_sha", "same PR at an older SHA", 3, 1, SHA_B, _older_sha),
    Situation("clone", "other PR, free slot (clone path)", 3, 1, SHA_A, _other_pr),
    Situation(
        "clone_overrides",
        f"other PR, free slot, job with {len(OVERRIDES)} env-var overrides (clone path)",
        3,
        1,
        SHA_A,
        _other_pr_with_overrides,
    ),
    Situation("no_slot", "other PR, no free slot", 2, 1, SHA_A, _no_slot),
    Situation("same_sha", "re-run of the same SHA", 3, 1, SHA_A, _same_sha),
)


# -- behaviour checks: situations where the two tools' rules differ --------------------------------------------


def _other_job_same_pr(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    other = emu.seed_job("CI (analytics-ops repo)", run_seconds=LONG)
    return {"other job's run for PR #1": trigger(client, other, 1, SHA_C)}


def _two_stale(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    first = trigger(client, ci, 1, SHA_A)
    return {"PR #1 @ A (running)": first, "PR #1 @ B (queued)": trigger(client, ci, 1, SHA_B)}


def _clone_triggers(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    job = client.get(f"/jobs/{ci}/").raise_for_status().json()["data"]
    body = {key: job[key] for key in WRITABLE_FIELDS if job.get(key) is not None}
    body["triggers"] = {"github_webhook": True, "schedule": True, "git_provider_webhook": False, "on_merge": False}
    client.post(f"/jobs/{ci}/", json={**body, "id": ci}).raise_for_status()  # an update names its own id
    return {"PR #2": trigger(client, ci, 2, SHA_C)}


def _first_page(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    backfill = emu.seed_job("Backfill", job_type="other", run_seconds=LONG)
    for _ in range(101):
        trigger(client, backfill, None, None)
    return {"PR #1 @ A (run id after 101 others)": trigger(client, ci, 1, SHA_A)}


def _cancelled_counted(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    clone = emu.seed_job(f"CI{clone_marker(ci, 1)}", run_seconds=LONG)
    deploy = emu.seed_job("Deploy", job_type="scheduled", run_seconds=LONG)
    return {
        "PR #2": trigger(client, ci, 2, SHA_C),
        "PR #1 @ A on a clone": trigger(client, clone, 1, SHA_A),
        "Deploy": trigger(client, deploy, None, None),
    }


def _late_older(emu: Emulator, client: httpx.Client, ci: int) -> dict[str, int]:
    newer = EARLIER + timedelta(minutes=2)
    cause = f"Autoscaling Slim CI: PR #1 @ {SHA_B[:7]}{push_marker(newer)}"
    return {"PR #1 @ B (newer commit)": trigger(client, ci, 1, SHA_B, cause=cause)}


BEHAVIOURS = (
    Situation("other_job_same_pr", "another job has a run for the same PR number", 3, 1, SHA_B, _other_job_same_pr),
    Situation("two_stale", "two runs of the PR at older commits", 3, 1, SHA_C, _two_stale),
    Situation(
        "clone_triggers",
        "clone of a job whose PR trigger and schedule are on",
        3,
        1,
        SHA_A,
        _clone_triggers,
        ours_inputs={"delete-clone": "false"},
        dbtc_kwargs={"delete_cloned_job": False},
    ),
    Situation("first_page", "PR's stale run beyond the first 100 active runs", 3, 1, SHA_B, _first_page),
    Situation(
        "cancelled_counted", "stale run on a clone, slots full until it is cancelled", 3, 1, SHA_B, _cancelled_counted
    ),
    Situation(
        "late_older",
        "workflow for an older commit starts after the newer one's",
        3,
        1,
        SHA_A,
        _late_older,
        pushed=EARLIER,
    ),
    Situation("same_sha", "re-run of the same SHA", 3, 1, SHA_A, _same_sha),
)


# -- running one tool in one situation ---------------------------------------------------------------------


def _describe(emu: Emulator, entries: list[dict[str, Any]], runs: dict[int, dict[str, Any]]) -> list[str]:
    jobs = {job["id"]: job for job in emu.jobs()}
    actions: list[str] = []
    for entry in entries:
        path = short_path(emu, entry["path"])
        if entry["method"] == "POST" and (found := CANCEL_PATH.search(path)):
            run = runs.get(int(found.group(1)), {})
            trig = run.get("trigger") or {}
            job = jobs.get(run.get("job_definition_id", 0), {})
            pr = trig.get("github_pull_request_id")
            what = f"PR #{pr} @ {(trig.get('git_sha') or '?')[:7]}" if pr else "no PR"
            actions.append(f"cancel run {found.group(1)} ({what}, job '{job.get('name')}')")
        elif entry["method"] == "POST" and path.rstrip("/") == "/jobs":
            name = (entry["body"] or {}).get("name", "?")
            actions.append(f"create job '{name}'")
        elif entry["method"] == "POST" and (found := TRIGGER_PATH.search(path)):
            job = jobs.get(int(found.group(1)), {})
            actions.append(f"trigger job {found.group(1)} '{job.get('name')}'")
        elif entry["method"] == "DELETE":
            actions.append(f"delete {path}")
    return actions


def run_tool(sit: Situation, tool: str, index: int, workroot: Path, *, latency: float) -> dict[str, Any]:
    """Set up the situation on a fresh emulator, run one tool once, and read what it did from the log."""
    token = f"bench_{tool}_{sit.key}_{index}"
    config = EmulatorConfig(
        latency_seconds=latency, run_slots=sit.run_slots, start_seconds=0.05, run_seconds=0.3, tokens={token: "admin"}
    )
    with Emulator(config) as emu, api(emu) as client:
        ci = emu.ci_job_id or 0
        emu.set_timing(job_id=ci, run_seconds=LONG)
        named = sit.setup(emu, client, ci)
        executing = [run_id for run_id in named.values() if _executes(emu, run_id)]
        wait_running(emu, executing)
        emu.set_timing(job_id=ci, run_seconds=0.3)
        before = {run["id"] for run in emu.runs()}
        jobs_before = {job["id"] for job in emu.jobs()}
        inv: Invocation
        if tool == "ours":
            inputs = {"wait": "false", "poll-interval": "1", **sit.ours_inputs}
            inv, step = start_ours(
                emu,
                workroot / f"{tool}-{sit.key}-{index}",
                token,
                job_id=ci,
                pr=sit.pr,
                sha=sit.sha,
                pushed=sit.pushed,
                **inputs,
            )
            finish_ours(inv, step)
        else:
            inv = start_dbtc(emu, token, ci, sit.pr, sit.sha, poll_interval=1, **sit.dbtc_kwargs).wait()
        entries = requests_of(emu, token)
        # How soon the new run starts matters as much as how soon it is triggered: a run queued behind a stale run
        # of its job starts only once that run's cancel lands.
        _wait_started(emu, sit.pr, before)
        runs = {run["id"]: run for run in emu.runs()}
        new_runs = [run for run_id, run in runs.items() if run_id not in before]
        jobs = emu.jobs()
        created = [job for job in jobs if job["id"] not in jobs_before]
        return _result(
            emu, sit, tool, inv, entries=entries, runs=runs, new_runs=new_runs, named=named, jobs=jobs, created=created
        )


def _wait_started(emu: Emulator, pr: int, before: set[int], timeout: float = 10.0) -> None:
    """Until the tool's new run for `pr` has left the queue (or there is none, or it never will in time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [r for r in emu.runs() if r["id"] not in before and r["trigger"]["github_pull_request_id"] == pr]
        if not mine or mine[-1]["dequeued_at"] is not None:
            return
        time.sleep(0.01)


def _executes(emu: Emulator, run_id: int) -> bool:
    # Runs queued behind a run of their own job, or beyond the account's slots, stay queued.
    runs = {run["id"]: run for run in emu.runs()}
    run = runs[run_id]
    earlier = [r for r in runs.values() if r["id"] < run_id and r["status"] in (1, 2, 3)]
    same_job = any(r["job_definition_id"] == run["job_definition_id"] for r in earlier)
    return not same_job and len(earlier) < int(emu.account()["run_slots"])


def _result(
    emu: Emulator,
    sit: Situation,
    tool: str,
    inv: Invocation,
    *,
    entries: list[dict[str, Any]],
    runs: dict[int, dict[str, Any]],
    new_runs: list[dict[str, Any]],
    named: dict[str, int],
    jobs: list[dict[str, Any]],
    created: list[dict[str, Any]],
) -> dict[str, Any]:
    first = entries[0] if entries else None
    trig = next((e for e in entries if e["method"] == "POST" and TRIGGER_PATH.search(short_path(emu, e["path"]))), None)
    # A tool that triggers nothing (it follows the run in flight) is done with its last request.
    done = trig or (entries[-1] if entries else None)
    upto = [e for e in entries if done is not None and e["seq"] <= done["seq"]]
    mine = [run for run in new_runs if (run.get("trigger") or {}).get("github_pull_request_id") == sit.pr]
    result: dict[str, Any] = {
        "tool": tool,
        "situation": sit.key,
        "returncode": inv.returncode,
        "decision": inv.outputs.get("decision") if tool == "ours" else _dbtc_decision(entries, emu),
        "first_to_trigger_s": (ends(done) - first["timestamp"]) if first and done else None,
        "first_to_start_s": _first_to_start(first, mine),
        "triggered": trig is not None,
        "requests_to_trigger": len(upto),
        "round_trips_to_trigger": round_trips(upto),
        "requests_total": len(entries),
        "spawn_to_first_request_s": (first["timestamp"] - inv.spawned) if first else None,
        "spawn_to_exit_s": inv.exited - inv.spawned,
        "requests": [f"{e['method']} {short_path(emu, e['path'])}" for e in entries],
        "actions": _describe(emu, entries, runs),
        "set_up_runs_after": {label: STATUS[runs[run_id]["status"]] for label, run_id in named.items()},
        "new_run": (
            {
                "job": next((j["name"] for j in jobs if j["id"] == mine[-1]["job_definition_id"]), "?"),
                "status": STATUS[mine[-1]["status"]],
            }
            if mine
            else None
        ),
        "created_jobs": [{"name": j["name"], "deleted": j["state"] == 2, "triggers": j["triggers"]} for j in created],
    }
    if tool == "dbtc" and not inv.detail.get("ok", False):
        result["error"] = inv.detail.get("error")
    return result


def _first_to_start(first: dict[str, Any] | None, mine: list[dict[str, Any]]) -> float | None:
    """From the tool's first request to its new run leaving the queue (dbt Cloud's `dequeued_at`), if it did."""
    dequeued = parse_iso(mine[-1]["dequeued_at"]) if mine else None
    return dequeued - first["timestamp"] if first is not None and dequeued is not None else None


def round_trips(entries: list[dict[str, Any]]) -> int:
    """Sequential waves of requests: one that starts after every earlier answer has ended begins a new wave."""
    waves, wave_end = 0, float("-inf")
    for entry in sorted(entries, key=lambda e: e["timestamp"]):
        if entry["timestamp"] >= wave_end:
            waves += 1
            wave_end = ends(entry)
        else:
            wave_end = max(wave_end, ends(entry))
    return waves


def _dbtc_decision(entries: list[dict[str, Any]], emu: Emulator) -> str:
    paths = [f"{e['method']} {short_path(emu, e['path'])}" for e in entries]
    cancelled = any(CANCEL_PATH.search(p) for p in paths if p.startswith("POST"))
    cloned = any(p.rstrip("/") == "POST /jobs" for p in paths)
    move = "clone-and-trigger" if cloned else "plain-trigger"
    return f"cancel-and-{'clone' if cloned else 'retrigger'}" if cancelled else move


def _median_or_none(values: list[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return median(known) if known else None


def measure(repeats: int) -> dict[str, Any]:
    """Every situation, `repeats` times per tool, alternating tools; medians per situation and tool."""
    trials: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-situations-") as tmp:
        for sit in SITUATIONS:
            for index in range(repeats):
                for tool in ("ours", "dbtc"):
                    trials.append(run_tool(sit, tool, index, Path(tmp), latency=LATENCY))
            log(f"  situation '{sit.title}': {repeats} runs per tool")
    summary: dict[str, Any] = {}
    for sit in SITUATIONS:
        row: dict[str, Any] = {"title": sit.title}
        for tool in ("ours", "dbtc"):
            mine = [t for t in trials if t["situation"] == sit.key and t["tool"] == tool]
            row[tool] = {
                "first_to_trigger_s": median([t["first_to_trigger_s"] for t in mine if t["first_to_trigger_s"]]),
                "first_to_start_s": _median_or_none([t["first_to_start_s"] for t in mine]),
                "requests_to_trigger": median([t["requests_to_trigger"] for t in mine]),
                "round_trips_to_trigger": median([t["round_trips_to_trigger"] for t in mine]),
                "requests_total": median([t["requests_total"] for t in mine]),
                "spawn_to_first_request_s": median(
                    [t["spawn_to_first_request_s"] for t in mine if t["spawn_to_first_request_s"] is not None]
                ),
                "decision": mine[0]["decision"],
                "triggered": mine[0]["triggered"],
                "requests": mine[0]["requests"],
                "actions": mine[0]["actions"],
                "returncodes": sorted({t["returncode"] for t in mine}),
                "errors": sorted({t["error"] for t in mine if t.get("error")}),
            }
        summary[sit.key] = row
    return {"latency_seconds": LATENCY, "repeats": repeats, "situations": summary, "trials": trials}


def behaviours() -> list[dict[str, Any]]:
    """The situations where the tools' rules differ, each run once per tool without added latency."""
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-behaviour-") as tmp:
        for sit in BEHAVIOURS:
            row: dict[str, Any] = {"key": sit.key, "title": sit.title}
            for tool in ("ours", "dbtc"):
                row[tool] = run_tool(sit, tool, 0, Path(tmp), latency=0.0)
            out.append(row)
    return out
