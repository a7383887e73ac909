"""GitHub Actions runtime: workflow commands, outputs, job summary, state and masking."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

# A step summary larger than this is rejected by the runner.
SUMMARY_LIMIT = 1024 * 1024


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
    """Render outputs in the `name<<DELIM` form with a delimiter no value contains."""
    lines: list[str] = []
    for name, value in values.items():
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        while delimiter in value:  # pragma: no cover - 128 random bits
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        lines += [f"{name}<<{delimiter}", value, delimiter]
    return "\n".join(lines) + "\n"


class Runtime:
    """The step's view of the runner: stdout for commands, files for outputs, summary and state."""

    def __init__(self, env: Mapping[str, str] | None = None, out: TextIO | None = None) -> None:
        self._env = os.environ if env is None else env
        self._out = out

    @property
    def out(self) -> TextIO:
        """Where log lines and workflow commands go."""
        return self._out if self._out is not None else sys.stdout

    def log(self, line: str) -> None:
        """Print a plain log line."""
        print(line, file=self.out, flush=True)

    def command(self, name: str, message: str, **properties: str) -> None:
        """Print a workflow command."""
        self.log(format_command(name, message, **properties))

    def error(self, message: str, title: str = "") -> None:
        """Annotate an error."""
        self.command("error", message, title=title)

    def warning(self, message: str, title: str = "") -> None:
        """Annotate a warning."""
        self.command("warning", message, title=title)

    def notice(self, message: str, title: str = "") -> None:
        """Annotate a notice."""
        self.command("notice", message, title=title)

    def mask(self, secret: str) -> None:
        """Ask the runner to mask a value in every later log line."""
        if secret:
            self.command("add-mask", secret)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Fold the lines printed inside into one collapsible group."""
        self.command("group", title)
        try:
            yield
        finally:
            self.command("endgroup", "")

    def _append(self, variable: str, text: str) -> bool:
        path = self._env.get(variable, "")
        if not path:
            return False
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(text)
        return True

    def set_outputs(self, values: Mapping[str, str]) -> None:
        """Write step outputs; printed as a log line when not run by a runner."""
        if not self._append("GITHUB_OUTPUT", format_outputs(values)):
            for name, value in values.items():
                self.log(f"output {name}={value}")

    def save_state(self, values: Mapping[str, str]) -> None:
        """Save values for the post step, which reads them as `STATE_<name>`."""
        self._append("GITHUB_STATE", format_outputs(values))

    def write_summary(self, markdown: str) -> None:
        """Append Markdown to the job summary, cut to the runner's size limit."""
        data = markdown.encode("utf-8")
        if len(data) > SUMMARY_LIMIT:
            marker = "\n\n_Summary cut to fit the 1 MiB limit._\n"
            keep = SUMMARY_LIMIT - len(marker.encode("utf-8"))
            markdown = data[:keep].decode("utf-8", errors="ignore") + marker
        self._append("GITHUB_STEP_SUMMARY", markdown)
