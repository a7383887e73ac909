"""Waiting for a run: how often each tool asks while the run is in flight, and how late it notices the end.

Both tools poll on real time, so the runs here last real seconds: several runs of different lengths at once,
one per tool invocation, each on its own job (so nothing queues or clones), every tool with its defaults.
"""

from __future__ import annotations

import itertools
import random
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    Invocation,
    api,
    ends,
    finish_ours,
    median,
    parse_iso,
    requests_of,
    short_path,
    start_dbtc,
    start_ours,
    trigger,
)
from dbt_cloud_emulator import Emulator, EmulatorConfig

LATENCY = 0.05
PER_TOOL = 6
SEED = 7
SHORTEST, LONGEST = 30.0, 58.0
HISTORY_RUNS = 3


@dataclass
class Waiter:
    """One tool invocation waiting for its own job's run."""

    tool: str
    job_id: int
    run_seconds: float
    invocation: Invocation
    step: Any = None


def _finish(waiter: Waiter) -> None:
    if waiter.step is not None:
        finish_ours(waiter.invocation, waiter.step, timeout=300)
    else:
        waiter.invocation.wait(timeout=300)


class Waiting:
    """Start every waiter at once; `finish` collects and measures them."""

    def __init__(self) -> None:
        rng = random.Random(SEED)  # noqa: S311 - reproducible run lengths
        self.lengths = [round(rng.uniform(SHORTEST, LONGEST), 1) for _ in range(PER_TOOL)]
        tokens = {f"bench_wait_{tool}_{i}": "admin" for tool in ("ours", "dbtc") for i in range(PER_TOOL)}
        self.emu = Emulator(
            EmulatorConfig(latency_seconds=LATENCY, run_slots=2 * PER_TOOL + 2, start_seconds=0.05, tokens=tokens)
        )
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-waiting-")
        self.waiters: list[Waiter] = []
        self.skew = 0.0

    def start(self) -> Waiting:
        """Spawn every invocation; both tools share each run length once."""
        self.emu.start()
        jobs = {
            (tool, i): self.emu.seed_job(f"CI {tool} {i}", run_seconds=seconds)
            for i, seconds in enumerate(self.lengths)
            for tool in ("ours", "dbtc")
        }
        self._history(list(jobs.values()))
        for i, seconds in enumerate(self.lengths):
            for tool in ("ours", "dbtc"):
                job_id = jobs[(tool, i)]
                token = f"bench_wait_{tool}_{i}"
                pr, sha = (100 if tool == "ours" else 200) + i, f"{i:02d}" * 20
                if tool == "ours":
                    inv, step = start_ours(
                        self.emu, Path(self.tmp.name) / f"w{i}", token, job_id=job_id, pr=pr, sha=sha
                    )
                    self.waiters.append(Waiter(tool, job_id, seconds, inv, step))
                else:
                    inv = start_dbtc(self.emu, token, job_id, pr, sha, should_poll=True)
                    self.waiters.append(Waiter(tool, job_id, seconds, inv))
        return self

    def _history(self, job_ids: Iterable[int]) -> None:
        """Three finished runs per job, as long as the next one, so a tool may learn a job's usual run time.

        They run on emulated time moved forward by hand; from then on the emulated clock is ahead of the wall
        clock by a fixed skew, which `_measure` takes off again.
        """
        with api(self.emu) as client:
            for _ in range(HISTORY_RUNS):
                for job_id in job_ids:
                    trigger(client, job_id, None, None)
                self.emu.advance(LONGEST + 1)
                if not self.emu.wait_idle(timeout=10):
                    raise RuntimeError("history runs did not finish")
        self.skew = self.emu.now() - time.time()

    def finish(self) -> dict[str, Any]:
        """Wait for every invocation, then read the request log."""
        # One thread per process, so each exit time is taken when that process ends.
        with ThreadPoolExecutor(max_workers=len(self.waiters)) as pool:
            list(pool.map(_finish, self.waiters))
        runs = self.emu.runs()
        rows = [self._measure(waiter, runs) for waiter in self.waiters]
        self.emu.stop()
        self.tmp.cleanup()
        out: dict[str, Any] = {"latency_seconds": LATENCY, "run_seconds": self.lengths, "per_run": rows}
        for tool in ("ours", "dbtc"):
            mine = [row for row in rows if row["tool"] == tool and row["noticed_after_s"] is not None]
            out[tool] = {
                "noticed_after_s_median": median([row["noticed_after_s"] for row in mine]),
                "noticed_after_s_max": max((row["noticed_after_s"] for row in mine), default=None),
                "exit_after_s_median": median([row["exit_after_s"] for row in mine]),
                "requests_per_minute_in_flight": median([row["requests_per_minute_in_flight"] for row in mine]),
                "poll_interval_s_median": median([row["poll_interval_s"] for row in mine if row["poll_interval_s"]]),
                "requests_per_minute_10min_run": median([row["requests_per_minute_10min_run"] for row in mine]),
                "exit_codes": sorted({row["returncode"] for row in rows if row["tool"] == tool}),
            }
        return out

    def _measure(self, waiter: Waiter, runs: list[dict[str, Any]]) -> dict[str, Any]:
        run = max((r for r in runs if r["job_definition_id"] == waiter.job_id), key=lambda r: r["id"])
        emulated = parse_iso(run["finished_at"])
        finished = None if emulated is None else emulated - self.skew
        entries = requests_of(self.emu, waiter.invocation.token)
        trig = next(e for e in entries if e["method"] == "POST" and short_path(self.emu, e["path"]).endswith("/run/"))
        polls = [
            e
            for e in entries
            if e["method"] == "GET" and short_path(self.emu, e["path"]).startswith(f"/runs/{run['id']}")
        ]
        start = ends(trig)
        in_flight = [e for e in entries if finished is not None and start <= e["timestamp"] <= finished]
        seen = next((e for e in polls if finished is not None and ends(e) >= finished), None)
        gaps = [b["timestamp"] - a["timestamp"] for a, b in itertools.pairwise(polls)]
        gap = median(gaps) if gaps else None
        flight = (finished - start) if finished is not None else None
        return {
            "tool": waiter.tool,
            "run_seconds": waiter.run_seconds,
            "status": run["status"],
            "returncode": waiter.invocation.returncode,
            "in_flight_s": flight,
            "polls": len(polls),
            "requests_per_minute_in_flight": (60 * len(in_flight) / flight) if flight else None,
            "poll_interval_s": gap,
            # A poller with this interval asks 600 / interval times over a 10-minute run.
            "requests_per_minute_10min_run": (60 / gap) if gap else None,
            "noticed_after_s": (ends(seen) - finished) if seen and finished is not None else None,
            "exit_after_s": (waiter.invocation.exited - finished) if finished is not None else None,
        }
