from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoscale_ci.ci.dialects import format_outputs
from autoscale_ci.ci.runtime import OUTPUTS_FILE_VARIABLE, SUMMARY_FILE_VARIABLE, SUMMARY_LIMIT, Runtime
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
        "job ##vso [task.complete result=Succeeded]",
        "##[endgroup]",
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


def test_a_file_that_cannot_be_written_is_one_warning_however_often_it_is_asked_for(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    summary, outputs = tmp_path / "a-file" / "summary.md", tmp_path / "a-file" / "outputs.env"  # under a file
    out = io.StringIO()
    runtime = Runtime({SUMMARY_FILE_VARIABLE: str(summary), OUTPUTS_FILE_VARIABLE: str(outputs)}, out)
    for _ in range(2):
        runtime.write_summary("### success\n")
        runtime.set_outputs({"decision": "skip"})
    warnings = [line for line in out.getvalue().splitlines() if line.startswith("warning: ")]
    assert [line.split(" (")[0] for line in warnings] == [
        f"warning: Could not write {summary}",
        f"warning: Could not write {outputs}",
    ]
    assert all(line.endswith("the step goes on without it.") for line in warnings)


def test_a_lone_surrogate_from_dbt_is_written_as_a_question_mark_everywhere(tmp_path: Path) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)  # strict, as a pipe's stdout is
    paths = {"GITHUB_OUTPUT": tmp_path / "out", "GITHUB_STEP_SUMMARY": tmp_path / "summary"}
    files = {SUMMARY_FILE_VARIABLE: tmp_path / "summary.md", OUTPUTS_FILE_VARIABLE: tmp_path / "outputs.env"}
    runtime = Runtime({**ON_GITHUB, **{name: str(path) for name, path in {**paths, **files}.items()}}, out)
    runtime.log("model.\udc80 failed")
    runtime.error("model.\udc80 failed")
    runtime.set_outputs({"failed-nodes": "model.\udc80"})
    runtime.write_summary("model.\udc80\n")
    assert raw.getvalue().decode("utf-8").splitlines() == ["model.? failed", "::error::model.? failed"]
    assert read_outputs(paths["GITHUB_OUTPUT"]) == {"failed-nodes": "model.?"}
    assert paths["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8") == "model.?\n"
    assert files[SUMMARY_FILE_VARIABLE].read_text(encoding="utf-8") == "model.?\n"
    assert (
        files[OUTPUTS_FILE_VARIABLE].read_text(encoding="utf-8") == "AUTOSCALE_DBT_CI_OUTPUT_FAILED_NODES='model.?'\n"
    )


def test_a_command_the_ci_consumes_does_not_reopen_a_group() -> None:
    out = io.StringIO()
    runtime = Runtime(ON_GITHUB, out)
    with runtime.group("Run"):
        with runtime.group("Artifacts"):
            pass
        runtime.mask("dbtc_s3cret")  # consumed by the runner: a group opened for it would show empty
    assert out.getvalue().splitlines() == [
        "::group::Run",
        "::endgroup::",
        "::group::Artifacts",
        "::endgroup::",
        "::add-mask::dbtc_s3cret",
    ]


def test_a_missing_directory_of_a_file_asked_for_is_made(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "ci" / "summary.md"
    Runtime({SUMMARY_FILE_VARIABLE: str(path)}, io.StringIO()).write_summary("### success\n")
    assert path.read_text(encoding="utf-8") == "### success\n"


def test_a_secret_inside_a_longer_one_leaves_nothing_of_either() -> None:
    runtime = Runtime({}, io.StringIO())
    runtime.mask("abc")
    runtime.mask("xxabcyy_longer_token")
    assert runtime.redact("t=xxabcyy_longer_token u=abc") == "t=*** u=***"


def test_a_secret_across_the_summary_s_cut_is_redacted_before_it(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    token = "dbtc_" + "S" * 40
    runtime = Runtime({**ON_GITHUB, "GITHUB_STEP_SUMMARY": str(path)})
    runtime.mask(token)
    runtime.write_summary("x" * (SUMMARY_LIMIT - 60) + token + "y" * 100)
    assert "dbtc_SSS" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            ON_GITHUB,
            ["::group::Run", "trigger", "::endgroup::", "::group::Log", "dbt", "::endgroup::", "::group::Run", "wait",
             "::endgroup::"],
        ),
        ({"TF_BUILD": "True"}, ["##[group]Run", "trigger", "##[endgroup]", "##[group]Log", "dbt", "##[endgroup]",
                                "##[group]Run", "wait", "##[endgroup]"]),
        ({}, ["== Run ==", "trigger", "== Log ==", "dbt", "== Run ==", "wait"]),
    ],
)  # fmt: skip
def test_where_groups_do_not_nest_the_outer_one_closes_around_an_inner_one(
    env: dict[str, str], expected: list[str]
) -> None:
    out = io.StringIO()
    runtime = Runtime(env, out)
    with runtime.group("Run"):
        runtime.log("trigger")
        with runtime.group("Log"):
            runtime.log("dbt")
        runtime.log("wait")
    assert out.getvalue().splitlines() == expected


def test_gitlab_sections_nest() -> None:
    out = io.StringIO()
    runtime = Runtime({"GITLAB_CI": "true"}, out)
    with runtime.group("Run"), runtime.group("Log"):
        runtime.log("dbt")
    lines = out.getvalue().split("\n")[:-1]  # not splitlines: a section line holds a carriage return
    kinds = [line.split(":")[0].removeprefix("\x1b[0K") for line in lines]
    assert kinds == ["section_start", "section_start", "dbt", "section_end", "section_end"]
    ends = [line for line in lines if "section_end" in line]
    assert ["autoscale_dbt_ci_2_log" in ends[0], "autoscale_dbt_ci_1_run" in ends[1]] == [True, True]


def test_a_run_s_log_is_written_in_one_piece_amid_other_threads() -> None:
    out = io.StringIO()
    runtime = Runtime(ON_GITHUB, out)
    lines = iter(["12:00:01 a", "12:00:02 b"])

    def log_and_warn() -> Iterator[str]:
        for line in lines:
            runtime.warning("from another thread")  # as a background write would, while the log is read
            yield line

    runtime.verbatim("Log", log_and_warn())
    printed = out.getvalue().splitlines()
    start = next(index for index, line in enumerate(printed) if line.startswith("::stop-commands::"))
    assert printed[start + 1 : start + 4] == ["12:00:01 a", "12:00:02 b", printed[start + 3]]
    assert printed[start + 3].startswith("::resume-")
    assert all(line.startswith("::warning::") for line in printed[:start] if "another" in line)


def test_an_outer_group_with_nothing_more_to_show_is_not_opened_again() -> None:
    out = io.StringIO()
    runtime = Runtime(ON_GITHUB, out)
    with runtime.group("Run"):
        runtime.log("trigger")
        with runtime.group("Artifacts"):
            pass
    runtime.log("output decision=plain-trigger")
    assert out.getvalue().splitlines() == [
        "::group::Run",
        "trigger",
        "::endgroup::",
        "::group::Artifacts",
        "::endgroup::",
        "output decision=plain-trigger",
    ]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (ON_GITHUB, "::debug::read run 7 for its slot only: ***%0Anext\n"),
        ({"TF_BUILD": "True"}, "##[debug]read run 7 for its slot only: ***,next\n"),
        ({"GITLAB_CI": "true"}, ""),
        ({}, ""),
    ],
)
def test_a_debug_line_goes_where_the_ci_keeps_debug_lines_and_nowhere_else(env: dict[str, str], expected: str) -> None:
    out = io.StringIO()
    runtime = Runtime(env, out)
    runtime.mask("dbtc_token")
    out.seek(0)
    out.truncate()  # the CI's own masking line, if it has one
    runtime.debug("read run 7 for its slot only: dbtc_token\nnext")
    assert out.getvalue() == expected


def test_the_workspace_is_where_each_ci_checked_the_repository_out(tmp_path: Path) -> None:
    assert Runtime({**ON_GITHUB, "GITHUB_WORKSPACE": "/home/runner/work/r/r"}).workspace == Path(
        "/home/runner/work/r/r"
    )
    assert Runtime({"GITLAB_CI": "true", "CI_PROJECT_DIR": "/builds/g/r"}).workspace == Path("/builds/g/r")
    assert Runtime({"TF_BUILD": "True", "BUILD_SOURCESDIRECTORY": "/agent/_work/1/s"}).workspace == Path(
        "/agent/_work/1/s"
    )
    assert Runtime({}).workspace == Path(".")
