"""`autoscale-dbt-ci [run|cleanup|post] --job-id ...`: the action outside GitHub's Docker runtime."""

from __future__ import annotations

import argparse
import os
from collections.abc import MutableMapping, Sequence

from autoscale_ci import main as action
from autoscale_ci import post
from autoscale_ci.settings import input_names

COMMANDS = ("run", "cleanup", "post")
# Rendered when the command runs without a dbt Cloud token.
NO_CREDENTIAL = (
    "Input 'dbt-cloud-token' is required: set the environment variable DBT_CLOUD_TOKEN to a dbt Cloud service token "
    "(as a masked or secret variable of your CI), or pass --dbt-cloud-token."
)


def parser() -> argparse.ArgumentParser:
    """A flag for every input of the action, named as the input is."""
    parse = argparse.ArgumentParser(
        prog="autoscale-dbt-ci",
        allow_abbrev=False,
        description="Trigger a dbt Cloud CI job for a pull request without queueing behind other pull requests.",
        epilog="The dbt Cloud token is read from DBT_CLOUD_TOKEN (or --dbt-cloud-token, which shows in the process "
        "list: prefer the variable), a GitHub token from GITHUB_TOKEN. Neither is ever printed.",
    )
    parse.add_argument("command", nargs="?", choices=COMMANDS, default=None, help="run (the default), cleanup or post")
    for name in input_names():
        parse.add_argument(f"--{name}", dest=name, metavar="VALUE")
    return parse


def apply(args: argparse.Namespace, env: MutableMapping[str, str]) -> str:
    """Turn flags into the INPUT_ variables the action reads, as the runner would; the command to run."""
    given = vars(args)
    command = given.pop("command")
    mode = given.get("mode")
    if command is not None and mode is not None and command != mode:
        raise SystemExit(f"autoscale-dbt-ci: the command '{command}' and --mode {mode} disagree: give one of them.")
    command = command or mode or "run"
    for name, value in given.items():
        if value is not None:
            env[f"INPUT_{name.upper()}"] = value
    if not env.get("INPUT_DBT-CLOUD-TOKEN") and env.get("DBT_CLOUD_TOKEN"):
        env["INPUT_DBT-CLOUD-TOKEN"] = env["DBT_CLOUD_TOKEN"]
    if command != "post":
        env["INPUT_MODE"] = command
    return command


def run(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the action; returns its exit code."""
    command = apply(parser().parse_args(argv), os.environ)
    return post.main() if command == "post" else action.main(missing_token=NO_CREDENTIAL)


def main() -> None:
    """Console script entry point."""
    raise SystemExit(run())
