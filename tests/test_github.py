from __future__ import annotations

import io
from pathlib import Path

from autoscale_ci.github import SUMMARY_LIMIT, Runtime, escape_data, escape_property, format_command, format_outputs
from tests.conftest import read_outputs


def test_escaping() -> None:
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert format_command("error", "bad\nthing", title="T: x") == "::error title=T%3A x::bad%0Athing"
    assert format_command("endgroup", "") == "::endgroup::"


def test_outputs_survive_values_with_newlines_and_delimiter_lookalikes(tmp_path: Path) -> None:
    path = tmp_path / "out"
    values = {"a": "one\ntwo", "b": "", "c": "ghadelimiter_x<<EOF"}
    Runtime({"GITHUB_OUTPUT": str(path)}).set_outputs(values)
    assert read_outputs(path) == values
    text = format_outputs({"x": "1"})
    assert text.startswith("x<<ghadelimiter_") and text.endswith("\n")


def test_outputs_without_a_runner_are_logged() -> None:
    out = io.StringIO()
    Runtime({}, out).set_outputs({"decision": "skip"})
    assert out.getvalue() == "output decision=skip\n"


def test_summary_is_cut_below_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    Runtime({"GITHUB_STEP_SUMMARY": str(path)}).write_summary("é" * SUMMARY_LIMIT)
    data = path.read_bytes()
    assert len(data) <= SUMMARY_LIMIT
    assert data.decode("utf-8").endswith("_Summary cut to fit the 1 MiB limit._\n")


def test_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    runtime = Runtime({"GITHUB_STEP_SUMMARY": str(path)})
    runtime.write_summary("a\n")
    runtime.write_summary("b\n")
    assert path.read_text(encoding="utf-8") == "a\nb\n"


def test_commands_mask_and_group() -> None:
    out = io.StringIO()
    runtime = Runtime({}, out)
    runtime.mask("s3cret")
    runtime.mask("")
    with runtime.group("Decide"):
        runtime.notice("hi", title="N")
        runtime.warning("careful")
    assert out.getvalue().splitlines() == [
        "::add-mask::s3cret",
        "::group::Decide",
        "::notice title=N::hi",
        "::warning::careful",
        "::endgroup::",
    ]


def test_state_is_written_for_the_post_step(tmp_path: Path) -> None:
    path = tmp_path / "state"
    Runtime({"GITHUB_STATE": str(path)}).save_state({"run-id": "5"})
    assert read_outputs(path) == {"run-id": "5"}
