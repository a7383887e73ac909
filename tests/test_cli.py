from __future__ import annotations

import pytest

from autoscale_ci.cli import CLEANUP_ONLY, POST_READS, RUN_ONLY, apply, parser


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


def test_a_mode_that_is_none_says_what_mode_takes() -> None:
    with pytest.raises(
        SystemExit, match=r"--mode takes run \(trigger CI for a pull request\) or cleanup .*not 'deploy'"
    ):
        apply(parser().parse_args(["run", "--mode", "deploy"]), {})


def test_help_describes_every_flag_as_action_yml_does(capsys: pytest.CaptureFixture[str]) -> None:
    from autoscale_ci.inputs.help import INPUTS
    from autoscale_ci.inputs.settings import input_names

    only = {"run": CLEANUP_ONLY | {"mode"}, "cleanup": RUN_ONLY | {"mode"}, "post": set(input_names()) - POST_READS}
    for argv in (["--help"], ["run", "--help"], ["cleanup", "--help"], ["post", "--help"]):
        with pytest.raises(SystemExit) as done:
            parser().parse_args(argv)
        assert done.value.code == 0
        out = capsys.readouterr().out
        shown = "".join(out.split())  # help wraps lines (and words at hyphens) to the terminal's width
        left_out = only.get(argv[0], set())
        for name in input_names():
            if name in left_out - ({"mode"} if argv[0] != "post" else set()):
                assert f"--{name} VALUE" not in out, (argv, name)  # another command's flag
                continue
            assert f"--{name} VALUE" in out, (argv, name)
            assert "".join(INPUTS[name][0].split()) in shown, name
        assert "exitcodes:0" in shown and "AUTOSCALE_DBT_CI_JOB_ID=73797" in shown
        assert "2thecommandlineitselfiswrong" in shown  # a bad flag's exit code


def test_help_shows_defaults_and_each_command_has_its_own() -> None:
    text = " ".join(parser().format_help().split())
    assert "--poll-interval VALUE" in text and "(default: 30)" in text
    assert "post cancel the run and delete the clone that a killed run step left behind" in text


def test_version_is_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    from autoscale_ci import __version__

    with pytest.raises(SystemExit):
        parser().parse_args(["--version"])
    assert capsys.readouterr().out.strip() == f"autoscale-dbt-ci {__version__}"


def test_every_flag_can_be_a_variable_and_a_flag_wins() -> None:
    env = {"AUTOSCALE_DBT_CI_JOB_ID": "5", "AUTOSCALE_DBT_CI_POLL_INTERVAL": "9", "AUTOSCALE_DBT_CI_MODE": "cleanup"}
    command = apply(parser().parse_args(["--poll-interval", "3"]), env)
    assert command == "cleanup"
    assert (env["INPUT_JOB-ID"], env["INPUT_POLL-INTERVAL"], env["INPUT_MODE"]) == ("5", "3", "cleanup")


def test_a_runners_own_input_is_not_replaced_by_a_variable() -> None:
    env = {"INPUT_JOB-ID": "7", "AUTOSCALE_DBT_CI_JOB_ID": "5"}
    apply(parser().parse_args([]), env)
    assert env["INPUT_JOB-ID"] == "7"


def test_flags_before_and_after_the_command_are_both_kept() -> None:
    env: dict[str, str] = {}
    assert apply(parser().parse_args(["--job-id", "5", "run", "--account-id", "1"]), env) == "run"
    assert (env["INPUT_JOB-ID"], env["INPUT_ACCOUNT-ID"]) == ("5", "1")


def test_the_summary_and_outputs_files_are_flags_and_variables_of_the_same_name() -> None:
    from autoscale_ci.cli import FILE_FLAGS, env_name

    env: dict[str, str] = {}
    apply(parser().parse_args(["run", "--summary-file", "s.md", "--outputs-file", "o.env"]), env)
    assert env == {
        "AUTOSCALE_DBT_CI_SUMMARY_FILE": "s.md",
        "AUTOSCALE_DBT_CI_OUTPUTS_FILE": "o.env",
        "INPUT_MODE": "run",
    }
    assert all(env_name(name) == variable for name, (variable, _) in FILE_FLAGS.items())  # the one naming rule
    text = " ".join(parser().format_help().split())
    assert "--summary-file PATH also write the Markdown summary" in text
    assert "artifacts: reports: dotenv:" in text
