"""`make demo`: the action's main job against a local dbt Cloud and GitHub, told as five pushes to four pull
requests."""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dbt_cloud_emulator import Emulator, EmulatorConfig, caller_id  # noqa: E402
from tests.fake_github import FakeGitHub  # noqa: E402
from tests.harness import EXPRESSIONS, Finished, Step, make_step, pr_event, wait_for  # noqa: E402

STORY = [
    ("PR #1 at commit A: the job is idle", 1, "1a" * 20, "plain-trigger"),
    ("PR #2: the job is busy with PR #1 and a run slot is free", 2, "2b" * 20, "clone-and-trigger"),
    ("PR #1 at commit B: commit A is still running", 1, "1c" * 20, "cancel-and-retrigger"),
    ("PR #3: every run slot is busy", 3, "3d" * 20, "plain-trigger"),
    ("PR #4: a model fails to build", 4, "4e" * 20, "plain-trigger"),
]
FAILING = {"4e" * 20}  # the commits whose run fails: the step exits 1, and the comment says why
TOKENS = [f"dbtc_demo_token_{index}" for index in range(len(STORY))]
REPO = "acme/analytics"


def wait_for_run(emu: Emulator, step: Step, pr: int, sha: str) -> None:
    """Block until dbt Cloud has a run for the push (or the step has ended), so the next push sees it."""

    def triggered() -> bool:
        assert step.process is not None
        return step.process.poll() is not None or any(
            r["trigger"]["github_pull_request_id"] == pr and r["trigger"]["git_sha"] == sha for r in emu.runs()
        )

    wait_for(triggered, what=f"a run for PR #{pr} at {sha[:7]}", every=0.05)


def requests_line(emu: Emulator, token: str) -> str:
    """The step's requests in order, repeated polls folded into one entry."""
    prefix = f"/api/v2/accounts/{emu.account_id}"
    mine = [
        f"{e['method']} {e['path'].removeprefix(prefix)}" for e in emu.requests() if e["caller"] == caller_id(token)
    ]
    folded = [f"{key} x{n}" if (n := len(list(group))) > 1 else key for key, group in groupby(mine)]
    return ", ".join(folded)


def comment_of(github: FakeGitHub, pr: int, sha: str) -> list[str]:
    """The last pull request comment the push wrote (its hidden marker names the commit), or why there is none."""
    written = [str(asked.body["body"]) for asked in github.writes() if f"sha={sha} " in str(asked.body["body"])]
    if not written:
        return [f"(none: PR #{pr}'s head moved on to a newer commit, whose workflow owns the comment)"]
    return written[-1].splitlines()[1:]  # the hidden marker is not shown


def final_comments(github: FakeGitHub) -> list[str]:
    """Print what a reviewer sees on each pull request once every push is done: its one comment, as last edited;
    the problems found (a pull request with no comment of the action's, or more than one)."""
    problems = []
    for pr in dict.fromkeys(pr for _, pr, _, _ in STORY):
        shown = github.comments_on(REPO, pr)
        print(f"\n=== PR #{pr}'s comment at the end, as its reviewer sees it")
        for comment in shown:
            print("\n".join(f"  > {line}" for line in comment.body.splitlines()[1:] if line))
        if len(shown) != 1:
            problems.append(f"PR #{pr} has {len(shown)} comments of the action's, not one")
    return problems


def main() -> int:
    """Run the story; exit 0 only if every decision and the clean-up came out as expected."""
    started = time.monotonic()
    pushed = datetime.now(UTC)  # each push a minute after the one before, as the events would say
    config = EmulatorConfig(
        run_slots=2, start_seconds=0.5, run_seconds=5.0, tokens=dict.fromkeys(TOKENS, "admin"), seed_ci_job=True
    )
    github = FakeGitHub(token=EXPRESSIONS["${{ github.token }}"], pulls={(REPO, pr): "open" for _, pr, _, _ in STORY})
    with Emulator(config) as emu, github, tempfile.TemporaryDirectory(prefix="autoscale-demo-") as tmp:
        job_id = emu.ci_job_id or 0
        print(
            f"A local dbt Cloud at {emu.url}: account {emu.account_id}, CI job {job_id}, {config.run_slots} run slots,"
        )
        print(f"runs take {config.run_seconds:.0f} s. Each push starts the action's entrypoint as the runner would.\n")
        # However slow this machine, no run ends before the last push has seen it: each push meets the state its
        # story needs. Runs that reach their end meanwhile finish once the last push has made its move.
        emu.hold()
        for sha in FAILING:
            emu.set_outcome("error", git_sha=sha)
        steps: list[Step] = []
        for index, (title, pr, sha, _expected) in enumerate(STORY):
            github.heads[(REPO, pr)] = sha  # the push moves the pull request's head
            step = make_step(
                Path(tmp) / f"step{index + 1}",
                label=title,
                host=emu.url,
                token=TOKENS[index],
                account_id=emu.account_id,
                job_id=job_id,
                event=pr_event(pr, sha, updated_at=pushed + timedelta(minutes=index)),
                **{"poll-interval": "0.5", "pr-comment": "always"},
            )
            step.env["GITHUB_API_URL"] = github.url
            step.start()
            print(f"[{time.monotonic() - started:4.1f}s] push {index + 1}: {title}")
            wait_for_run(emu, step, pr, sha)
            steps.append(step)
        emu.release()
        finished: list[Finished] = [step.wait(timeout=60) for step in steps]
        emu.wait_idle(timeout=10)
        problems: list[str] = []
        for index, (done, (title, pr, sha, expected)) in enumerate(zip(finished, STORY, strict=True)):
            print(f"\n=== {index + 1}. {title}")
            print(
                f"decision:  {done.outputs.get('decision')}  (exit {done.returncode}, run {done.outputs.get('run-id')}"
                f" {done.outputs.get('run-status')})"
            )
            for line in done.stdout.splitlines():
                if line.startswith(("Decision:", "Created clone", "Cancelled run", "Deleted clone", "::warning")):
                    print(f"  {line}")
            print(f"requests:  {requests_line(emu, TOKENS[index])}")
            print("summary:")
            print("\n".join(f"  | {line}" for line in done.summary.splitlines() if line))
            print("pull request comment, as this push last wrote it:")
            print("\n".join(f"  > {line}" for line in comment_of(github, pr, sha) if line))
            if done.outputs.get("decision") != expected:
                problems.append(f"push {index + 1}: decision {done.outputs.get('decision')}, expected {expected}")
            if done.returncode != (1 if sha in FAILING else 0):
                problems.append(f"push {index + 1}: exit {done.returncode}")
        problems += final_comments(github)
        left = [job["name"] for job in emu.jobs() if job["state"] == 1 and "[autoscale" in job["name"]]
        active = [run["id"] for run in emu.runs() if run["status"] in (1, 2, 3)]
        if left:
            problems.append(f"clones left behind: {left}")
        if active:
            problems.append(f"runs still active: {active}")
    print(f"\nClones left: {len(left)}. Runs still active: {len(active)}. Took {time.monotonic() - started:.1f} s.")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
