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


def test_every_input_is_a_flag_the_token_and_mode_too() -> None:
    env: dict[str, str] = {"DBT_CLOUD_TOKEN": "from-env"}
    command = apply(parser().parse_args(["--mode", "cleanup", "--dbt-cloud-token", "from-flag"]), env)
    assert command == "cleanup"
    assert (env["INPUT_MODE"], env["INPUT_DBT-CLOUD-TOKEN"]) == ("cleanup", "from-flag")
    assert apply(parser().parse_args(["cleanup", "--mode", "cleanup"]), {}) == "cleanup"


def test_a_command_and_a_mode_that_disagree_are_refused() -> None:
    with pytest.raises(SystemExit, match="disagree"):
        apply(parser().parse_args(["run", "--mode", "cleanup"]), {})
