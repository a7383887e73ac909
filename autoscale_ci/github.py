"""The runner's side of a step: log lines, annotations, groups, outputs, job summary, state and masking.

Workflow commands (`::add-mask::`, `::error::`, `::group::`) and the GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and
GITHUB_STATE files exist only under GitHub Actions (`GITHUB_ACTIONS=true`). Anywhere else only GitHub's runner would
swallow `::add-mask::<token>`, so the line would print the token in clear: there the step prints plain lines and
writes no runner file, and every secret it was given is replaced by `***` in whatever it prints or writes.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

# A step summary larger than this is rejected by the runner.
SUMMARY_LIMIT = 1024 * 1024
REDACTED = "***"


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


def on_github_actions(env: Mapping[str, str]) -> bool:
    """Whether GitHub's runner runs this step, the only place workflow commands and runner files mean anything."""
    return env.get("GITHUB_ACTIONS", "").strip().lower() == "true"


class Runtime:
    """The step's view of the runner: stdout for log lines and commands, files for outputs, summary and state."""

    def __init__(self, env: Mapping[str, str] | None = None, out: TextIO | None = None) -> None:
        self._env = os.environ if env is None else env
        self._out = out
        self.github = on_github_actions(self._env)
        self._secrets: list[str] = []
        self._lock = threading.Lock()

    @property
    def out(self) -> TextIO:
        """Where log lines and workflow commands go."""
        return self._out if self._out is not None else sys.stdout

    def redact(self, text: str) -> str:
        """`text` with every secret given to `mask` replaced by `***`."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def log(self, line: str) -> None:
        """Print a log line, secrets redacted; whole, when other threads (reads, cancels, retries) print too."""
        self._write(self.redact(line))

    def _write(self, line: str) -> None:
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def _annotate(self, level: str, message: str, title: str) -> None:
        if self.github:
            self.log(format_command(level, message, title=title))
        else:
            self.log(f"{level}: {title}: {message}" if title else f"{level}: {message}")

    def error(self, message: str, title: str = "") -> None:
        """Annotate an error."""
        self._annotate("error", message, title)

    def warning(self, message: str, title: str = "") -> None:
        """Annotate a warning."""
        self._annotate("warning", message, title)

    def notice(self, message: str, title: str = "") -> None:
        """Annotate a notice."""
        self._annotate("notice", message, title)

    def mask(self, secret: str) -> None:
        """Keep a secret out of every later line and file; under GitHub Actions the runner masks it too."""
        if not secret or secret in self._secrets:
            return
        self._secrets.append(secret)
        if self.github:
            # The one line that carries the secret, and GitHub's runner consumes it before anything is shown.
            self._write(format_command("add-mask", secret))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Fold the lines printed inside into one collapsible group (a heading line outside GitHub)."""
        self.log(format_command("group", title) if self.github else f"== {title} ==")
        try:
            yield
        finally:
            if self.github:
                self.log(format_command("endgroup", ""))

    def verbatim(self, title: str, lines: Iterable[str]) -> None:
        """Print text the step did not write (a run's log) in a group, secrets redacted; under GitHub Actions with
        workflow commands off, so that a `::` line in it is shown, never obeyed."""
        with self.group(title):
            resume = f"resume-{secrets.token_hex(16)}"
            if self.github:
                self.log(f"::stop-commands::{resume}")
            for line in lines:
                self.log(line)
            if self.github:
                self.log(f"::{resume}::")

    def _append(self, variable: str, text: str) -> bool:
        path = self._env.get(variable, "") if self.github else ""
        if not path:
            return False
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(self.redact(text))
        return True

    def set_outputs(self, values: Mapping[str, str]) -> None:
        """Write step outputs; printed as `output name=value` lines outside a GitHub runner."""
        if not self._append("GITHUB_OUTPUT", format_outputs(values)):
            for name, value in values.items():
                self.log(f"output {name}={value}")

    def save_state(self, values: Mapping[str, str]) -> None:
        """Save values for the post step, which reads them as `STATE_<name>` (GitHub Actions only)."""
        self._append("GITHUB_STATE", format_outputs(values))

    def write_summary(self, markdown: str) -> None:
        """Append Markdown to the job summary (GitHub Actions only), cut to the runner's size limit."""
        data = markdown.encode("utf-8")
        if len(data) > SUMMARY_LIMIT:
            marker = "\n\n_Summary cut to fit the 1 MiB limit._\n"
            keep = SUMMARY_LIMIT - len(marker.encode("utf-8"))
            markdown = data[:keep].decode("utf-8", errors="ignore") + marker
        self._append("GITHUB_STEP_SUMMARY", markdown)
