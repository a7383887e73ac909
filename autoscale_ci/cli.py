"""`autoscale-dbt-ci [run|cleanup|post] --job-id ...`: the action outside GitHub's Docker runtime."""

from __future__ import annotations

import argparse
import os
from collections.abc import MutableMapping, Sequence

from autoscale_ci import main as action
from autoscale_ci import post
from autoscale_ci.settings import input_names

SECRET_INPUTS = ("dbt-cloud-token", "github-token")


def parser() -> argparse.ArgumentParser:
    """Flags named after the action's inputs; the token comes from DBT_CLOUD_TOKEN, never a flag."""
    parse = argparse.ArgumentParser(
        prog="autoscale-dbt-ci",
        allow_abbrev=False,
        description="Trigger a dbt Cloud CI job for a pull request without queueing behind other pull requests.",
        epilog="The dbt Cloud token is read from DBT_CLOUD_TOKEN (or INPUT_DBT-CLOUD-TOKEN), a GitHub token from "
        "GITHUB_TOKEN.",
    )
    parse.add_argument("command", nargs="?", choices=("run", "cleanup", "post"), default="run")
    for name in input_names():
        if name not in SECRET_INPUTS and name != "mode":
            parse.add_argument(f"--{name}", dest=name, metavar="VALUE")
    return parse


def apply(args: argparse.Namespace, env: MutableMapping[str, str]) -> None:
    """Turn flags into the INPUT_ variables the action reads, as the runner would."""
    for name, value in vars(args).items():
        if name != "command" and value is not None:
            env[f"INPUT_{name.upper()}"] = value
    if not env.get("INPUT_DBT-CLOUD-TOKEN") and env.get("DBT_CLOUD_TOKEN"):
        env["INPUT_DBT-CLOUD-TOKEN"] = env["DBT_CLOUD_TOKEN"]
    if args.command != "post":
        env["INPUT_MODE"] = args.command


def run(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the action; returns its exit code."""
    args = parser().parse_args(argv)
    apply(args, os.environ)
    return post.main() if args.command == "post" else action.main()


def main() -> None:
    """Console script entry point."""
    raise SystemExit(run())
