from __future__ import annotations

import pytest

from autoscale_ci.cli import apply, parser


def test_flags_become_the_inputs_the_action_reads() -> None:
    env: dict[str, str] = {"DBT_CLOUD_TOKEN": "t0k"}
    apply(parser().parse_args(["cleanup", "--job-id", "5", "--clone-max-age-minutes", "0"]), env)
    assert env == {
        "DBT_CLOUD_TOKEN": "t0k",
        "INPUT_DBT-CLOUD-TOKEN": "t0k",
        "INPUT_JOB-ID": "5",
        "INPUT_CLONE-MAX-AGE-MINUTES": "0",
        "INPUT_MODE": "cleanup",
    }


def test_an_explicit_input_token_wins_and_run_is_the_default() -> None:
    env = {"DBT_CLOUD_TOKEN": "a", "INPUT_DBT-CLOUD-TOKEN": "b"}
    apply(parser().parse_args([]), env)
    assert env["INPUT_DBT-CLOUD-TOKEN"] == "b"
    assert env["INPUT_MODE"] == "run"


def test_the_token_is_not_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["run", "--dbt-cloud-token", "x"])
    assert "unrecognized arguments" in capsys.readouterr().err
