"""`autoscale-dbt-ci [run|cleanup|post] --job-id ...`: the action outside GitHub's Docker runtime."""

from __future__ import annotations

import argparse
import os
from collections.abc import MutableMapping, Sequence

from autoscale_ci import __version__, post
from autoscale_ci import run as action
from autoscale_ci.ci import dialects
from autoscale_ci.ci.runtime import OUTPUTS_FILE_VARIABLE, SUMMARY_FILE_VARIABLE
from autoscale_ci.inputs.help import INPUTS
from autoscale_ci.inputs.settings import input_names

COMMANDS = ("run", "cleanup", "post")
# Rendered when the command runs without a dbt Cloud token: `{how}` is how the CI in use hands a secret to a step.
NO_CREDENTIAL = (
    "Flag --dbt-cloud-token is required: set the environment variable DBT_CLOUD_TOKEN to a dbt Cloud token ({how}), "
    "or pass --dbt-cloud-token."
)
# How each CI hands a secret to a step, by the dialect that runs it.
SECRET_SYNTAX = {
    "gitlab": "a masked CI/CD variable named DBT_CLOUD_TOKEN, under Settings > CI/CD > Variables",
    "azure": (
        "a secret pipeline variable, which Azure passes to a script only when the step maps it: "
        "env: {DBT_CLOUD_TOKEN: $(DBT_CLOUD_TOKEN)}"
    ),
    "plain": "a secured repository or deployment variable of your CI, or in a shell: export DBT_CLOUD_TOKEN=...",
    "github": "a repository secret, mapped in the step: env: {DBT_CLOUD_TOKEN: ${{ secrets.DBT_CLOUD_TOKEN }}}",
}
# The flags only one command reads: each command's --help lists its own.
CLEANUP_ONLY = frozenset(
    {"drop-schema", "drop-schema-macro", "drop-schema-command", "clone-max-age-minutes", "confirm-closed"}
)
RUN_ONLY = frozenset(
    {
        "clone", "delete-clone", "max-run-slots", "native-concurrency", "native-trigger", "wait", "cancel-on-timeout",
        "run-on-draft", "cause", "steps-override", "dbt-version-override", "threads-override", "target-name-override",
        "timeout-seconds-override", "generate-docs-override", "git-branch", "artifacts", "artifacts-path", "dry-run",
        "pr-comment", "pushed-at", "git-sha", "merge-queue",
    }
)  # fmt: skip
POST_READS = frozenset({"dbt-cloud-token", "dbt-cloud-host", "account-id", "job-id", "cancel-on-abort"})


# Rendered at the end of --help.
EPILOG = """\
The dbt Cloud token is read from DBT_CLOUD_TOKEN (or --dbt-cloud-token, which shows in the process list: prefer the
variable), a GitHub token from GITHUB_TOKEN; neither is ever printed. Every flag can also be given as the variable
AUTOSCALE_DBT_CI_<FLAG> (upper case, - as _), for example AUTOSCALE_DBT_CI_JOB_ID=73797; a flag wins.

exit codes:
  0        the run succeeded; with --wait false, dbt Cloud accepted the trigger; or nothing needed to run
  1        the run failed, was cancelled or timed out; or an input, the event or dbt Cloud refused
  2        the command line itself is wrong (an unknown flag or command): nothing was read or written
  130/143  the step was cancelled (SIGINT/SIGTERM): the run it started was cancelled and its clone deleted first
"""
COMMAND_HELP = {
    "run": "trigger the CI job for the pull request (the default)",
    "cleanup": "delete this job's idle clones, or a closed pull request's clones, runs and schema",
    "post": "cancel the run and delete the clone that a killed run step left behind",
}


# Flags of the command line alone: under GitHub Actions the job summary and GITHUB_OUTPUT hold these.
FILE_FLAGS = {
    "summary-file": (
        SUMMARY_FILE_VARIABLE,
        "also write the Markdown summary to this file (default under GitLab CI: autoscale-dbt-ci-summary.md, for "
        "artifacts:; under Azure Pipelines: $(Agent.TempDirectory)/autoscale-dbt-ci-summary.md, shown on the run's "
        "summary page; elsewhere none)",
    ),
    "outputs-file": (
        OUTPUTS_FILE_VARIABLE,
        "also write the outputs to this file as AUTOSCALE_DBT_CI_OUTPUT_<NAME>=value lines, quoted for `source`; "
        "under GitLab CI the dotenv report (default autoscale-dbt-ci.env, for artifacts: reports: dotenv:; "
        "elsewhere none)",
    ),
}


def env_name(flag: str) -> str:
    """The variable a flag may also be given as: AUTOSCALE_DBT_CI_JOB_ID for --job-id."""
    return "AUTOSCALE_DBT_CI_" + flag.upper().replace("-", "_")


def _reads(command: str | None, name: str) -> bool:
    """Whether a command reads an input: every command-less invocation reads them all."""
    if command == "post":
        return name in POST_READS
    if command == "run":
        return name not in CLEANUP_ONLY
    if command == "cleanup":
        return name not in RUN_ONLY
    return True


def _flags(command: str | None = None) -> argparse.ArgumentParser:
    flags = argparse.ArgumentParser(add_help=False)
    for name in (name for name in input_names() if _reads(command, name)):
        description, default = INPUTS.get(name, ("", ""))
        shown = f" (default: {default})" if default and not default.startswith("${{") else ""
        # Left out when not given, so that a flag before the command and one after it never overwrite each other.
        flags.add_argument(f"--{name}", dest=name, metavar="VALUE", default=argparse.SUPPRESS, help=description + shown)
    for name, (_, description) in FILE_FLAGS.items():
        flags.add_argument(f"--{name}", dest=name, metavar="PATH", default=argparse.SUPPRESS, help=description)
    return flags


def parser() -> argparse.ArgumentParser:
    """The command line: a flag for every input of the action, named and described as action.yml has it."""
    flags = _flags()
    parse = argparse.ArgumentParser(
        prog="autoscale-dbt-ci",
        allow_abbrev=False,
        description="Trigger a dbt Cloud CI job for a pull request without queueing behind other pull requests.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[flags],
    )
    parse.add_argument("--version", action="version", version=f"autoscale-dbt-ci {__version__}")
    commands = parse.add_subparsers(dest="command", metavar="{run,cleanup,post}", title="commands")
    for command in COMMANDS:
        commands.add_parser(
            command,
            help=COMMAND_HELP[command],
            description=COMMAND_HELP[command][0].upper() + COMMAND_HELP[command][1:] + ".",
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[_flags(command)],
            allow_abbrev=False,
        )
    return parse


def apply(args: argparse.Namespace, env: MutableMapping[str, str]) -> str:
    """Turn flags (and AUTOSCALE_DBT_CI_ variables) into the INPUT_ variables the action reads, as the runner
    would; the command to run."""
    given = vars(args)
    command = given.pop("command", None)
    mode = given.get("mode") or env.get(env_name("mode"))
    if mode is not None and mode.strip() not in ("run", "cleanup"):
        raise SystemExit(
            f"autoscale-dbt-ci: --mode takes run (trigger CI for a pull request) or cleanup (a closed pull request's "
            f"clones, runs and schema, and idle clones), not '{mode[:40]}'; or give the command instead: run, cleanup."
        )
    if command is not None and mode is not None and command != mode.strip():
        raise SystemExit(f"autoscale-dbt-ci: the command '{command}' and --mode {mode} disagree: give one of them.")
    command = command or mode or "run"
    for name, (variable, _) in FILE_FLAGS.items():
        if name in given:
            env[variable] = given[name]
    for name in input_names():
        value = given.get(name)
        if value is None and not env.get(f"INPUT_{name.upper()}"):
            value = env.get(env_name(name))
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
    how = SECRET_SYNTAX.get(dialects.for_env(os.environ).name, SECRET_SYNTAX["plain"])
    return post.main() if command == "post" else action.main(missing_token=NO_CREDENTIAL.format(how=how), naming="flag")


def main() -> None:
    """Console script entry point."""
    raise SystemExit(run())
