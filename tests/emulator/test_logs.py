"""Run steps' logs: dbt Cloud's console and debug text, ANSI colours included, as far as the emulated clock has come."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest

from dbt_cloud_emulator import Emulator, EmulatorConfig

from .helpers import admin, client, run, trigger

STEPS = '["run_steps"]'
ANSI = re.compile(r"\x1b\[[0-9;]*m")
DEBUG_LINE = re.compile(r"\x1b\[0m\d\d:\d\d:\d\d\.\d{6} \[(debug|info |warn |error)\] \[[^\]]+\]: ")
# What a node's result line says for each run_results status.
RESULT_WORDS = {"success": "OK created", "pass": "PASS", "error": "ERROR creating", "skipped": "SKIP"}


def steps_of(api: httpx.Client, run_id: int) -> list[dict[str, Any]]:
    """A run's steps, logs included."""
    steps: list[dict[str, Any]] = run(api, run_id, include_related=STEPS)["run_steps"]
    return steps


def messages(logs: str) -> list[str]:
    """The console lines without colours and without their `HH:MM:SS  ` prefix (continuation lines as they are)."""
    prefix = len("\x1b[0mHH:MM:SS  ")
    return [ANSI.sub("", line[prefix:] if line.startswith("\x1b[0m") else line) for line in logs.splitlines()]


def clock_seconds(start: str, seconds: int) -> set[str]:
    """Every `HH:MM:SS` from a run timestamp on, for `seconds` seconds."""
    begin = datetime.strptime(start, "%Y-%m-%d %H:%M:%S.%f%z")
    return {(begin + timedelta(seconds=s)).strftime("%H:%M:%S") for s in range(-1, seconds + 1)}


def test_a_successful_runs_steps_log_like_dbt_cloud(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = trigger(fapi, frozen.ci_job_id or 0, git_sha="abc1234def", generate_docs_override=True)["id"]
    frozen.advance(70)
    data = run(fapi, run_id, include_related=STEPS)
    clone, profile, deps, build, docs = data["run_steps"]
    assert clone["logs"].startswith("\x1b[0m") and "Cloning into" in clone["logs"]
    assert "Checking out commit abc1234def" in clone["logs"]
    assert "profiles.yml" in profile["logs"]
    assert "Installing dbt-labs/dbt_utils" in deps["logs"]
    said = messages(build["logs"])
    assert said[0] == "Running with dbt=1.10.0"
    assert "Found 3 models, 2 data tests, 527 macros" in said
    assert sum(" START " in line for line in said) == 5
    assert "\x1b[32mSUCCESS 1\x1b[0m in " in build["logs"] and "\x1b[32mPASS\x1b[0m in " in build["logs"]
    assert "\x1b[32mCompleted successfully\x1b[0m" in build["logs"]
    assert said[-1] == "Done. PASS=5 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=5"
    assert "Catalog written to" in docs["logs"]
    during = clock_seconds(data["started_at"], 60)
    for step in data["run_steps"]:
        stamps = {line[4:12] for line in step["logs"].splitlines() + step["debug_logs"].splitlines()}
        assert stamps <= during, step["name"]  # every line is stamped with the emulated time of the run
        assert all(DEBUG_LINE.match(line) for line in step["debug_logs"].splitlines())
        assert len(step["debug_logs"].splitlines()) >= len(step["logs"].splitlines())
        assert step["truncated_debug_logs"] == step["debug_logs"]  # fewer than 1,000 lines: all of them
    frozen.advance(3600)
    assert steps_of(fapi, run_id) == data["run_steps"]  # the same text every time, whatever the clock says


def test_the_failing_steps_log_tells_what_its_run_results_say(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("error", git_sha="bad")
    run_id = trigger(fapi, frozen.ci_job_id or 0, git_sha="bad", steps_override=["dbt seed", "dbt build"])["id"]
    frozen.advance(70)
    seed, build = steps_of(fapi, run_id)[3:]
    assert (seed["status"], build["status"]) == (10, 20)
    assert messages(seed["logs"])[-1] == "Done. PASS=5 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=5"
    seed_results = fapi.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 4}).json()
    assert {r["status"] for r in seed_results["results"]} == {"success", "pass"}  # only the failing command fails
    results = fapi.get(f"/runs/{run_id}/artifacts/run_results.json", params={"step": 5}).json()["results"]
    said = messages(build["logs"])
    for result in results:
        name = result["unique_id"].split(".")[2]
        mine = [line for line in said if re.search(rf"\b{name} \.", line)]
        starts = [line for line in mine if " START " in line]
        ends = [line for line in mine if " START " not in line]
        assert len(starts) == (0 if result["status"] == "skipped" else 1), mine  # dbt starts no node it skips
        assert len(ends) == 1 and f" {RESULT_WORDS[result['status']]} " in ends[0], mine
    assert "[\x1b[31mERROR\x1b[0m in " in build["logs"] and "[\x1b[33mSKIP\x1b[0m]" in build["logs"]
    failure = next(r["message"] for r in results if r["status"] == "error")
    summary = "\n".join(said).split("Completed with 1 error, 0 partial successes, and 0 warnings:")[1]
    assert summary.lstrip("\n").strip().startswith(failure)
    counts = {status: sum(r["status"] == status for r in results) for status in RESULT_WORDS}
    passed = counts["success"] + counts["pass"]
    assert said[-1] == f"Done. PASS={passed} WARN=0 ERROR=1 SKIP={counts['skipped']} NO-OP=0 TOTAL=5"
    assert said[-1] == "Done. PASS=2 WARN=0 ERROR=1 SKIP=2 NO-OP=0 TOTAL=5"


def test_the_steps_of_a_run_in_progress_show_the_lines_so_far(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("error", git_sha="bad")
    run_id = trigger(fapi, frozen.ci_job_id or 0, git_sha="bad")["id"]
    assert steps_of(fapi, run_id) == []  # starting: no step yet
    frozen.advance(10)
    (clone,) = steps_of(fapi, run_id)
    assert clone["status"] == 3
    assert "Cloning into" in clone["logs"] and "HEAD is now at" not in clone["logs"]
    snapshots = [[clone]]
    for _ in range(12):  # to the end of its 60 seconds, 5 at a time
        frozen.advance(5)
        snapshots.append(steps_of(fapi, run_id))
    for before, after in pairwise(snapshots):
        assert len(after) >= len(before)
        for old, new in zip(before, after, strict=False):
            # Lines are only ever added: what a client read stays true.
            assert new["logs"].startswith(old["logs"]) and new["debug_logs"].startswith(old["debug_logs"])
    *finished, last = snapshots
    for steps in finished:
        assert [s["status"] for s in steps] == [10] * (len(steps) - 1) + [3]
        assert "Done." not in steps[-1]["logs"] and "Completed" not in steps[-1]["logs"]
    midway = messages(snapshots[4][-1]["logs"])  # 20 of its 60 seconds: in the build, its first model done
    assert any("1 of 5 ERROR creating sql table model analytics.stg_orders" in line for line in midway)
    assert any("2 of 5 START sql table model analytics.stg_customers" in line for line in midway)
    assert not any("2 of 5 OK" in line or "3 of 5" in line for line in midway)
    assert [s["status"] for s in last] == [10, 10, 10, 20]
    assert messages(last[-1]["logs"])[-1].startswith("Done. PASS=2")


def test_a_cancelled_step_ends_with_why_and_stays_so(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = trigger(fapi, frozen.ci_job_id or 0)["id"]
    frozen.advance(10 + 30)
    assert fapi.post(f"/runs/{run_id}/cancel/").status_code == 200
    steps = steps_of(fapi, run_id)
    assert [s["status"] for s in steps] == [10, 10, 10, 30]
    assert steps[-1]["logs"].endswith("\x1b[33mStep cancelled\x1b[0m: Cancelled by user.")
    assert steps[-1]["debug_logs"].endswith("Cancelled by user.")
    assert "START" in steps[-1]["logs"] and "Done." not in steps[-1]["logs"]
    frozen.advance(600)
    assert steps_of(fapi, run_id) == steps


def test_a_run_that_times_out_in_its_set_up_is_cancelled_in_that_step(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = trigger(fapi, frozen.ci_job_id or 0, timeout_seconds_override=5)["id"]  # set-up takes 6 of 60 s
    frozen.advance(10 + 5)
    steps = steps_of(fapi, run_id)
    assert [(s["name"], s["status"]) for s in steps][-1] == ("Invoke dbt with `dbt deps`", 30)
    assert messages(steps[-1]["logs"])[-1] == (
        "Step cancelled: This run timed out after running for 5 seconds, which exceeded the configured timeout of "
        "5 seconds."
    )


def test_log_lines_pad_each_dbt_commands_logs_to_megabytes(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_log_lines(40_000)
    run_id = trigger(fapi, frozen.ci_job_id or 0, steps_override=["dbt seed", "dbt build"], generate_docs_override=True)
    frozen.advance(70)
    steps = steps_of(fapi, run_id["id"])
    for step in steps[3:5]:
        logs, debug = step["logs"].split("\n"), step["debug_logs"].split("\n")
        assert len(logs) > 40_000 and len(step["logs"]) > 2_000_000
        assert sum("Using postgres connection" in line for line in logs) == 10_000
        assert sum("Using postgres connection" in line for line in debug) == 10_000
        finished = next(i for i, line in enumerate(logs) if "Finished running" in line)
        assert finished > 40_000  # the padding comes before the summary, which still ends the log
        assert logs[-1].endswith("Done. PASS=5 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=5")
        assert step["truncated_debug_logs"] == "\n".join(debug[-1000:])
        assert len(step["truncated_debug_logs"].split("\n")) == 1000
    for step in (*steps[:3], steps[5]):  # set-up and docs generation are not padded
        assert len(step["logs"].split("\n")) < 20
    frozen.set_log_lines(0)
    assert len(steps_of(fapi, run_id["id"])[4]["logs"].split("\n")) < 30


def test_log_lines_through_the_config_and_the_control_endpoint(frozen: Emulator, fapi: httpx.Client) -> None:
    assert EmulatorConfig().log_lines == 0
    run_id = trigger(fapi, frozen.ci_job_id or 0)["id"]
    frozen.advance(70)
    plain = len(steps_of(fapi, run_id)[3]["logs"].split("\n"))
    assert admin(frozen, "POST", "log_lines", {"n": 3}).status_code == 200
    assert len(steps_of(fapi, run_id)[3]["logs"].split("\n")) == plain + 3
    for bad in ({"n": -1}, {"n": "many"}, {"n": True}, {"n": 1.5}, {}):
        assert admin(frozen, "POST", "log_lines", bad).status_code == 400, bad
    with pytest.raises(ValueError, match="log lines"):
        frozen.set_log_lines(-1)
    with pytest.raises(ValueError, match="log lines"):
        EmulatorConfig(log_lines=-5)
    config = EmulatorConfig(speed=0, start_seconds=0, run_seconds=10, log_lines=7)
    with Emulator(config) as emu, client(emu) as api:
        other = trigger(api, emu.ci_job_id or 0)["id"]
        emu.advance(10)
        assert len(steps_of(api, other)[3]["logs"].split("\n")) == plain + 7


def test_a_held_runs_last_step_ends_when_it_is_released(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = trigger(fapi, frozen.ci_job_id or 0, git_sha="held")["id"]
    frozen.hold(git_sha="held")
    frozen.advance(10 + 60 + 125)
    held = steps_of(fapi, run_id)[-1]
    assert held["status"] == 3 and "5 of 5 PASS" in held["logs"] and "Done." not in held["logs"]
    frozen.release(git_sha="held")
    done = run(fapi, run_id, include_related=STEPS)
    last = done["run_steps"][-1]
    assert last["status"] == 10 and last["logs"].startswith(held["logs"])
    finished = datetime.strptime(done["finished_at"], "%Y-%m-%d %H:%M:%S.%f%z").strftime("%H:%M:%S")
    assert last["logs"].endswith(f"\x1b[0m{finished}  Done. PASS=5 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=5")


BARE_TIME = re.compile(r"\x1b\[0m\d\d:\d\d:\d\d")


def test_a_failed_run_says_only_dbt_command_failed_and_its_step_says_what(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_outcome("error", git_sha="bad")
    run_id = trigger(fapi, frozen.ci_job_id or 0, git_sha="bad")["id"]
    frozen.advance(70)
    data = run(fapi, run_id, include_related=STEPS)
    assert (data["status"], data["status_message"]) == (20, "dbt command failed")
    failed = data["run_steps"][-1]
    assert failed["status"] == 20
    said = messages(failed["logs"])
    assert any("1 of 5 ERROR creating sql table model analytics.stg_orders" in line for line in said)
    assert "  Database Error in model stg_orders" in said
    assert '  relation "raw.orders" does not exist' in said


def test_step_logs_carry_lines_that_hold_only_the_time(frozen: Emulator, fapi: httpx.Client) -> None:
    run_id = trigger(fapi, frozen.ci_job_id or 0)["id"]
    frozen.advance(70)
    _, _, deps, build = steps_of(fapi, run_id)
    for step in (deps, build):
        bare = [line for line in step["logs"].splitlines() if BARE_TIME.fullmatch(line)]
        assert bare, step["name"]
        # Blank messages only: no trailing spaces, just the time (10:38:49), as live logs print them.
        assert not any(line.endswith(" ") for line in step["logs"].splitlines())
    build_lines = build["logs"].splitlines()
    last_node = max(i for i, line in enumerate(build_lines) if "5 of 5" in line)
    assert BARE_TIME.fullmatch(build_lines[last_node + 1])  # between the nodes and the summary
    assert sum(bool(BARE_TIME.fullmatch(line)) for line in build_lines) >= 5
    # The debug log keeps every line as a debug line.
    assert all(DEBUG_LINE.match(line) for line in build["debug_logs"].splitlines())


def test_the_profile_step_names_the_connection_and_the_schema_override(frozen: Emulator, fapi: httpx.Client) -> None:
    frozen.set_account(run_slots=2)
    plain = trigger(fapi, frozen.ci_job_id or 0)["id"]
    other = frozen.seed_job("Other")
    schema = trigger(fapi, other, schema_override="dbt_cloud_pr_1001_7", generate_docs_override=True)["id"]
    frozen.advance(70)
    names = [s["name"] for s in steps_of(fapi, plain)]
    assert names == [
        "Clone git repository",
        "Create profile from connection Postgres",
        "Invoke dbt with `dbt deps`",
        "Invoke dbt with `dbt build --select state:modified+`",
    ]
    steps = steps_of(fapi, schema)
    assert [s["index"] for s in steps] == [1, 2, 3, 4, 5]  # indexes unchanged: artifacts by step still line up
    assert steps[1]["name"] == "Create profile from connection Postgres (override schema to 'dbt_cloud_pr_1001_7')"
    assert fapi.get(f"/runs/{schema}/artifacts/run_results.json", params={"step": 4}).status_code == 200
    assert fapi.get(f"/runs/{schema}/artifacts/catalog.json", params={"step": 5}).status_code == 200
    assert fapi.get(f"/runs/{schema}/artifacts/run_results.json", params={"step": 2}).status_code == 404
