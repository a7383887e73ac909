"""The guards against a costly run, end to end: a branch behind its base (the fake GitHub's compare and the
emulator's project) before the trigger, and max-nodes while the run goes (the emulator's running step logs)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from dbt_cloud_emulator import Emulator
from tests.fake_github import FakeGitHub
from tests.harness import NO_GITHUB, Step, wait_for
from tests.integration.conftest import StepFactory, run_of, trigger, writes_of

SHA_A = "a" * 40
BEHIND = ["models/marts/orders.sql", "README.md", "macros/cents.sql", "dbt_project.yml", ".github/workflows/ci.yml"]


def on(github: FakeGitHub | None, step: Step) -> Step:
    step.env["GITHUB_API_URL"] = github.url if github is not None else NO_GITHUB
    return step


def warnings(done: Any, title: str) -> list[str]:
    return [line for line in done.lines("::warning") if line.startswith(f"::warning title={title}::")]


def test_a_branch_behind_its_base_with_dbt_files_changed_is_one_warning_and_the_run_goes(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    github.bases["main"] = (40, BEHIND)
    done = on(github, step(7, SHA_A, **{"pr-comment": "always"})).run()
    assert done.returncode == 0, done.stdout
    (warned,) = warnings(done, "Stale base")
    assert "PR #7's branch is 40 commit(s) behind main" in warned
    assert "3 dbt file(s) of the job's project (models/marts/orders.sql, macros/cents.sql, dbt_project.yml)" in warned
    assert "README.md" not in warned
    assert "merge or rebase main" in warned
    assert "40 commit(s) behind main" in done.summary
    assert "40 commit(s) behind main" in github.comments_on("acme/analytics", 7)[0].body
    assert [ask.path for ask in github.asked if "/compare/" in ask.path] == [
        f"/repos/acme/analytics/compare/{SHA_A}...main?per_page=1"  # one commit: the count is enough
    ]
    assert done.outputs["run-status"] == "success"


def test_with_stale_base_fail_nothing_is_triggered_or_cancelled(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    github.bases["main"] = (40, BEHIND)
    stale = emu.seed_runs(emu.ci_job_id or 0, 1, github_pull_request_id=7, git_sha="b" * 40)
    emu.hold(run_id=stale[0])
    action = on(github, step(7, SHA_A, **{"stale-base": "fail"}))
    done = action.run()
    assert done.returncode == 1, done.stdout
    (error,) = done.lines("::error")
    assert "40 commit(s) behind main" in error and "Nothing was triggered or cancelled (stale-base: fail)" in error
    assert writes_of(emu, action) == []
    assert run_of(emu, stale[0])["status"] in (1, 2, 3)
    emu.release(every=True)


def test_a_branch_up_to_date_is_not_warned_of(emu: Emulator, step: StepFactory, github: FakeGitHub) -> None:
    github.bases["main"] = (0, [])
    done = on(github, step(7, SHA_A)).run()
    assert done.returncode == 0, done.stdout
    assert warnings(done, "Stale base") == []


def test_only_the_dbt_projects_own_subdirectory_counts(emu: Emulator, step: StepFactory, github: FakeGitHub) -> None:
    emu.set_project("transform")
    github.bases["main"] = (3, ["models/elsewhere.sql", "transform/models/orders.sql"])
    done = on(github, step(7, SHA_A)).run()
    (warned,) = warnings(done, "Stale base")
    assert "1 dbt file(s) of the job's project (transform/models/orders.sql)" in warned
    github.bases["main"] = (3, ["models/elsewhere.sql"])
    assert warnings(on(github, step(8, "b" * 40)).run(), "Stale base") == []


def test_github_listing_its_most_files_is_said_as_at_least(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    github.bases["main"] = (1200, [f"models/m{k}.sql" for k in range(400)])
    (warned,) = warnings(on(github, step(7, SHA_A)).run(), "Stale base")
    assert "1200 commit(s) behind main, whose commits change at least 300 dbt file(s)" in warned


def test_github_unable_to_compare_never_changes_the_run_and_is_one_warning_at_most(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    down = on(None, step(7, SHA_A)).run()  # nothing listens: GitHub is down
    assert down.returncode == 0, down.stdout
    assert warnings(down, "Stale base not checked") == []
    assert "the run is triggered without that check" in down.stdout
    github.bases.clear()  # the base is unknown to GitHub, as for a token that may not read the repository
    refused = on(github, step(8, "b" * 40, **{"stale-base": "fail"})).run()
    assert refused.returncode == 0, refused.stdout
    (warned,) = warnings(refused, "Stale base not checked")
    assert "GitHub answered 404" in warned and "contents: read" in warned


def run_says(emu: Emulator, run_id: int, text: str) -> bool:
    """Whether the run's step logs, as dbt Cloud shows them now, hold `text`."""
    answer = httpx.get(
        f"{emu.url}/api/v2/accounts/{emu.account_id}/runs/{run_id}/",
        params={"include_related": '["run_steps"]'},
        headers={"Authorization": f"Token {emu.token}"},
    )
    steps = answer.json()["data"].get("run_steps") or []
    return any(text in (step.get("logs") or "") for step in steps)


def test_a_run_past_max_nodes_is_warned_of_while_it_goes(emu: Emulator, step: StepFactory) -> None:
    emu.set_selected_nodes(842, job_id=emu.ci_job_id)
    emu.hold()
    action = step(7, SHA_A, **{"max-nodes": "100"}).start()
    wait_for(lambda: any(run["status"] == 3 for run in emu.runs()), what="the step's run running")
    run_id = next(run["id"] for run in emu.runs() if run["status"] == 3)
    wait_for(lambda: run_says(emu, run_id, "of 842 START"), what="the build step printing its first node")
    polls = len([e for e in emu.requests() if e["path"].endswith(f"/runs/{run_id}/")])
    wait_for(
        lambda: len([e for e in emu.requests() if e["path"].endswith(f"/runs/{run_id}/")]) >= polls + 2,
        what="the step reading the run twice more",
    )
    emu.release(every=True)
    done = action.wait()
    assert done.returncode == 0, done.stdout
    (warned,) = warnings(done, "Too many nodes")
    assert f"dbt Cloud run {run_id} selected 842 nodes, more than max-nodes 100" in warned
    assert "It goes on (on-max-nodes: warn;" in warned
    lines = done.stdout.splitlines()
    ended = next(k for k, line in enumerate(lines) if line.endswith(f"run {run_id}: success"))
    assert lines.index(warned) < ended  # said while the run was going
    assert "selected 842 nodes" in done.summary


def test_with_on_max_nodes_cancel_the_run_is_cancelled_and_the_step_fails(emu: Emulator, step: StepFactory) -> None:
    emu.set_selected_nodes(842, job_id=emu.ci_job_id)
    emu.hold()
    done = step(7, SHA_A, **{"max-nodes": "100", "on-max-nodes": "cancel"}).run()
    assert done.returncode == 1, done.stdout
    (error,) = done.lines("::error")
    assert "selected 842 nodes, more than max-nodes 100" in error
    assert "The action cancelled it (on-max-nodes: cancel)" in error
    assert run_of(emu, int(done.outputs["run-id"]))["status"] == 30
    assert done.outputs["run-status"] == "cancelled"
    emu.release(every=True)


def test_within_max_nodes_nothing_is_said(emu: Emulator, step: StepFactory) -> None:
    emu.set_selected_nodes(842, job_id=emu.ci_job_id)
    done = step(7, SHA_A, **{"max-nodes": "1000", "on-max-nodes": "cancel"}).run()
    assert done.returncode == 0, done.stdout
    assert warnings(done, "Too many nodes") == []
    assert json.loads(done.outputs["nodes-summary"])["total"] == 842  # the run did select them all


def test_a_step_that_decides_again_checks_the_base_before_it_triggers(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    github.bases["main"] = (40, BEHIND)
    owners = trigger(emu, 7, SHA_A)  # another workflow's run for the same commit: followed, nothing triggered
    emu.hold(run_id=owners["id"])
    action = on(github, step(7, SHA_A, **{"stale-base": "fail"}))
    follower = action.start()
    wait_for(
        lambda: any(e["method"] == "GET" and e["path"].endswith(f"/runs/{owners['id']}/") for e in emu.requests()),
        what="the step following the other workflow's run",
    )
    httpx.post(
        f"{emu.url}/api/v2/accounts/{emu.account_id}/runs/{owners['id']}/cancel/",
        headers={"Authorization": f"Token {emu.token}"},
    ).raise_for_status()  # that workflow was cancelled and took its run with it
    done = follower.wait()
    assert done.returncode == 1, done.stdout
    assert "deciding again" in done.stdout
    (error,) = done.lines("::error")
    assert "40 commit(s) behind main" in error
    assert writes_of(emu, action) == []
    emu.release(every=True)
