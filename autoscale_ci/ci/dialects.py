"""Each CI's way of reading a step's log: annotations, collapsible groups, masking, outputs and the summary.

GitHub Actions has workflow commands (`::error::`), Azure Pipelines logging commands (`##vso[...]`), GitLab CI
collapsible sections and a dotenv file for outputs; Bitbucket Pipelines, any other CI and a terminal get plain lines.
A dialect only renders lines: the runtime redacts secrets, writes and owns every file.
"""

from __future__ import annotations

import itertools
import re
import secrets
import shlex
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from autoscale_ci.ci.detect import detect, on_github_actions

# GitLab refuses a dotenv report of this size or more, and the whole artifact upload with it.
DOTENV_LIMIT = 5 * 1024
CUT = "..."
SUMMARY_FILE = "autoscale-dbt-ci-summary.md"
OUTPUTS_FILE = "autoscale-dbt-ci.env"
# Outputs in a dotenv file reach every later job of the pipeline, so they carry a prefix of their own.
DOTENV_PREFIX = "AUTOSCALE_DBT_CI_OUTPUT_"


def outputs_name(output: str) -> str:
    """An output's variable in an outputs file: `AUTOSCALE_DBT_CI_OUTPUT_RUN_URL` for `run-url`."""
    return DOTENV_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", output).upper()


def never_closes() -> str | None:
    """The closing of a group that has no closing line."""
    return None


def one_line(value: str) -> str:
    """A list's lines joined with `,`, for the forms that hold one line (`output name=value`, dotenv)."""
    return ",".join(part for part in value.splitlines() if part)


class Plain:
    """Bitbucket Pipelines, any other CI and a terminal: plain lines a person reads."""

    name = "plain"
    # Whether a group may open inside another; where it may not, the runtime closes the outer one meanwhile.
    nests = False

    def annotation(self, level: str, message: str, title: str, place: tuple[str, int] | None = None) -> str:
        """`error: title: message`; on a file, `path:line: error: ...`, which a terminal makes a link."""
        text = f"{level}: {title}: {message}" if title else f"{level}: {message}"
        return self.quote(f"{place[0]}:{place[1]}: {text}" if place is not None else text)

    def debug(self, message: str) -> str | None:
        """A line the CI shows only when its debug logging is on, if it has such lines: none here, so it is dropped."""
        del message
        return None

    def mask(self, secret: str) -> str | None:
        """The line that registers a secret with the CI's own masking, if it has any: none here."""
        del secret
        return None

    def group(self, title: str) -> tuple[str, Callable[[], str | None]]:
        """The line that opens a group of lines, and what renders its closing line when it closes."""
        return f"== {self.quote(title)} ==", never_closes

    def quote(self, line: str) -> str:
        """A line as printed when the step did not choose its text (dbt Cloud's names, a run's log): never a command."""
        return line

    def verbatim(self, lines: Iterable[str]) -> Iterator[str]:
        """Lines of text the step did not write, each shown and none obeyed."""
        return (self.quote(line) for line in lines)

    def outputs(self, values: Mapping[str, str]) -> list[str]:
        """Outputs in the log."""
        return [self.quote(f"output {name}={one_line(value)}") for name, value in values.items()]

    def summary_uploaded(self, path: Path) -> str | None:
        """The line that hands a written summary file to the CI, if it takes one."""
        del path
        return None

    def default_files(self, env: Mapping[str, str]) -> tuple[str, str]:
        """Where the summary and the outputs go when no one says: nowhere."""
        del env
        return "", ""

    def outputs_file(self, values: Mapping[str, str]) -> str:
        """The outputs file: `NAME='value'` lines that a later step can `source`."""
        return "".join(f"{outputs_name(name)}={shlex.quote(one_line(value))}\n" for name, value in values.items())


def escape_data(value: str) -> str:
    """Escape a workflow command's message."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow command's property value."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_command(name: str, message: str, **properties: str) -> str:
    """Render `::name key=value,...::message`."""
    props = ",".join(f"{key}={escape_property(val)}" for key, val in properties.items() if val)
    head = f"::{name} {props}" if props else f"::{name}"
    return f"{head}::{escape_data(message)}"


def format_outputs(values: Mapping[str, str]) -> str:
    """Render outputs in the `name<<DELIM` form of GITHUB_OUTPUT, with a delimiter no value contains."""
    lines: list[str] = []
    for name, value in values.items():
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        while delimiter in value:  # pragma: no cover - 128 random bits
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        lines += [f"{name}<<{delimiter}", value, delimiter]
    return "\n".join(lines) + "\n"


class GitHub(Plain):
    """GitHub Actions: workflow commands; outputs, summary and state go to the runner's files."""

    name = "github"

    def annotation(self, level: str, message: str, title: str, place: tuple[str, int] | None = None) -> str:
        """`::error title=...::message`; on a file, shown on it in the pull request's diff."""
        if place is None:
            return format_command(level, message, title=title)
        return format_command(level, message, file=place[0], line=str(place[1]), title=title)

    def debug(self, message: str) -> str | None:
        """`::debug::`, shown when the workflow's step debug logging is on."""
        return format_command("debug", message)

    def mask(self, secret: str) -> str | None:
        """`::add-mask::`, which the runner consumes before anything is shown."""
        return format_command("add-mask", secret)

    def group(self, title: str) -> tuple[str, Callable[[], str | None]]:
        """`::group::` and `::endgroup::`."""
        return format_command("group", title), lambda: format_command("endgroup", "")

    def quote(self, line: str) -> str:
        """On one line, never starting with `::` (the runner looks past leading spaces: `> ` goes before it), and
        with a space in `##[`, the runner's older command form, which it finds anywhere in a line. Visible on
        purpose: the runner's comparison may skip an invisible character."""
        line = line.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("##[", "## [")
        return f"> {line}" if line.lstrip().startswith("::") else line

    def verbatim(self, lines: Iterable[str]) -> Iterator[str]:
        """The lines between `::stop-commands::` markers, so that a `::` line among them is shown, never obeyed."""
        resume = f"resume-{secrets.token_hex(16)}"
        yield f"::stop-commands::{resume}"
        yield from lines
        yield f"::{resume}::"


def azure_data(value: str) -> str:
    """Escape a logging command's message as Azure's agent reads it."""
    return value.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def azure_property(value: str) -> str:
    """Escape a logging command's property value: the agent ends a property at `;` and the command at `]`."""
    return azure_data(value).replace(";", "%3B").replace("]", "%5D")


def azure_name(output: str) -> str:
    """An output's name as an Azure variable: letters, digits, `.` and `_`."""
    return re.sub(r"[^A-Za-z0-9._]", "_", output)


# The agent acts on `##vso[` anywhere in a line and formats a line that starts with `##[`.
_AZURE_COMMANDS = re.compile(r"##(vso)?\[")


class Azure(Plain):
    """Azure Pipelines: logging commands; the token is registered as a secret the agent masks."""

    name = "azure"

    def annotation(self, level: str, message: str, title: str, place: tuple[str, int] | None = None) -> str:
        """`##vso[task.logissue type=error]title: message` (with `sourcepath` and `linenumber` on a file); Azure has
        no notice, so a notice is a plain line."""
        if level not in ("error", "warning"):
            return super().annotation(level, message, title, place)
        text = self.quote(f"{title}: {message}" if title else message)
        where = f";sourcepath={azure_property(place[0])};linenumber={place[1]}" if place is not None else ""
        return f"##vso[task.logissue type={level}{where}]{azure_data(text)}"

    def debug(self, message: str) -> str | None:
        """`##[debug]`, shown when the pipeline's `system.debug` is true."""
        return f"##[debug]{self.quote(one_line(message))}"

    def mask(self, secret: str) -> str | None:
        """`##vso[task.setsecret]`, which the agent consumes, masking the value in every later line."""
        return f"##vso[task.setsecret]{azure_data(secret)}"

    def group(self, title: str) -> tuple[str, Callable[[], str | None]]:
        """`##[group]` and `##[endgroup]`."""
        return f"##[group]{self.quote(one_line(title))}", lambda: "##[endgroup]"

    def quote(self, line: str) -> str:
        """A space before the `[` of a command, so that the agent shows the line and obeys nothing. (Not an invisible
        character: the agent's search for `##vso[` may skip one.)"""
        return _AZURE_COMMANDS.sub(r"##\1 [", line)

    def outputs(self, values: Mapping[str, str]) -> list[str]:
        """Each output once, as an output variable of the step (`$(<step name>.run_status)`); the run's summary page
        shows the verdict and the run's link to a person."""
        return [
            f"##vso[task.setvariable variable={azure_name(name)};isOutput=true]{azure_data(value)}"
            for name, value in values.items()
        ]

    def summary_uploaded(self, path: Path) -> str | None:
        """`##vso[task.uploadsummary]`: the Markdown shows on the run's summary page."""
        return f"##vso[task.uploadsummary]{azure_data(str(path))}"

    def default_files(self, env: Mapping[str, str]) -> tuple[str, str]:
        """The summary in the agent's temporary directory, which the agent empties after the job."""
        return str(Path(env.get("AGENT_TEMPDIRECTORY") or ".") / SUMMARY_FILE), ""


ESC = "\x1b"
# GitLab draws a line of these colours in red and yellow.
_COLOURS = {"error": f"{ESC}[31;1m", "warning": f"{ESC}[33;1m"}
_RESET = f"{ESC}[0m"


class GitLab(Plain):
    """GitLab CI: collapsible sections and coloured lines; outputs also in a dotenv report, the summary in a file."""

    name = "gitlab"
    nests = True

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._sections = itertools.count(1)

    def annotation(self, level: str, message: str, title: str, place: tuple[str, int] | None = None) -> str:
        """`error: title: message`, in red for an error and yellow for a warning."""
        line = super().annotation(level, message, title, place)
        colour = _COLOURS.get(level)
        return f"{colour}{line}{_RESET}" if colour else line

    def group(self, title: str) -> tuple[str, Callable[[], str | None]]:
        """`section_start` and `section_end` lines of one unique name, folded like GitHub's groups; GitLab shows the
        time between the two."""
        slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
        name = f"autoscale_dbt_ci_{next(self._sections)}_{slug}"[:100]
        heading = self.quote(one_line(title))
        start = f"{ESC}[0Ksection_start:{int(self._clock())}:{name}[collapsed=true]\r{ESC}[0K{heading}"
        return start, lambda: f"{ESC}[0Ksection_end:{int(self._clock())}:{name}\r{ESC}[0K"

    def quote(self, line: str) -> str:
        """Without escape characters and carriage returns, so that no text can end a section or redraw a line."""
        return line.replace(ESC, "").replace("\r", "")

    def default_files(self, env: Mapping[str, str]) -> tuple[str, str]:
        """Both in the job's directory, where `artifacts:` finds them."""
        del env
        return SUMMARY_FILE, OUTPUTS_FILE

    def outputs_file(self, values: Mapping[str, str]) -> str:
        """The outputs file as GitLab's dotenv report takes it."""
        return dotenv(values)


def dotenv(values: Mapping[str, str]) -> str:
    """Outputs as GitLab's dotenv report takes them: `PREFIX_NAME=value`, one line each, `$` doubled (GitLab expands
    variables in them), under GitLab's size limit: the longest values are cut, ending in `...`."""
    lines = {outputs_name(name): one_line(value).replace("$", "$$").strip() for name, value in values.items()}

    def size() -> int:
        return sum(len(f"{key}={value}\n".encode()) for key, value in lines.items())

    while size() >= DOTENV_LIMIT and any(len(value) > len(CUT) for value in lines.values()):
        key = max(lines, key=lambda name: len(lines[name].encode()))
        keep = len(lines[key].encode()) - (size() - DOTENV_LIMIT + 1) - len(CUT)
        cut = lines[key].encode()[: max(keep, 0)].decode("utf-8", errors="ignore")
        # A `$$` cut in half would leave a `$` that GitLab reads as the start of a variable.
        odd = (len(cut) - len(cut.rstrip("$"))) % 2
        lines[key] = cut[: len(cut) - odd] + CUT
    return "".join(f"{key}={value}\n" for key, value in lines.items())


def for_env(env: Mapping[str, str]) -> Plain:
    """The dialect of the CI that runs this step, detected from the variables each CI always sets."""
    if on_github_actions(env):
        return GitHub()
    provider = detect(env)
    if provider == "gitlab":
        return GitLab()
    if provider == "azure":
        return Azure()
    return Plain()
