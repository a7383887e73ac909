from __future__ import annotations

import io
from pathlib import Path

from autoscale_ci.github import (
    SUMMARY_LIMIT,
    Runtime,
    escape_data,
    escape_property,
    format_command,
    format_outputs,
    on_github_actions,
)
from tests.conftest import read_outputs

ON_GITHUB = {"GITHUB_ACTIONS": "true"}


def test_escaping() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert format_command("error", "bad\nthing", title="T: x") == "::error title=T%3A x::bad%0Athing"
    assert format_command("endgroup", "") == "::endgroup::"


def test_outputs_survive_values_with_newlines_and_delimiter_lookalikes(tmp_path: Path) -> None:
    path = tmp_path / "out"
    values = {"a": "one\ntwo", "b": "", "c": "ghadelimiter_x<<EOF"}
    Runtime({**ON_GITHUB, "GITHUB_OUTPUT": str(path)}).set_outputs(values)
    assert read_outputs(path) == values
    text = format_outputs({"x": "1"})
    assert text.startswith("x<<ghadelimiter_") and text.endswith("\n")


def test_outputs_without_a_runner_are_logged() -> None:
    out = io.StringIO()
    Runtime(ON_GITHUB, out).set_outputs({"decision": "skip"})  # GitHub Actions, but no GITHUB_OUTPUT file
    Runtime({}, out).set_outputs({"decision": "skip"})
    assert out.getvalue() == "output decision=skip\n" * 2


def test_summary_is_cut_below_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    Runtime({**ON_GITHUB, "GITHUB_STEP_SUMMARY": str(path)}).write_summary("é" * SUMMARY_LIMIT)
    data = path.read_bytes()
    assert len(data) <= SUMMARY_LIMIT
    assert data.decode("utf-8").endswith("_Summary cut to fit the 1 MiB limit._\n")


def test_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    runtime = Runtime({**ON_GITHUB, "GITHUB_STEP_SUMMARY": str(path)})
    runtime.write_summary("a\n")
    runtime.write_summary("b\n")
    assert path.read_text(encoding="utf-8") == "a\nb\n"


def test_commands_mask_and_group() -> None:
    out = io.StringIO()
    runtime = Runtime(ON_GITHUB, out)
    runtime.mask("s3cret")
    runtime.mask("")
    runtime.mask("s3cret")  # masked once is enough
    with runtime.group("Decide"):
        runtime.notice("hi", title="N")
        runtime.warning("careful")
        runtime.error("token s3cret refused")
    assert out.getvalue().splitlines() == [
        "::add-mask::s3cret",
        "::group::Decide",
        "::notice title=N::hi",
        "::warning::careful",
        "::error::token *** refused",
        "::endgroup::",
    ]


def test_outside_github_actions_no_workflow_command_is_printed_and_no_runner_file_written(tmp_path: Path) -> None:
    files = {name: tmp_path / name for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE")}
    out = io.StringIO()
    # Variables a user may have set by hand, or a GitHub-hosted tool left behind: still not GitHub's runner.
    runtime = Runtime({"GITHUB_ACTIONS": "false", **{name: str(path) for name, path in files.items()}}, out)
    runtime.mask("dbtc_s3cret")
    with runtime.group("Decide"):
        runtime.notice("hi", title="N")
        runtime.warning("careful")
        runtime.error("dbt Cloud refused token dbtc_s3cret", title="401")
        runtime.log("Authorization: Token dbtc_s3cret")
    runtime.set_outputs({"decision": "skip", "echo": "dbtc_s3cret"})
    runtime.save_state({"run_id": "5"})
    runtime.write_summary("summary")
    assert out.getvalue().splitlines() == [
        "== Decide ==",
        "notice: N: hi",
        "warning: careful",
        "error: 401: dbt Cloud refused token ***",
        "Authorization: Token ***",
        "output decision=skip",
        "output echo=***",
    ]
    assert not any(path.exists() for path in files.values())


def test_only_github_actions_is_github_actions() -> None:
    assert on_github_actions({"GITHUB_ACTIONS": "true"})
    assert on_github_actions({"GITHUB_ACTIONS": "True"})  # as some runners' tools spell it
    assert not on_github_actions({})
    assert not on_github_actions({"GITHUB_ACTIONS": ""})
    assert not on_github_actions({"GITLAB_CI": "true", "GITHUB_OUTPUT": "/tmp/out"})


def test_secrets_are_kept_out_of_runner_files(tmp_path: Path) -> None:
    out = io.StringIO()
    paths = {name: tmp_path / name for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    runtime = Runtime({**ON_GITHUB, **{name: str(path) for name, path in paths.items()}}, out)
    runtime.mask("dbtc_s3cret")
    runtime.set_outputs({"message": "dbtc_s3cret"})
    runtime.write_summary("token dbtc_s3cret")
    assert all("dbtc_s3cret" not in path.read_text(encoding="utf-8") for path in paths.values())


def test_state_is_written_for_the_post_step(tmp_path: Path) -> None:
    path = tmp_path / "state"
    Runtime({**ON_GITHUB, "GITHUB_STATE": str(path)}).save_state({"run-id": "5"})
    assert read_outputs(path) == {"run-id": "5"}
