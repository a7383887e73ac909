"""Many action steps at once, for several pull requests with several commits each, against one account.

The steps race each other for real, but no outcome depends on how fast they run: another PR's run holds the job
until every step has made its move, so the job is always busy and the clone path always taken, and the assertions
are what must hold for every interleaving.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from dbt_cloud_emulator import Emulator, EmulatorConfig, caller_id
from tests.harness import Finished, Step, make_step, pr_event, wait_for

PRS, COMMITS, SLOTS = 4, 3, 3
BLOCKER_PR, BLOCKER_SHA = 99, "9" * 40


def max_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = current = 0
    for _, delta in edges:
        current += delta
        most = max(most, current)
    return most


def test_many_steps_at_once_leave_one_good_run_per_pr_and_nothing_behind(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    tokens = [f"dbtc_concurrent_{index}" for index in range(PRS * COMMITS)]
    config = EmulatorConfig(
        run_slots=SLOTS, start_seconds=0.1, run_seconds=1.5, tokens=dict.fromkeys(tokens, "admin"), seed=7
    )
    pushed = datetime.now(UTC)
    # (launch offset in seconds, PR, commit index): commits of a PR are pushed in order, PRs interleave.
    plan = sorted(
        (pr * 0.15 + commit * rng.uniform(0.4, 1.2), pr, commit)
        for pr in range(1, PRS + 1)
        for commit in range(COMMITS)
    )
    sha = {(pr, commit): f"{pr:02x}{commit:02x}" * 10 for pr in range(1, PRS + 1) for commit in range(COMMITS)}
    with Emulator(config) as emu:
        emu.hold(git_sha=BLOCKER_SHA)
        httpx.post(
            f"{emu.url}/api/v2/accounts/{emu.account_id}/jobs/{emu.ci_job_id}/run/",
            json={"cause": "another PR", "git_sha": BLOCKER_SHA, "github_pull_request_id": BLOCKER_PR},
            headers={"Authorization": f"Token {emu.token}"},
        ).raise_for_status()
        steps: list[Step] = []
        began = time.monotonic()
        for index, (offset, pr, commit) in enumerate(plan):
            time.sleep(max(0.0, offset - (time.monotonic() - began)))
            event = pr_event(pr, sha[pr, commit], updated_at=pushed + timedelta(minutes=commit))
            steps.append(
                make_step(
                    tmp_path / f"step{index}",
                    label=f"PR #{pr} commit {commit}",
                    host=emu.url,
                    token=tokens[index],
                    account_id=emu.account_id,
                    job_id=emu.ci_job_id or 0,
                    event=event,
                    **{"poll-interval": "0.2"},
                ).start()
            )

        def moved(step: Step, token: str) -> bool:
            """The step triggered a run, or ended without one (a late workflow for an older commit)."""
            assert step.process is not None
            me = caller_id(token)
            return step.process.poll() is not None or any(
                e["caller"] == me and e["method"] == "POST" and e["path"].endswith("/run/") for e in emu.requests()
            )

        wait_for(
            lambda: all(moved(step, token) for step, token in zip(steps, tokens, strict=True)),
            what="every step triggering its run or ending",
        )
        emu.release(git_sha=BLOCKER_SHA)  # the plain triggers queued on the job can start now
        finished: list[Finished] = [step.wait(timeout=120) for step in steps]
        assert emu.wait_idle(timeout=30)
        runs, jobs = emu.runs(), emu.jobs()

    failures = [f"{done.label}: exit {done.returncode}\n{done.stdout}" for done in finished if done.returncode != 0]
    assert not failures, "\n".join(failures)

    by_pr: dict[int, list[dict[str, object]]] = defaultdict(list)
    for run in runs:
        by_pr[run["trigger"]["github_pull_request_id"]].append(run)
    assert [run["status"] for run in by_pr[BLOCKER_PR]] == [10]  # never cancelled: it is another PR's
    for pr in range(1, PRS + 1):
        latest = sha[pr, COMMITS - 1]
        at_latest = [run for run in by_pr[pr] if run["git_sha"] == latest]
        assert [run["status"] for run in at_latest] == [10], f"PR #{pr}: runs at its latest commit {at_latest}"
        older = [run for run in by_pr[pr] if run["git_sha"] != latest]
        assert all(run["status"] in (10, 30) for run in older)

    assert [job["name"] for job in jobs if job["state"] == 1 and "[autoscale" in job["name"]] == []
    executing = [
        (datetime.fromisoformat(str(run["dequeued_at"])), datetime.fromisoformat(str(run["finished_at"])))
        for run in runs
        if run["dequeued_at"] is not None
    ]
    assert 1 <= max_overlap(executing) <= SLOTS
    decisions = {done.outputs["decision"] for done in finished}
    assert "clone-and-trigger" in decisions  # the story exercised the clone path
