"""GitHub's merge queue end to end: the real entrypoint on `merge_group` events (and the `push` GitHub sends for each
queue branch), shaped as GitHub delivers them, against the emulator and the fake GitHub API.

Runs a test needs in flight are held (`emu.hold`) until a step cancels them or the test releases them; every wait is
on a state being reached.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dbt_cloud_emulator import Emulator
from tests.fake_github import FakeGitHub
from tests.harness import Finished, Step, merge_group_event, pr_event, wait_for
from tests.integration.conftest import StepFactory, requests_of, run_of, writes_of

PR_HEAD, ENTRY, LATER_ENTRY = "a" * 40, "e" * 40, "f" * 40
BRANCH = f"gh-readonly-queue/main/pr-7-{'9' * 40}"
NO_COMMENT = "pr-comment: a merge queue entry writes no pull request comment; its check carries the verdict."
MADE = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def queue_entry(
    step: StepFactory,
    sha: str,
    *,
    made_at: datetime = MADE,
    event: dict[str, Any] | None = None,
    inputs: dict[str, str] | None = None,
) -> Step:
    """A step of a workflow GitHub started for a merge queue entry of PR #7 at the queue's commit `sha` (or for
    `event`), with the action's `inputs`."""
    event = event if event is not None else merge_group_event(7, sha, made_at=made_at)
    return step(7, sha, event=event, event_name="merge_group", **(inputs or {}))


def watched(github: FakeGitHub, action: Step) -> Step:
    """The step, with GitHub's API the fake one, so that anything asked of GitHub is seen."""
    action.env["GITHUB_API_URL"] = github.url
    return action


def active_run(emu: Emulator, sha: str) -> dict[str, Any] | None:
    """The active run for PR #7 at `sha`, if there is one."""
    for run in emu.runs():
        if run["trigger"]["github_pull_request_id"] == 7 and run["trigger"]["git_sha"] == sha and run["status"] < 10:
            return run
    return None


def wait_for_active(emu: Emulator, sha: str) -> dict[str, Any]:
    """Block until a step has triggered a run for PR #7 at `sha` (held, so it stays active)."""
    wait_for(lambda: active_run(emu, sha), what=f"an active run for PR #7 at {sha[:7]}")
    run = active_run(emu, sha)
    assert run is not None
    return run


def one_line(done: Finished, prefix: str) -> str:
    lines = done.lines(prefix)
    assert len(lines) == 1, done.stdout
    return lines[0]


def test_a_queue_entry_runs_as_a_push_to_its_pull_request_and_passes(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    action = watched(github, queue_entry(step, ENTRY, inputs={"pr-comment": "always"}))
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert (done.outputs["decision"], done.outputs["run-status"]) == ("plain-trigger", "success")
    run = run_of(emu, int(done.outputs["run-id"]))
    # The queue's commit, for the pull request the branch names, in that pull request's schema, ordered by the time the
    # queue made the entry.
    assert run["trigger"]["git_sha"] == ENTRY
    assert run["trigger"]["github_pull_request_id"] == 7
    assert run["trigger"]["schema_override"] == f"dbt_cloud_pr_{emu.ci_job_id}_7"
    assert run["trigger"]["cause"] == "Autoscaling Slim CI: PR #7 @ eeeeeee [queued 2026-12-07T10:00:00Z]"
    assert writes_of(emu, action) == [f"POST /jobs/{emu.ci_job_id}/run/"]
    assert "### ✅ dbt Cloud CI: success" in done.summary
    assert f"| Merge queue entry | `{BRANCH}` |" in done.summary
    # No comment, not even with pr-comment: always, and no compare with the base: GitHub is asked nothing.
    assert NO_COMMENT in done.stdout
    assert github.asked == []
    assert done.outputs["comment-url"] == ""
    assert done.lines("::warning") == [] and done.lines("::error") == []


def test_a_failing_queue_entry_fails_its_check_and_comments_nothing(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    emu.set_outcome("error", git_sha=ENTRY)
    done = watched(github, queue_entry(step, ENTRY)).run()
    assert done.returncode == 1, done.stdout
    assert done.outputs["run-status"] == "error"
    assert any("title=dbt Cloud run error" in line for line in done.lines("::error"))
    assert "### ❌ dbt Cloud CI: error" in done.summary and f"`{BRANCH}`" in done.summary
    # pr-comment: on-failure would comment on a failed run of the pull request's own head: never on a queue entry.
    assert NO_COMMENT in done.stdout
    assert github.asked == []


def test_a_queue_entry_cancels_the_pull_requests_own_older_run(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=PR_HEAD)
    own = step(7, PR_HEAD, event=pr_event(7, PR_HEAD, updated_at=MADE - timedelta(minutes=30))).start()
    own_run = wait_for_active(emu, PR_HEAD)
    entry = queue_entry(step, ENTRY)
    done = entry.run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "cancel-and-retrigger"
    assert done.outputs["cancelled-run-ids"] == str(own_run["id"])
    assert sorted(writes_of(emu, entry)) == [f"POST /jobs/{emu.ci_job_id}/run/", f"POST /runs/{own_run['id']}/cancel/"]
    superseded = own.wait()
    assert superseded.returncode == 0, superseded.stdout
    assert superseded.outputs["run-status"] == "superseded"
    assert run_of(emu, own_run["id"])["status"] == 30


def test_a_pull_request_event_after_the_entry_leaves_the_entrys_run_to_the_queue(
    emu: Emulator, step: StepFactory
) -> None:
    emu.hold(git_sha=ENTRY)
    entry = queue_entry(step, ENTRY).start()
    entry_run = wait_for_active(emu, ENTRY)
    # A label added while the pull request waits in the queue: its head's workflow runs, dated after the entry.
    labelled = step(7, PR_HEAD, event=pr_event(7, PR_HEAD, updated_at=MADE + timedelta(minutes=5))).run()
    assert labelled.returncode == 0, labelled.stdout
    assert labelled.outputs["cancelled-run-ids"] == ""  # the entry's run is the queue's, never the PR's to cancel
    assert run_of(emu, entry_run["id"])["status"] in (1, 2, 3)
    emu.release(git_sha=ENTRY)
    done = entry.wait()
    assert done.returncode == 0, done.stdout
    assert done.outputs["run-status"] == "success"


def test_a_later_entry_of_the_same_pull_request_supersedes_the_earlier_one(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=ENTRY)
    first = queue_entry(step, ENTRY).start()
    first_run = wait_for_active(emu, ENTRY)
    # The pull request left the queue and was queued again: GitHub made a new entry, on a new commit, a minute later.
    later = queue_entry(step, LATER_ENTRY, made_at=MADE + timedelta(minutes=1))
    done = later.run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "cancel-and-retrigger"
    assert done.outputs["cancelled-run-ids"] == str(first_run["id"])
    assert f"POST /runs/{first_run['id']}/cancel/" in writes_of(emu, later)
    earlier = first.wait()
    assert earlier.returncode == 0, earlier.stdout
    assert earlier.outputs["run-status"] == "superseded"
    assert any("fffffff" in line for line in earlier.lines("::warning"))
    assert run_of(emu, first_run["id"])["status"] == 30


def test_merge_queue_skip_passes_the_check_without_asking_dbt_cloud(emu: Emulator, step: StepFactory) -> None:
    done = queue_entry(step, ENTRY, inputs={"merge-queue": "skip"}).run()
    assert done.returncode == 0, done.stdout
    assert emu.requests() == []
    notice = one_line(done, "::notice")
    assert f"Nothing to run: merge-queue is skip, so the merge queue entry {BRANCH} passes without a run." in notice
    assert (done.outputs["decision"], done.outputs["run-status"]) == ("skip", "skipped")
    assert "### ⏭️ dbt Cloud CI: skipped" in done.summary and "merge-queue is skip" in done.summary
    assert done.lines("::error") == [] and done.lines("::warning") == []


def test_a_push_to_a_queue_branch_is_left_to_the_merge_group_event(emu: Emulator, step: StepFactory) -> None:
    # The push GitHub sends for the queue branch it made (the fields a push event has; the queue's commit as `after`).
    event = {
        "ref": f"refs/heads/{BRANCH}",
        "before": "0" * 40,
        "after": ENTRY,
        "created": True,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/acme/analytics/compare/{BRANCH}",
        "commits": [],
        "head_commit": merge_group_event(7, ENTRY)["merge_group"]["head_commit"],
        "repository": merge_group_event(7, ENTRY)["repository"],
        "pusher": {"name": "github-merge-queue[bot]", "email": None},
        "sender": {"login": "github-merge-queue[bot]", "id": 118344674, "type": "Bot"},
    }
    done = step(7, ENTRY, event=event, event_name="push").run()
    assert done.returncode == 0, done.stdout
    assert emu.requests() == []
    notice = one_line(done, "::notice")
    assert f"{BRANCH} is a merge queue branch, whose entry the merge_group event runs" in notice
    assert (done.outputs["decision"], done.outputs["run-status"]) == ("skip", "skipped")


def test_a_queue_branch_that_names_no_pull_request_is_one_error_and_nothing_runs(
    emu: Emulator, step: StepFactory
) -> None:
    branch = f"gh-readonly-queue/main/entry-{'9' * 40}"
    done = queue_entry(step, ENTRY, event=merge_group_event(None, ENTRY, branch=branch)).run()
    assert done.returncode == 1, done.stdout
    error = one_line(done, "::error")
    assert f"The merge queue branch '{branch}' names no pull request" in error
    assert "pass the pull request's number as the input `pr-number`" in error
    assert emu.requests() == []
    assert emu.runs() == []


def test_pr_number_names_the_pull_request_of_a_queue_branch(emu: Emulator, step: StepFactory) -> None:
    branch = f"gh-readonly-queue/main/entry-{'9' * 40}"
    action = queue_entry(step, ENTRY, event=merge_group_event(None, ENTRY, branch=branch), inputs={"pr-number": "12"})
    done = action.run()
    assert done.returncode == 0, done.stdout
    trigger = run_of(emu, int(done.outputs["run-id"]))["trigger"]
    assert (trigger["github_pull_request_id"], trigger["git_sha"]) == (12, ENTRY)
    assert trigger["schema_override"] == f"dbt_cloud_pr_{emu.ci_job_id}_12"


@pytest.mark.parametrize(("name", "value"), [("native-trigger", "true"), ("wait", "false")])
def test_an_input_that_would_pass_an_entry_untested_is_one_error_before_any_request(
    emu: Emulator, step: StepFactory, name: str, value: str
) -> None:
    action = queue_entry(step, ENTRY, inputs={name: value})
    done = action.run()
    assert done.returncode == 1, done.stdout
    error = one_line(done, "::error")
    assert f"{name} is {value}" in error and "merge-queue: skip" in error
    assert requests_of(emu, action) == []
