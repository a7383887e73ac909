"""Never lose a run to weather or a race: dbt Cloud's bad minutes (5xx, a five-minute 429 cooldown, hosts that answer
nothing) and the steps of one pull request acting at once. Every fault is the emulator's; long waits move its clock.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dbt_cloud_emulator import Emulator, caller_id
from tests.harness import ROOT, Step, parse_file_commands, pr_event, wait_for
from tests.integration.conftest import StepFactory, requests_of, run_of, trigger, writes_of
from tests.integration.test_entrypoint import active_run, wait_for_active, wait_for_poll

SHA_A, SHA_B = "a" * 40, "b" * 40
TRIGGER_PATH = r"/jobs/\d+/run/$"


def test_however_slow_the_newer_trigger_the_older_run_is_superseded(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=SHA_A)
    pushed = datetime.now(UTC)
    first = step(7, SHA_A, event=pr_event(7, SHA_A, updated_at=pushed)).start()
    old = wait_for_active(emu, 7, SHA_A)
    # The newer commit's trigger is answered late (a slow minute): its step cancels the old run only after it.
    emu.inject(kind="slow", method="POST", path=TRIGGER_PATH, delay_seconds=5)
    newer = step(7, SHA_B, event=pr_event(7, SHA_B, updated_at=pushed + timedelta(minutes=1)))
    second = newer.run()
    done = first.wait()
    assert second.returncode == 0, second.stdout
    assert writes_of(emu, newer)[:2] == [f"POST /jobs/{emu.ci_job_id}/run/", f"POST /runs/{old['id']}/cancel/"]
    assert done.returncode == 0, done.stdout
    assert done.outputs["run-status"] == "superseded"
    assert any("bbbbbbb" in line for line in done.lines("::warning"))


def test_a_trigger_that_fails_cancels_nothing(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=SHA_A)
    pushed = datetime.now(UTC)
    first = step(7, SHA_A, event=pr_event(7, SHA_A, updated_at=pushed)).start()
    old = wait_for_active(emu, 7, SHA_A)
    emu.inject(400, method="POST", path=TRIGGER_PATH)
    newer = step(7, SHA_B, event=pr_event(7, SHA_B, updated_at=pushed + timedelta(minutes=1)))
    refused = newer.run()
    assert refused.returncode == 1
    assert writes_of(emu, newer) == [f"POST /jobs/{emu.ci_job_id}/run/"]
    assert run_of(emu, old["id"])["status"] in (1, 2, 3)  # the PR keeps its last run
    emu.release(every=True)
    done = first.wait()
    assert done.returncode == 0, done.stdout
    assert done.outputs["run-status"] == "success"
    assert requests_of(emu, newer)  # it did ask: the refusal is what stopped it


def failed_reads(emu: Emulator, step: Step, path: str) -> int:
    """How many of the step's requests to `path` got no answer but a fault."""
    me = caller_id(step.env["INPUT_DBT-CLOUD-TOKEN"])
    return sum(1 for e in emu.requests() if e["caller"] == me and e["path"].endswith(path) and e["fault"])


def busy(emu: Emulator) -> None:
    """Another PR keeps the job busy until the test ends, with a run slot free: a push runs on a clone."""
    emu.hold(git_sha=SHA_B)
    trigger(emu, 8, SHA_B)


@pytest.mark.parametrize("on_a_clone", [False, True])
@pytest.mark.parametrize(("weather", "status"), [("outage", 503), ("rate limit", 429)])
def test_a_bad_spell_while_waiting_costs_no_run(
    emu: Emulator, step: StepFactory, on_a_clone: bool, weather: str, status: int
) -> None:
    if on_a_clone:
        busy(emu)
    emu.hold(git_sha=SHA_A)
    action = step(7, SHA_A).start()
    run = wait_for_active(emu, 7, SHA_A)
    wait_for_poll(emu, run["id"])
    path = f"/runs/{run['id']}/"
    if weather == "outage":
        emu.outage(600, status, method="GET", path=f"{path}$")
    else:
        emu.rate_limit()  # every request, 429 without Retry-After, for five minutes
    # More failed reads than the six tries that used to end the step (and, with it, the run).
    wait_for(lambda: failed_reads(emu, action, path) >= 8, what="the step reading through the bad spell")
    emu.advance(600)  # the spell ends; no real minutes pass
    emu.release(git_sha=SHA_A)
    done = action.wait()
    assert done.returncode == 0, done.stdout
    assert done.outputs["run-status"] == "success"
    assert run_of(emu, run["id"])["status"] == 10  # never cancelled, its clone never deleted under it
    (warning,) = [line for line in done.lines("::warning") if "did not answer" in line]
    assert f"dbt Cloud did not answer the read of run {run['id']} for" in warning
    assert "The run was never touched because of it." in warning
    emu.release(every=True)


def test_the_post_step_touches_nothing_it_cannot_read(emu: Emulator, step: StepFactory) -> None:
    busy(emu)
    emu.hold(git_sha=SHA_A)
    action = step(7, SHA_A).start()
    run = wait_for_active(emu, 7, SHA_A)
    saved = action.workdir / "state"
    wait_for(
        lambda: parse_file_commands(saved.read_text(encoding="utf-8")).get("run_id", "").isdigit(),
        what="the step saving its run and clone for the post step",
    )
    action.signal(signal.SIGKILL)
    action.wait(timeout=10)
    emu.outage(600, 503, method="GET", path=rf"/runs/{run['id']}/$")
    post = action.post()
    assert post.returncode == 0
    assert "Could not read run" in post.stdout and "stays until cleanup mode removes it" in post.stdout
    assert run_of(emu, run["id"])["status"] in (1, 2, 3)  # neither cancelled nor its clone deleted
    assert all(job["state"] == 1 for job in emu.jobs())
    emu.advance(600)
    again = action.post()
    assert again.returncode == 0
    assert run_of(emu, run["id"])["status"] == 30
    assert next(job for job in emu.jobs() if job["id"] == run["job_definition_id"])["state"] == 2
    emu.release(every=True)


def test_wait_false_on_the_clone_path_leaves_run_and_clone_at_the_timeout(emu: Emulator, step: StepFactory) -> None:
    busy(emu)
    emu.hold(git_sha=SHA_A)
    action = step(7, SHA_A, wait="false", **{"timeout-minutes": "0.05"})
    done = action.run()
    assert done.returncode == 0, done.stdout
    run = active_run(emu, 7, SHA_A)
    assert run is not None  # left running, as asked
    clone = run["job_definition_id"]
    assert next(job for job in emu.jobs() if job["id"] == clone)["state"] == 1
    (warning,) = [line for line in done.lines("::warning") if "timeout-minutes" in line]
    assert "wait is false, so it is left running" in warning
    assert f"its clone job {clone} stays until cleanup mode" in warning
    assert not any(request.startswith("POST /runs/") for request in writes_of(emu, action))
    assert "Nothing to clean up." in action.post().stdout
    emu.release(every=True)


def test_a_signal_while_a_read_retries_in_the_background_ends_the_step_in_the_runners_time(
    emu: Emulator, step: StepFactory
) -> None:
    # The account's read keeps failing on its thread while the step waits for it, to decide.
    emu.outage(3600, 503, method="GET", path=r"/api/v2/accounts/\d+/$")
    action = step(7, SHA_A, **{"poll-interval": "600"}).start()
    wait_for(lambda: failed_reads(emu, action, f"/accounts/{emu.account_id}/") >= 2, what="the account read retrying")
    started = time.monotonic()
    action.signal(signal.SIGINT)
    done = action.wait(timeout=60)
    took = time.monotonic() - started
    assert took < 7.5, f"the step took {took:.1f} s after the signal: the runner would have sent SIGTERM"
    assert done.returncode == 130
    assert not [entry for entry in emu.requests() if entry["method"] != "GET"]  # nothing was decided, nothing written


def test_a_host_that_answers_nothing_is_told_within_the_stated_bound(step: StepFactory) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # connections complete, and nothing ever answers them
        action = step(7, SHA_A)
        host = f"http://127.0.0.1:{silent.getsockname()[1]}"
        action.env["INPUT_DBT-CLOUD-HOST"] = host
        started = time.monotonic()
        done = action.run(timeout=120)
        took = time.monotonic() - started
    assert done.returncode == 1
    assert took < 40, f"{took:.0f} s: the README promises an answer within about 30 s"
    (error,) = done.lines("::error")
    assert f"dbt Cloud at {host}/api/v2/accounts/" in error
    assert re.search(r"answered nothing within \d+ s \(ReadTimeout, 2 tries\)", error), error


def test_an_artifacts_path_that_cannot_be_written_is_a_warning(emu: Emulator, step: StepFactory) -> None:
    action = step(7, SHA_A, artifacts="run_results.json")
    (action.workdir / "blocked").write_text("a file, not a directory", encoding="utf-8")
    action.env["INPUT_ARTIFACTS-PATH"] = "blocked"  # inside the workspace, where a file stands in its way
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["run-status"] == "success"
    (warning,) = [line for line in done.lines("::warning") if "Artifact not saved" in line]
    assert "Could not save artifact run_results.json" in warning


def test_cleanup_keeps_a_closed_pull_requests_clone_that_another_pr_runs_on(emu: Emulator, step: StepFactory) -> None:
    clone = emu.seed_job(name=f"CI [autoscale {emu.ci_job_id} PR #5]")
    emu.hold(git_sha=SHA_B)
    other = trigger(emu, 6, SHA_B, clone)  # another pull request's run, on the clone
    closing = step(5, SHA_A, event=pr_event(5, SHA_A, state="closed"), mode="cleanup", **{"drop-schema": "false"})
    done = closing.run()
    assert done.returncode == 0, done.stdout
    assert f"Kept clone job {clone}: run {other['id']} of another pull request is on it." in done.stdout
    assert run_of(emu, other["id"])["status"] in (1, 2, 3)
    assert next(job for job in emu.jobs() if job["id"] == clone)["state"] == 1
    emu.release(every=True)


def test_a_closed_log_reader_neither_crashes_the_step_nor_leaves_its_run(emu: Emulator, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_"))}
    env.update({"DBT_CLOUD_TOKEN": emu.token, "PYTHONPATH": str(ROOT)})
    emu.hold(git_sha=SHA_A)
    command = [
        sys.executable, "-m", "autoscale_ci", "run", "--account-id", str(emu.account_id), "--job-id",
        str(emu.ci_job_id), "--dbt-cloud-host", emu.url, "--pr-number", "7", "--git-sha", SHA_A,
        "--poll-interval", "0.1",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()  # as `| head -1` does: one line, then the reader is gone
    process.stdout.close()
    run = wait_for_active(emu, 7, SHA_A)
    emu.release(git_sha=SHA_A)
    _, stderr = process.communicate(timeout=90)
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr and b"BrokenPipeError" not in stderr
    assert run_of(emu, run["id"])["status"] == 10


def gitlab_step(emu: Emulator, workdir: Path, sha: str, pipeline: int, committed: str) -> subprocess.Popen[str]:
    """`autoscale-dbt-ci run` in a GitLab merge request pipeline of MR !21, started in the background."""
    workdir.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_", "STATE_"))}
    env.update(
        {
            "DBT_CLOUD_TOKEN": emu.token,
            "PYTHONPATH": str(ROOT),
            "GITLAB_CI": "true",
            "CI_MERGE_REQUEST_IID": "21",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": sha,
            "CI_PIPELINE_ID": str(pipeline),
            "CI_COMMIT_TIMESTAMP": committed,  # the commit's own date: no push order
        }
    )
    command = [sys.executable, "-m", "autoscale_ci", "run", "--account-id", str(emu.account_id), "--job-id",
               str(emu.ci_job_id), "--dbt-cloud-host", emu.url, "--poll-interval", "0.1"]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_after_a_force_push_back_to_an_older_commit_gitlab_runs_the_head(emu: Emulator, tmp_path: Path) -> None:
    newer_commit, older_commit = "2" * 40, "1" * 40
    emu.hold(git_sha=newer_commit)
    first = gitlab_step(emu, tmp_path / "first", newer_commit, 100, "2026-12-07T10:00:00+00:00")
    wait_for(lambda: any(r["trigger"]["git_sha"] == newer_commit for r in emu.runs()), what="the first pipeline's run")
    # The branch is force-pushed back to a commit made earlier: pipeline 101 is for the head, however old its date.
    second = gitlab_step(emu, tmp_path / "second", older_commit, 101, "2026-12-01T10:00:00+00:00")
    out, _ = second.communicate(timeout=90)
    assert second.returncode == 0, out
    assert "output decision=cancel-and-retrigger" in out
    head = [r for r in emu.runs() if r["trigger"]["git_sha"] == older_commit]
    assert len(head) == 1 and head[0]["trigger"]["cause"].endswith(" [pipeline 101]")
    old_out, _ = first.communicate(timeout=90)
    assert first.returncode == 0, old_out
    assert "output run-status=superseded" in old_out  # the newer pipeline's run reports
