"""Weather soak: the action's wait through dbt Cloud's bad spells, and two pushes of one pull request racing.

Each schedule picks one spell and plays it while the main step waits on its run: an outage of 30 to 300 emulated
seconds (a 5xx, or connections dropped unanswered), or a rate limit's cooldown (every request 429, no Retry-After),
on the job itself or on a clone; or a newer push whose trigger dbt Cloud answers seconds late while an older push's
step (a process of its own) waits on the run it must give up. A spell ends when the emulator's clock is moved past
it, never after real minutes. What must hold whatever the weather: no run lost (a healthy run is never cancelled,
its clone never deleted under it), no wrong verdict, no clone left, and the older push superseded, not failed.
"""

from __future__ import annotations

import io
import json
import random
import threading
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from autoscale_ci import post
from autoscale_ci import run as action
from dbt_cloud_emulator import Emulator, EmulatorConfig, caller_id
from tests.harness import input_defaults, make_step, parse_file_commands, pr_event, wait_for
from tests.soak import Tally, _environment, _fast_retries, _trigger

PR, OTHER_PR = 7, 8
SHA_OLD, SHA_NEW, SHA_OTHER = "0" * 40, "1" * 40, "2" * 40
SPELLS = ("5xx", "reset", "rate-limit", "slow-newer-trigger")
TOKEN = "dbtc_weather_soak_token"
OLDER_TOKEN = "dbtc_weather_soak_older_token"


@dataclass(frozen=True)
class Spell:
    """What one schedule plays: the bad spell, how long it lasts on the emulator's clock, how many failed reads the
    step sits through first, whether the job is busy (so the run is on a clone), and a slow trigger's delay."""

    kind: str
    seconds: float
    failures: int
    on_a_clone: bool
    delay: float

    @classmethod
    def draw(cls, rng: random.Random) -> Spell:
        """A schedule's spell, from the seeded generator."""
        return cls(
            kind=rng.choice(SPELLS),
            seconds=rng.uniform(30, 300),
            failures=rng.randint(2, 6),
            on_a_clone=rng.random() < 0.5,
            delay=rng.uniform(1.0, 3.5),
        )


def _requests(emu: Emulator, token: str) -> list[dict[str, Any]]:
    me = caller_id(token)
    return [entry for entry in emu.requests() if entry["caller"] == me]


def _run_of(emu: Emulator, sha: str) -> dict[str, Any] | None:
    return next((run for run in emu.runs() if run["trigger"]["git_sha"] == sha), None)


def _play(emu: Emulator, spell: Spell, problems: list[str]) -> None:
    """On its own thread, while the step waits: once the step has read its run, start the spell, let the step sit
    through `failures` failed requests, end the spell on the emulator's clock, and let the run finish."""
    try:
        wait_for(lambda: _run_of(emu, SHA_NEW), what="the step's run", timeout=60)
        run = _run_of(emu, SHA_NEW)
        assert run is not None
        path = f"/runs/{run['id']}/"
        wait_for(lambda: any(e["path"].endswith(path) for e in _requests(emu, TOKEN)), what="a read of the run")
        before = len(emu.requests())
        if spell.kind == "rate-limit":
            emu.rate_limit(spell.seconds)
        else:
            status = None if spell.kind == "reset" else 503
            emu.outage(spell.seconds, status, kind="drop" if spell.kind == "reset" else None, path=f"{path}$")
        wait_for(
            lambda: sum(1 for e in emu.requests()[before:] if e["fault"]) >= spell.failures,
            what=f"{spell.failures} failed reads",
            timeout=90,
        )
        emu.advance(spell.seconds)
    except AssertionError as exc:
        problems.append(str(exc))
    finally:
        emu.release(git_sha=SHA_NEW)


def _main_step(emu: Emulator, workdir: Path, index: int, pushed: datetime) -> tuple[int, dict[str, str], str]:
    """The main step and then the post step, in this process, as a runner runs them."""
    files = {name: workdir / f"weather-{index}-{name}" for name in ("event", "output", "summary", "state")}
    files["event"].write_text(json.dumps(pr_event(PR, SHA_NEW, updated_at=pushed)), encoding="utf-8")
    for name in ("output", "summary", "state"):
        files[name].write_text("", encoding="utf-8")
    inputs = {
        **input_defaults(),
        "dbt-cloud-token": TOKEN,
        "account-id": str(emu.account_id),
        "job-id": str(emu.ci_job_id),
        "dbt-cloud-host": emu.url,
        "poll-interval": "0.02",
        "timeout-minutes": "3",
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
    return code, parse_file_commands(files["output"].read_text(encoding="utf-8")), printed.getvalue()


def run_weather_schedule(index: int, seed: int, workdir: Path, tally: Tally) -> None:
    """One schedule: its spell, the step (and for a race, the older push's step), then the checks."""
    rng = random.Random(seed * 100_019 + index)
    spell = Spell.draw(rng)
    where = f"weather schedule {index} ({spell})"
    tokens = {TOKEN: "admin", OLDER_TOKEN: "admin"}
    config = EmulatorConfig(run_slots=3, start_seconds=0.01, run_seconds=0.1, seed=seed + index, tokens=tokens)
    pushed = datetime.now(UTC)
    problems: list[str] = []
    with Emulator(config) as emu:
        job_id = emu.ci_job_id or 0
        others: list[int] = []
        if spell.on_a_clone:
            emu.hold(git_sha=SHA_OTHER)
            others.append(_trigger(emu, job_id, OTHER_PR, SHA_OTHER, pushed))
        older = None
        if spell.kind == "slow-newer-trigger":
            emu.hold(git_sha=SHA_OLD)
            older = make_step(
                workdir / f"weather-{index}-older",
                label="older push",
                host=emu.url,
                token=OLDER_TOKEN,
                account_id=emu.account_id,
                job_id=job_id,
                event=pr_event(PR, SHA_OLD, updated_at=pushed - timedelta(minutes=1)),
                **{"poll-interval": "0.05"},
            ).start()
            wait_for(lambda: _run_of(emu, SHA_OLD), what="the older push's run", timeout=60)
            emu.inject(kind="slow", method="POST", path=r"/jobs/\d+/run/$", delay_seconds=spell.delay)
            code, outputs, printed = _main_step(emu, workdir, index, pushed)
        else:
            emu.hold(git_sha=SHA_NEW)
            driver = threading.Thread(target=_play, args=(emu, spell, problems), daemon=True)
            driver.start()
            code, outputs, printed = _main_step(emu, workdir, index, pushed)
            driver.join(timeout=120)
        old_done = older.wait(timeout=120) if older is not None else None
        emu.release(every=True)
        emu.clear_faults()
        emu.wait_idle(timeout=30)
        runs, jobs, requests = emu.runs(), emu.jobs(), emu.requests()
        tally.faults.update(entry["fault"] for entry in requests if entry["fault"])

    tally.schedules += 1
    tally.decisions[outputs.get("decision", "none")] += 1
    tally.outcomes[outputs.get("run-status", "none")] += 1

    def check(ok: bool, why: str) -> None:
        if not ok:
            tally.violations.append(f"{where}: {why}")

    for problem in problems:
        check(False, problem)
    mine = [run for run in runs if run["trigger"]["git_sha"] == SHA_NEW]
    check(len(mine) == 1, f"{len(mine)} runs for the pushed commit")
    lost = [run["id"] for run in mine if run["status"] != 10]
    check(not lost, f"runs lost: {lost} ({[run['status_message'] for run in mine]})")
    check(code == 0 and outputs.get("run-status") == "success", f"verdict exit {code}, {outputs.get('run-status')}")
    errors = [line for line in printed.splitlines() if line.startswith("::error")]
    check(not errors, f"error lines: {errors}")
    left = [job["id"] for job in jobs if job["state"] == 1 and "[autoscale" in job["name"]]
    check(not left, f"clones left: {left}")
    cancelled = [run["id"] for run in runs if run["id"] in others and run["status"] == 30]
    check(not cancelled, f"another PR's runs cancelled: {cancelled}")
    if old_done is not None:
        check(
            old_done.returncode == 0 and old_done.outputs.get("run-status") == "superseded",
            f"the older push's step: exit {old_done.returncode}, {old_done.outputs.get('run-status')}",
        )
        me = caller_id(TOKEN)
        writes = [(e["seq"], e["method"], e["path"]) for e in requests if e["caller"] == me and e["method"] == "POST"]
        triggered = next((seq for seq, _, path in writes if path.endswith("/run/")), None)
        cancels = [seq for seq, _, path in writes if path.endswith("/cancel/")]
        check(
            triggered is not None and all(seq > triggered for seq in cancels),
            f"a stale run cancelled before the trigger was accepted: {writes}",
        )


def weather_soak(count: int, seed: int, workdir: Path) -> Tally:
    """Run `count` weather schedules and return the tally."""
    tally = Tally()
    with _fast_retries():
        for index in range(count):
            run_weather_schedule(index, seed, workdir, tally)
    return tally
