from __future__ import annotations

import io
from pathlib import Path

import pytest

from autoscale_ci.dialects import format_outputs
from autoscale_ci.runtime import OUTPUTS_FILE_VARIABLE, SUMMARY_FILE_VARIABLE, SUMMARY_LIMIT, Runtime
from tests.conftest import read_outputs

ON_GITHUB = {"GITHUB_ACTIONS": "true"}


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


def test_azure_registers_the_token_with_the_agent_and_names_outputs_as_variables(tmp_path: Path) -> None:
    out = io.StringIO()
    runtime = Runtime({"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": str(tmp_path)}, out)
    runtime.mask("dbtc_s3cret")
    with runtime.group("Decide"):
        runtime.error("dbt Cloud refused token dbtc_s3cret", title="401")
        runtime.log("job ##vso[task.complete result=Succeeded]")
    runtime.set_outputs({"decision": "skip"})
    runtime.write_summary("token dbtc_s3cret\n")
    runtime.write_summary("more\n")
    summary = tmp_path / "autoscale-dbt-ci-summary.md"
    assert out.getvalue().splitlines() == [
        "##vso[task.setsecret]dbtc_s3cret",
        "##[group]Decide",
        "##vso[task.logissue type=error]401: dbt Cloud refused token ***",
        "job #\u200b#vso[task.complete result=Succeeded]",
        "##[endgroup]",
        "output decision=skip",
        "##vso[task.setvariable variable=decision;isOutput=true]skip",
        f"##vso[task.uploadsummary]{summary}",  # once: each would add the file to the run's page again
    ]
    assert summary.read_text(encoding="utf-8") == "token ***\nmore\n"


def test_gitlab_writes_the_outputs_as_dotenv_and_the_summary_to_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "autoscale-dbt-ci-summary.md").write_text("a summary of the pipeline before\n", encoding="utf-8")
    out = io.StringIO()
    runtime = Runtime({"GITLAB_CI": "true"}, out)
    runtime.mask("dbtc_s3cret")
    runtime.set_outputs({"decision": "plain-trigger", "run-url": "https://x/dbtc_s3cret"})
    runtime.set_outputs({"comment-url": ""})
    runtime.write_summary("token dbtc_s3cret\n")
    runtime.write_summary("more\n")
    assert (tmp_path / "autoscale-dbt-ci.env").read_text(encoding="utf-8") == (
        "AUTOSCALE_DBT_CI_OUTPUT_DECISION=plain-trigger\n"
        "AUTOSCALE_DBT_CI_OUTPUT_RUN_URL=https://x/***\n"
        "AUTOSCALE_DBT_CI_OUTPUT_COMMENT_URL=\n"
    )
    assert (tmp_path / "autoscale-dbt-ci-summary.md").read_text(encoding="utf-8") == "token ***\nmore\n"  # this step's
    assert "output decision=plain-trigger" in out.getvalue().splitlines()
    assert "dbtc_s3cret" not in out.getvalue()


def test_anywhere_the_summary_and_outputs_go_to_files_when_asked(tmp_path: Path) -> None:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.env"
    out = io.StringIO()
    env = {"BITBUCKET_BUILD_NUMBER": "7", SUMMARY_FILE_VARIABLE: str(summary), OUTPUTS_FILE_VARIABLE: str(outputs)}
    runtime = Runtime(env, out)
    runtime.set_outputs({"decision": "skip"})
    runtime.write_summary("### skipped\n")
    assert summary.read_text(encoding="utf-8") == "### skipped\n"
    assert outputs.read_text(encoding="utf-8") == "AUTOSCALE_DBT_CI_OUTPUT_DECISION=skip\n"
    assert out.getvalue().splitlines() == ["output decision=skip"]
    assert set(tmp_path.iterdir()) == {summary, outputs}


def test_a_file_that_cannot_be_written_is_one_warning(tmp_path: Path) -> None:
    out = io.StringIO()
    missing = tmp_path / "no-such-directory" / "summary.md"
    runtime = Runtime({SUMMARY_FILE_VARIABLE: str(missing)}, out)
    runtime.write_summary("### success\n")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"warning: Could not write {missing} (")
    assert lines[0].endswith("the step goes on without it.")
