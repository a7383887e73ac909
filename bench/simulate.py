"""A day of pull request traffic on the emulator with a hand-driven clock, under three trigger policies.

Each policy makes its decision at the moment of a push from the emulator's state and applies it to that state;
the emulator schedules the runs (one run per job at a time, `run_slots` at once). Seeded, so every run of the
bench replays the same day.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from autoscale_ci.act.snapshot import as_active as snapshot_of
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.rules.decide import AccountFacts, Clone, Follow, PrState, Skip, Snapshot, decide
from autoscale_ci.rules.markers import PushOrder, clone_marker, push_marker
from bench.common import ACTIVE, median, percentile
from dbt_cloud_emulator import Emulator, EmulatorConfig

SEED = 20260105
DAYS = 5
PRS = 14
RUN_SLOTS = 4
START_SECONDS = 30.0
MEDIAN_RUN_MINUTES = 10.0
RUN_SIGMA = 0.5
PUSH_GAP_MINUTES = 25.0
RERUN_SHARE = 0.1
WORKDAY_HOURS = 8
PRODUCTION_MINUTES = 20.0
TICK = 30.0
DBTC_PAGE = 100
POLICIES = ("plain", "dbtc", "ours")


@dataclass(frozen=True)
class Push:
    """A push of a commit to a PR (or, with `rerun`, a re-run of that commit's workflow)."""

    at: float
    pr: int
    index: int
    sha: str
    minutes: float
    rerun: bool = False


def traffic(seed: int = SEED) -> list[Push]:
    """PRs opened across the workday, 2 to 6 pushes each, run times log-normal; some workflows re-run."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible day, not secrets
    pushes: list[Push] = []
    for pr in range(1, PRS + 1):
        at = rng.uniform(0, WORKDAY_HOURS * 3600)
        count = rng.randint(2, 6)
        for index in range(count):
            sha = hashlib.sha1(f"{seed}:{pr}:{index}".encode()).hexdigest()  # noqa: S324 - a fake commit id
            minutes = min(45.0, max(4.0, rng.lognormvariate(math.log(MEDIAN_RUN_MINUTES), RUN_SIGMA)))
            pushes.append(Push(at, pr, index, sha, minutes))
            gap = max(120.0, rng.expovariate(1 / (PUSH_GAP_MINUTES * 60)))
            if rng.random() < RERUN_SHARE:
                delay = rng.uniform(60, 300)
                if delay < gap or index == count - 1:
                    pushes.append(Push(at + delay, pr, index, sha, minutes, rerun=True))
            at += gap
    return sorted(pushes, key=lambda p: (p.at, p.pr, p.index, p.rerun))


class World:
    """The emulator (not listening; speed 0) plus the bookkeeping the policies and metrics need."""

    def __init__(self) -> None:
        self.emu = Emulator(
            EmulatorConfig(speed=0, run_slots=RUN_SLOTS, start_seconds=START_SECONDS, run_seconds=600, seed=SEED)
        )
        self.ci = self.emu.ci_job_id or 0
        self.production = self.emu.seed_job("Production", job_type="scheduled", run_seconds=PRODUCTION_MINUTES * 60)
        self.t0 = self.emu.now()
        self.minutes: dict[str, float] = {}
        self.clones = 0

    def at(self, seconds: float) -> datetime:
        """A day offset as a datetime on the emulated clock."""
        return datetime.fromtimestamp(self.t0 + seconds, UTC)

    def trigger(self, job_id: int, push: Push | None) -> None:
        """Queue a run: a PR commit's Slim CI run, or a production run."""
        if push is None:
            self.emu.state.trigger(job_id, {"cause": "Scheduled"})
            return
        cause = f"Autoscaling Slim CI: PR #{push.pr} @ {push.sha[:7]}{push_marker(self.at(push.at))}"
        fields = {"cause": cause, "git_sha": push.sha, "github_pull_request_id": push.pr}
        self.emu.state.trigger(job_id, fields)

    def clone(self, name: str, push: Push) -> int:
        """A job that runs this commit's run, with its own run time."""
        self.clones += 1
        return self.emu.seed_job(name, run_seconds=push.minutes * 60)

    def active(self) -> list[dict[str, Any]]:
        """Active runs as `GET /runs/?status__in=[1,2,3]&include_related=["trigger","job"]` lists them."""
        jobs = {job["id"]: job for job in self.emu.jobs()}
        runs = [run for run in self.emu.runs() if run["status"] in ACTIVE]
        for run in runs:
            run["job"] = jobs.get(run["job_definition_id"])
        return sorted(runs, key=lambda r: r["id"])

    def pace_base_job(self) -> None:
        """The base job's next run takes its own commit's run time (the emulator times runs per job)."""
        queued = [r for r in self.emu.state.runs.values() if r.job_id == self.ci and r.status == 1]
        if queued:
            sha = min(queued, key=lambda r: r.id).git_sha or ""
            self.emu.set_timing(job_id=self.ci, run_seconds=self.minutes.get(sha, MEDIAN_RUN_MINUTES) * 60)


def plain(world: World, push: Push) -> None:
    """Trigger the job every time; dbt Cloud queues."""
    world.trigger(world.ci, push)


def dbtc_rules(world: World, push: Push) -> None:
    """dbtc 0.11's `trigger_autoscaling_ci_job`, rule for rule (client/admin.py), with default arguments."""
    in_progress = world.active()[:DBTC_PAGE]  # one page, no order_by
    job_runs = [r for r in in_progress if r["job_definition_id"] == world.ci]
    pr_runs = [r for r in in_progress if (r.get("trigger") or {}).get("github_pull_request_id", -1) == push.pr]
    pr_run: dict[str, Any] = {}
    if pr_runs:
        pr_run = pr_runs[0]
        world.emu.state.cancel(pr_run["id"])
    target = world.ci
    # max_run_slots=None: the account's run slots, against every active run listed (queued ones too).
    busy_with_other = bool(job_runs) and pr_run.get("id") != job_runs[0]["id"]
    if busy_with_other and int(world.emu.account()["run_slots"]) > len(in_progress):
        stamp = world.at(push.at).strftime("%m/%d/%Y %H:%M:%S")
        target = world.clone(f"CI [CLONED {stamp}]", push)
    world.trigger(target, push)


def ours(world: World, push: Push) -> None:
    """`autoscale_ci.rules.decide.decide` on a snapshot of the account, carried out as the executor does."""
    # The same conversion from the API's run objects that the action's snapshot makes.
    active = [snapshot_of(Run.model_validate(run)) for run in world.active()]
    account = AccountFacts(run_slots=int(world.emu.account()["run_slots"]))
    snapshot = Snapshot(job_id=world.ci, active_runs=tuple(active), account=account)
    plan = decide(snapshot, PrState(pr_number=push.pr, sha=push.sha, order=PushOrder.pushed(world.at(push.at))))
    if plan is None or isinstance(plan, Skip | Follow):
        return
    target = world.clone(f"CI{clone_marker(world.ci, push.pr)}", push) if isinstance(plan, Clone) else world.ci
    for stale in plan.cancel:
        world.emu.state.cancel(stale.id)
    world.trigger(target, push)


RULES: dict[str, Callable[[World, Push], None]] = {"plain": plain, "dbtc": dbtc_rules, "ours": ours}


def play(policy: str, pushes: list[Push]) -> dict[str, Any]:
    """Play one day under one policy and measure it."""
    world = World()
    rule = RULES[policy]
    for push in pushes:
        world.minutes[push.sha] = push.minutes
    last = max(p.at for p in pushes)
    events: list[tuple[float, int, Push | None]] = [(p.at, 1, p) for p in pushes]
    hours = math.ceil(last / 3600) + 1
    events += [(hour * 3600.0, 0, None) for hour in range(hours)]
    events.sort(key=lambda e: (e[0], e[1]))
    now = 0.0
    for at, _, event in events:
        now = _advance(world, now, at)
        if event is None:
            world.trigger(world.production, None)
        else:
            rule(world, event)
    while not world.emu.state.idle():
        now = _advance(world, now, now + TICK)
    return _measure(world, pushes, policy)


def _advance(world: World, now: float, until: float) -> float:
    while now < until:
        step = min(TICK, until - now)
        world.pace_base_job()
        world.emu.advance(step)
        now += step
    return now


def _measure(world: World, pushes: list[Push], policy: str) -> dict[str, Any]:
    runs = [r for r in world.emu.runs() if (r.get("trigger") or {}).get("github_pull_request_id")]
    index = {(p.pr, p.sha): p.index for p in pushes}
    real = [p for p in pushes if not p.rerun]
    superseded_at = {(p.pr, p.index): p.at for p in real}
    waits: list[float] = []
    missing = 0
    for push in real:
        results = [
            _offset(world, r["finished_at"])
            for r in runs
            if r["trigger"]["github_pull_request_id"] == push.pr
            and r["status"] in (10, 20)
            and index[(push.pr, r["trigger"]["git_sha"])] >= push.index
        ]
        done = [t for t in results if t is not None and t >= push.at]
        if done:
            waits.append((min(done) - push.at) / 60)
        else:
            missing += 1
    wasted = after_newer = total = 0.0
    for r in runs:
        start, end = _offset(world, r["dequeued_at"]), _offset(world, r["finished_at"])
        if start is None or end is None:
            continue
        minutes = (end - start) / 60
        total += minutes
        pr = r["trigger"]["github_pull_request_id"]
        newer = superseded_at.get((pr, index[(pr, r["trigger"]["git_sha"])] + 1))
        if r["status"] == 30 or (newer is not None and newer < end):
            wasted += minutes
        if newer is not None and newer < end:
            after_newer += (end - max(start, newer)) / 60
    return {
        "policy": policy,
        "waits": waits,
        "pushes": len(real),
        "reruns": len(pushes) - len(real),
        "runs": len(runs),
        "clones": world.clones,
        "pushes_without_result": missing,
        "superseded_run_minutes": wasted,
        "after_newer_push_minutes": after_newer,
        "ci_run_minutes": total,
    }


def _offset(world: World, iso_time: str | None) -> float | None:
    if not iso_time:
        return None
    return datetime.fromisoformat(iso_time).timestamp() - world.t0


def run() -> dict[str, Any]:
    """`DAYS` seeded days under every policy; push-to-result pooled over the days, minutes per day."""
    days = [traffic(SEED + day) for day in range(DAYS)]
    policies: dict[str, Any] = {}
    for policy in POLICIES:
        played = [play(policy, pushes) for pushes in days]
        waits = [w for day in played for w in day["waits"]]
        # Rounded: the emulated clock starts at the wall clock, which leaves float noise far below a second.
        policies[policy] = {
            "push_to_result_median_min": round(median(waits), 2),
            "push_to_result_p95_min": round(percentile(waits, 95), 2),
            "pushes_without_result": sum(day["pushes_without_result"] for day in played),
            **{
                f"{key}_per_day": round(sum(day[key] for day in played) / DAYS, 2)
                for key in ("superseded_run_minutes", "after_newer_push_minutes", "ci_run_minutes", "runs", "clones")
            },
        }
    return {
        "seed": SEED,
        "days": DAYS,
        "prs_per_day": PRS,
        "pushes": sum(1 for pushes in days for p in pushes if not p.rerun),
        "reruns": sum(1 for pushes in days for p in pushes if p.rerun),
        "run_slots": RUN_SLOTS,
        "median_run_minutes": MEDIAN_RUN_MINUTES,
        "production_job": f"{PRODUCTION_MINUTES:.0f} min every hour",
        "policies": policies,
    }
