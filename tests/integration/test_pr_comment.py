"""The pull request comment end to end: the real entrypoint against the emulator and the fake GitHub API."""

from __future__ import annotations

import json

import pytest

from autoscale_ci.report.comment import Marker, read_marker
from dbt_cloud_emulator import Emulator
from tests.fake_github import FakeComment, FakeGitHub
from tests.harness import NO_GITHUB, Step, wait_for
from tests.integration.conftest import StepFactory

SHA_A, SHA_B = "a" * 40, "b" * 40
REPO = "acme/analytics"
FAILING_NODE = "model.emulated_project.stg_orders"


def on(github: FakeGitHub | None, step: Step) -> Step:
    step.env["GITHUB_API_URL"] = github.url if github is not None else NO_GITHUB
    return step


def the_comment(github: FakeGitHub) -> FakeComment:
    comments = github.comments_on(REPO, 7)
    assert len(comments) == 1, [c.body for c in comments]
    return comments[0]


def comment_warnings(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("::warning title=Pull request comment::")]


def test_a_failed_run_gets_one_comment_that_the_next_push_edits(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    failed = on(github, step(7, SHA_A)).run()
    assert failed.returncode == 1, failed.stdout
    comment = the_comment(github)
    marker = read_marker(comment.body)
    assert marker is not None and (marker.job_id, marker.sha) == (emu.ci_job_id, SHA_A)
    assert "### ❌ dbt Cloud CI: error" in comment.body
    assert f"`{FAILING_NODE}` | error | Database Error in model stg_orders" in comment.body
    assert "commit `aaaaaaa`" in comment.body
    assert failed.outputs["comment-url"].endswith(f"#issuecomment-{comment.id}")
    assert failed.outputs["failed-nodes"] == FAILING_NODE
    assert json.loads(failed.outputs["nodes-summary"])["error"] == 1

    github.heads[(REPO, 7)] = SHA_B  # the fix is pushed
    fixed = on(github, step(7, SHA_B)).run()
    assert fixed.returncode == 0, fixed.stdout
    edited = the_comment(github)
    assert edited.id == comment.id
    assert "### ✅ dbt Cloud CI: success" in edited.body and "commit `bbbbbbb`" in edited.body
    assert FAILING_NODE not in edited.body
    assert [asked.method for asked in github.writes()] == ["POST", "PATCH", "PATCH"]  # B: in flight, then done
    assert fixed.outputs["failed-nodes"] == ""


def test_a_passing_run_gets_no_comment_by_default(emu: Emulator, step: StepFactory, github: FakeGitHub) -> None:
    done = on(github, step(7, SHA_A)).run()
    assert done.returncode == 0, done.stdout
    assert github.comments_on(REPO, 7) == []
    assert github.writes() == []
    assert done.outputs["comment-url"] == ""
    assert comment_warnings(done.stdout) == []


def test_with_always_the_comment_says_the_run_is_in_flight_until_it_ends(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    emu.hold(git_sha=SHA_A)
    action = on(github, step(7, SHA_A, **{"pr-comment": "always"})).start()
    wait_for(lambda: github.comments_on(REPO, 7), what="the in-flight comment")
    body = the_comment(github).body
    assert "### 🔄 dbt Cloud CI: running" in body and "The run is in flight" in body
    emu.release(git_sha=SHA_A)
    done = action.wait()
    assert done.returncode == 0, done.stdout
    final = the_comment(github).body
    assert "### ✅ dbt Cloud CI: success" in final and "**Nodes:** 5 success" in final


def test_never_with_stale_base_off_asks_github_nothing(emu: Emulator, step: StepFactory, github: FakeGitHub) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    done = on(github, step(7, SHA_A, **{"pr-comment": "never", "stale-base": "off"})).run()
    assert done.returncode == 1
    assert github.asked == []


def test_an_older_commits_workflow_never_overwrites_the_newer_commits_comment(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    newer = Marker(emu.ci_job_id or 0, SHA_B).line() + "\n### ✅ dbt Cloud CI: success\n"
    github.comment(REPO, 7, newer)
    github.heads[(REPO, 7)] = SHA_B
    emu.set_outcome("error", git_sha=SHA_A)
    late = on(github, step(7, SHA_A)).run()
    assert late.returncode == 1, late.stdout  # its own verdict, whatever the comment does
    assert the_comment(github).body == newer
    assert github.writes() == []
    assert "the comment is left to that commit's workflow" in late.stdout


def test_comments_of_other_jobs_and_people_are_left_alone(emu: Emulator, step: StepFactory, github: FakeGitHub) -> None:
    theirs = github.comment(REPO, 7, "LGTM")
    other_job = github.comment(REPO, 7, Marker(424242, SHA_A).line() + "\nanother job")
    emu.set_outcome("error", git_sha=SHA_A)
    github.page_size = 1  # every comment on a page of its own: the search reads them all
    assert on(github, step(7, SHA_A)).run().returncode == 1
    comments = github.comments_on(REPO, 7)
    assert [c.body for c in comments[:2]] == [theirs.body, other_job.body]
    assert len(comments) == 3 and "dbt Cloud CI: error" in comments[2].body


@pytest.mark.parametrize(("outcome", "code"), [("error", 1), ("success", 0)])
def test_a_token_that_may_not_write_is_one_warning_and_the_verdict_stands(
    emu: Emulator, step: StepFactory, github: FakeGitHub, outcome: str, code: int
) -> None:
    github.writable = False
    emu.set_outcome(outcome, git_sha=SHA_A)
    done = on(github, step(7, SHA_A, **{"pr-comment": "always"})).run()
    assert done.returncode == code, done.stdout
    warnings = comment_warnings(done.stdout)
    assert len(warnings) == 1, warnings
    assert "pull-requests: write" in warnings[0] and "GitHub answered 403" in warnings[0]
    assert done.outputs["run-status"] == outcome and done.outputs["comment-url"] == ""


@pytest.mark.parametrize("github_down", ["unreachable", "500"])
def test_github_that_is_down_is_one_warning_and_the_verdict_stands(
    emu: Emulator, step: StepFactory, github: FakeGitHub, github_down: str
) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    if github_down == "500":
        github.status = 500
    done = on(github if github_down == "500" else None, step(7, SHA_A, **{"pr-comment": "always"})).run()
    assert done.returncode == 1, done.stdout
    warnings = comment_warnings(done.stdout)
    assert len(warnings) == 1, warnings
    assert "Could not write the pull request comment" in warnings[0]
    assert done.outputs["run-status"] == "error"


def test_no_token_with_the_comment_on_is_one_warning(emu: Emulator, step: StepFactory, github: FakeGitHub) -> None:
    done = on(github, step(7, SHA_A, **{"pr-comment": "always", "github-token": ""})).run()
    assert done.returncode == 0, done.stdout
    warnings = comment_warnings(done.stdout)
    assert len(warnings) == 1 and "no github-token" in warnings[0]
    assert github.asked == []


def test_a_step_that_fails_after_the_trigger_leaves_no_comment_running(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    emu.hold(git_sha=SHA_A)
    emu.inject(404, count=1000, method="GET", path=r"/runs/\d+/$")  # dbt Cloud loses the run once triggered
    done = on(github, step(7, SHA_A, **{"pr-comment": "always"})).run()
    assert done.returncode == 1, done.stdout
    body = the_comment(github).body
    assert "### ❌ dbt Cloud CI: failed" in body and "404" in body
    assert "running" not in body
    emu.clear_faults()
    emu.release(git_sha=SHA_A)
