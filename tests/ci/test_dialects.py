from __future__ import annotations

import re

import pytest

from autoscale_ci.ci.dialects import (
    DOTENV_LIMIT,
    DOTENV_PREFIX,
    Azure,
    GitHub,
    GitLab,
    Plain,
    azure_data,
    dotenv,
    escape_data,
    escape_property,
    for_env,
    format_command,
    one_line,
)


def test_escaping() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert format_command("error", "bad\nthing", title="T: x") == "::error title=T%3A x::bad%0Athing"
    assert format_command("endgroup", "") == "::endgroup::"
    assert azure_data("50%\r\nnext") == "50%AZP25%0D%0Anext"


@pytest.mark.parametrize(
    ("env", "dialect"),
    [
        ({"GITHUB_ACTIONS": "true"}, GitHub),
        ({"GITLAB_CI": "true"}, GitLab),
        ({"TF_BUILD": "True"}, Azure),
        ({"BITBUCKET_BUILD_NUMBER": "7"}, Plain),
        ({}, Plain),
        ({"GITHUB_ACTIONS": "false", "TF_BUILD": "True"}, Azure),
    ],
)
def test_each_ci_is_spoken_to_in_its_own_dialect(env: dict[str, str], dialect: type[Plain]) -> None:
    assert type(for_env(env)) is dialect


def test_azure_speaks_logging_commands() -> None:
    azure = Azure()
    assert azure.annotation("error", "refused; 50%\nagain", "401") == (
        "##vso[task.logissue type=error]401: refused; 50%AZP25%0Aagain"
    )
    assert azure.annotation("warning", "careful", "") == "##vso[task.logissue type=warning]careful"
    assert azure.annotation("notice", "run 5", "dbt Cloud") == "notice: dbt Cloud: run 5"  # Azure has no notice
    assert azure.mask("dbtc_s3cret") == "##vso[task.setsecret]dbtc_s3cret"
    opening, closing = azure.group("Decide")
    assert (opening, closing()) == ("##[group]Decide", "##[endgroup]")
    # Each output once: as the step's output variable (the summary page shows the verdict to a person).
    assert azure.outputs({"run-status": "success", "failed-nodes": "model.a\nmodel.b"}) == [
        "##vso[task.setvariable variable=run_status;isOutput=true]success",
        "##vso[task.setvariable variable=failed_nodes;isOutput=true]model.a%0Amodel.b",  # the agent restores lines
    ]


def test_azure_obeys_no_command_in_text_the_step_did_not_write() -> None:
    azure = Azure()
    planted = "##vso[task.setvariable variable=PATH]/tmp/evil and ##[error]red"
    shown = azure.quote(planted)
    assert shown == "##vso [task.setvariable variable=PATH]/tmp/evil and ## [error]red"  # reads as it was
    assert list(azure.verbatim([planted, "12:00:01  1 of 2 OK"])) == [shown, "12:00:01  1 of 2 OK"]
    assert azure.annotation("error", planted, "") == "##vso[task.logissue type=error]" + shown
    assert azure.group(planted)[0] == "##[group]" + shown
    # The agent reads one command a line, the first: an output's value stays whole, as the data of ours.
    assert azure.outputs({"cause": planted}) == [
        f"##vso[task.setvariable variable=cause;isOutput=true]{planted}",
    ]


def test_gitlab_folds_sections_and_colours_problems() -> None:
    now = [1700000000.5]
    gitlab = GitLab(clock=lambda: now[0])
    start, end = gitlab.group("Dry run: what a real run would do")
    name = "autoscale_dbt_ci_1_dry_run_what_a_real_run_would_do"
    assert start == f"\x1b[0Ksection_start:1700000000:{name}[collapsed=true]\r\x1b[0KDry run: what a real run would do"
    now[0] = 1700000042.0
    assert end() == f"\x1b[0Ksection_end:1700000042:{name}\r\x1b[0K"  # the time it closed: GitLab shows how long
    again, _ = gitlab.group("Dry run: what a real run would do")
    assert ":autoscale_dbt_ci_2_dry_run" in again  # section names are unique in a job's log
    assert re.fullmatch(r"[a-z0-9_.-]+", name)
    assert gitlab.annotation("error", "refused", "401") == "\x1b[31;1merror: 401: refused\x1b[0m"
    assert gitlab.annotation("warning", "careful", "") == "\x1b[33;1mwarning: careful\x1b[0m"
    assert gitlab.annotation("notice", "run 5", "") == "notice: run 5"
    assert gitlab.mask("dbtc_s3cret") is None  # GitLab masks only variables it was told of, so it is never printed
    # Text from elsewhere can neither end a section nor redraw a line.
    assert gitlab.quote(f"job \x1b[0Ksection_end:1:{name}\r\x1b[0Kx") == f"job [0Ksection_end:1:{name}[0Kx"
    assert gitlab.annotation("error", "\x1b[0Kx\ry", "") == "\x1b[31;1merror: [0Kxy\x1b[0m"


def test_github_takes_no_line_of_text_from_elsewhere_for_a_command() -> None:
    github = GitHub()
    assert github.quote("step (dbt build\n::stop-commands::x) failed") == "step (dbt build ::stop-commands::x) failed"
    assert github.quote("  ::add-mask::x") == ">   ::add-mask::x"
    assert github.quote("dbt says ##[stop-commands]x") == "dbt says ## [stop-commands]x"  # the older form, anywhere
    assert github.quote("Decision: plain-trigger: job 5 is idle.") == "Decision: plain-trigger: job 5 is idle."


def test_plain_lines_everywhere_else() -> None:
    plain = Plain()
    assert plain.annotation("error", "refused", "401") == "error: 401: refused"
    assert plain.mask("dbtc_s3cret") is None
    opening, closing = plain.group("Run")
    assert (opening, closing()) == ("== Run ==", None)
    assert plain.nests is False and GitHub.nests is False and Azure.nests is False and GitLab.nests is True
    assert plain.outputs({"decision": "skip", "failed-nodes": "a\nb"}) == [
        "output decision=skip",
        "output failed-nodes=a,b",
    ]
    assert plain.default_files({}) == ("", "")
    # The outputs file a later step can `source`; GitLab's is its dotenv report.
    text = plain.outputs_file({"run-url": "https://x/$HOME", "nodes-summary": '{"total": 1}', "failed-nodes": "a\nb"})
    assert text == (
        f"{DOTENV_PREFIX}RUN_URL='https://x/$HOME'\n"
        f"""{DOTENV_PREFIX}NODES_SUMMARY='{{"total": 1}}'\n"""
        f"{DOTENV_PREFIX}FAILED_NODES=a,b\n"
    )
    assert GitLab().outputs_file({"run-url": "https://x/$HOME"}) == f"{DOTENV_PREFIX}RUN_URL=https://x/$$HOME\n"


def test_one_line_joins_a_list() -> None:
    assert one_line("a\r\nb\n\nc") == "a,b,c"
    assert one_line("a, b") == "a, b"


def test_dotenv_is_what_gitlab_accepts() -> None:
    text = dotenv({"run-id": "5", "run-url": "https://x/$HOME", "failed-nodes": "a\nb", "comment-url": ""})
    assert text == (
        f"{DOTENV_PREFIX}RUN_ID=5\n"
        f"{DOTENV_PREFIX}RUN_URL=https://x/$$HOME\n"  # GitLab would expand $HOME
        f"{DOTENV_PREFIX}FAILED_NODES=a,b\n"
        f"{DOTENV_PREFIX}COMMENT_URL=\n"
    )
    for line in text.splitlines():
        assert re.fullmatch(r"[A-Za-z0-9_]+=.*", line)


@pytest.mark.parametrize("unit", ["model.p.m_", "é", "$"])
def test_dotenv_cuts_the_longest_value_to_fit_gitlab_s_limit(unit: str) -> None:
    values = {"decision": "clone-and-trigger", "failed-nodes": "\n".join(f"{unit}{n}" for n in range(2000))}
    text = dotenv(values)
    assert len(text.encode()) < DOTENV_LIMIT
    assert len(text.encode()) > DOTENV_LIMIT - 16  # cut no more than needed
    lines = dict(line.split("=", 1) for line in text.splitlines())
    assert lines[f"{DOTENV_PREFIX}DECISION"] == "clone-and-trigger"
    nodes = lines[f"{DOTENV_PREFIX}FAILED_NODES"]
    assert nodes.endswith("...")
    assert nodes.rstrip(".").replace("$$", "").count("$") == 0  # no lone `$` for GitLab to expand


def test_dotenv_stops_cutting_when_nothing_is_left_to_cut() -> None:
    names = {f"output-{'x' * 300}-{n}": "value" for n in range(20)}  # names alone past the limit: cannot fit
    assert set(dotenv(names).splitlines()) == {f"{DOTENV_PREFIX}{name.upper().replace('-', '_')}=..." for name in names}


def test_an_annotation_on_a_file_takes_each_cis_form() -> None:
    place = ("transform/models/a b.sql", 7)
    assert GitHub().annotation("error", "boom", "model.p.a: error", place) == (
        "::error file=transform/models/a b.sql,line=7,title=model.p.a%3A error::boom"
    )
    assert Azure().annotation("warning", "boom", "t", place) == (
        "##vso[task.logissue type=warning;sourcepath=transform/models/a b.sql;linenumber=7]t: boom"
    )
    assert Plain().annotation("error", "boom", "t", place) == "transform/models/a b.sql:7: error: t: boom"
    assert (
        GitLab().annotation("error", "boom", "t", place).endswith("transform/models/a b.sql:7: error: t: boom\x1b[0m")
    )
    assert Plain().annotation("error", "boom", "t") == "error: t: boom"


def test_a_path_cannot_end_an_azure_property_or_command_early() -> None:
    line = Azure().annotation("error", "boom", "t", ("models/a;b]c%.sql", 2))
    assert line == "##vso[task.logissue type=error;sourcepath=models/a%3Bb%5Dc%AZP25.sql;linenumber=2]t: boom"
