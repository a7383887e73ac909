"""The runner's side of a step: log lines, annotations, groups, outputs, summary, state and masking, each in the
dialect of the CI that runs it (`dialects`).

GitHub's workflow commands and its GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_STATE files are used only under
GitHub Actions (`GITHUB_ACTIONS=true`): anywhere else only GitHub's runner would swallow `::add-mask::<token>`, so the
line would print the token in clear. Every secret the step was given is replaced by `***` in whatever it prints or
writes, and only the CI's own masking command (`::add-mask::`, `##vso[task.setsecret]`) ever carries one.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from autoscale_ci.ci.dialects import Plain, for_env, format_outputs

# A step summary larger than this is rejected by GitHub's runner; the same cut keeps a summary file readable.
SUMMARY_LIMIT = 1024 * 1024
REDACTED = "***"
# Where the summary and the outputs also go when asked, outside GitHub Actions too (`--summary-file`, `--outputs-file`).
SUMMARY_FILE_VARIABLE = "AUTOSCALE_DBT_CI_SUMMARY_FILE"
OUTPUTS_FILE_VARIABLE = "AUTOSCALE_DBT_CI_OUTPUTS_FILE"
# The name GitLab's docs give the Code Quality report a job's `artifacts: reports: codequality:` names.
CODE_QUALITY_FILE = "gl-code-quality-report.json"


@dataclass(eq=False)  # found on the stack by identity: two groups may have one title
class _Group:
    """A group entered and not left; `closing` renders its closing line, and is None while an inner group has it
    closed."""

    title: str
    closing: Callable[[], str | None] | None


def _silence(out: TextIO) -> None:
    """Point a closed pipe's descriptor at /dev/null, so that the interpreter's last flush at exit prints no
    traceback about it."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


# Where each CI checks the repository out: GitHub Actions, GitLab CI, Azure Pipelines (each CI's documented variable).
WORKSPACE_VARIABLES = ("GITHUB_WORKSPACE", "CI_PROJECT_DIR", "BUILD_SOURCESDIRECTORY")


class Runtime:
    """The step's view of the runner: stdout for log lines and commands, files for outputs, summary and state."""

    def __init__(self, env: Mapping[str, str] | None = None, out: TextIO | None = None) -> None:
        # How many annotations of each level the step wrote: GitHub keeps only so many of each.
        self.annotated: dict[str, int] = {}
        self._env = os.environ if env is None else env
        self._out = out
        self.dialect: Plain = for_env(self._env)
        self.github = self.dialect.name == "github"
        summary_file, outputs_file = self.dialect.default_files(self._env)
        self._summary_file = self._env.get(SUMMARY_FILE_VARIABLE) or summary_file
        self._outputs_file = self._env.get(OUTPUTS_FILE_VARIABLE) or outputs_file
        self._outputs: dict[str, str] = {}
        self._summary_started = False
        self._secrets: list[str] = []
        # The groups entered and not left, innermost last.
        self._groups: list[_Group] = []
        self._lock = threading.Lock()
        # Whether the log's reader went away.
        self._closed = False

    @property
    def out(self) -> TextIO:
        """Where log lines and commands go."""
        return self._out if self._out is not None else sys.stdout

    def redact(self, text: str) -> str:
        """`text` with every secret given to `mask` replaced by `***`, and fit to write: a lone surrogate (JSON
        allows them) becomes `?` rather than failing the write."""
        # Longest first: a secret inside a longer one must not leave the longer one's ends in clear.
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text.encode("utf-8", errors="replace").decode("utf-8")

    def log(self, line: str) -> None:
        """Print a log line, secrets redacted and never taken for a command; whole, when other threads (reads,
        cancels, retries) print too."""
        self._write(self.dialect.quote(self.redact(line)))

    def _write(self, *lines: str, reopen: bool = True) -> None:
        """Lines written together: no other thread's line lands between them. The first line into a group that an
        inner one closed opens it again (not a command the CI consumes, which would leave it empty)."""
        with self._lock:
            current = self._groups[-1] if self._groups else None
            closing = None
            if reopen and current is not None and current.closing is None:
                opening, closing = self.dialect.group(current.title)
                lines = (opening, *lines)
            self._emit(*lines)
            if current is not None and closing is not None:
                current.closing = closing  # open only once its opening line is out

    def _annotate(self, level: str, message: str, title: str, place: tuple[str, int] | None = None) -> None:
        self.annotated[level] = self.annotated.get(level, 0) + 1
        self._write(self.dialect.annotation(level, self.redact(message), self.redact(title), place))

    def error(self, message: str, title: str = "", *, place: tuple[str, int] | None = None) -> None:
        """Annotate an error; `place` (a path from the repository's root, a line) puts it on that file."""
        self._annotate("error", message, title, place)

    def warning(self, message: str, title: str = "", *, place: tuple[str, int] | None = None) -> None:
        """Annotate a warning; `place` as for `error`."""
        self._annotate("warning", message, title, place)

    def notice(self, message: str, title: str = "") -> None:
        """Annotate a notice."""
        self._annotate("notice", message, title)

    def debug(self, line: str) -> None:
        """A line for whoever turns the CI's debug logging on (GitHub's step debug, Azure's `system.debug`); other CIs
        drop it."""
        shown = self.dialect.debug(self.redact(line))
        if shown is not None:
            self._write(shown)

    def mask(self, secret: str) -> None:
        """Keep a secret out of every later line and file; the CI masks it too where it can be told to."""
        if not secret or secret in self._secrets:
            return
        self._secrets.append(secret)
        line = self.dialect.mask(secret)
        if line is not None:
            # The one line that carries the secret, and the CI consumes it before anything is shown.
            self._write(line, reopen=False)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Fold the lines printed inside into one collapsible group (a heading line where the CI has none). Where
        groups do not nest (GitHub, Azure), an inner group closes the outer one, which opens again when a line is
        written into it, so that no line falls out of its group."""
        entry = _Group(self.redact(title), None)
        try:
            with self._lock:
                if self._groups and not self.dialect.nests:
                    self._close(self._groups[-1])
                opening, closing = self.dialect.group(entry.title)
                self._emit(opening)
                entry.closing = closing
                self._groups.append(entry)
            yield
        finally:
            # This group, whatever happened: a signal between its opening and here must not leave it on the stack.
            with self._lock:
                if entry in self._groups:
                    self._groups.remove(entry)
                self._close(entry)

    def _close(self, group: _Group) -> None:
        """Its closing line, if it is open and has one; called with the lock held."""
        line = group.closing() if group.closing is not None else None
        group.closing = None
        if line is not None:
            self._emit(line)

    def _emit(self, *lines: str) -> None:
        """Write lines out; called with the lock held. A reader that went away (the command piped into `head`) is
        no reason to stop: the step goes on without a log, and its run is waited for and settled as ever."""
        if self._closed:
            return
        try:
            self.out.write("".join(line + "\n" for line in lines))
            self.out.flush()
        except BrokenPipeError:
            self._closed = True
            _silence(self.out)

    def verbatim(self, title: str, lines: Iterable[str]) -> None:
        """Print text the step did not write (a run's log) in a group, secrets redacted, so that a command in it is
        shown, never obeyed; in one piece, so that no line of the step's own lands in it and goes unobeyed."""
        shown = list(self.dialect.verbatim(self.redact(line) for line in lines))
        with self.group(title):
            self._write(*shown)

    def _append(self, variable: str, text: str) -> bool:
        path = self._env.get(variable, "") if self.github else ""
        if not path:
            return False
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(self.redact(text))
        return True

    def _write_file(self, path: str, text: str, *, append: bool = False) -> bool:
        """Write a file the user (or the CI's convention) asked for; a failure is a warning, never the verdict."""
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with Path(path).open("a" if append else "w", encoding="utf-8") as handle:
                handle.write(self.redact(text))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self.warning(f"Could not write {path} ({reason}); the step goes on without it.")
            return False
        return True

    def set_outputs(self, values: Mapping[str, str]) -> None:
        """Write step outputs: to GITHUB_OUTPUT under GitHub Actions, elsewhere in the CI's form; and to the outputs
        file when there is one, rewritten whole so that it always holds every output so far."""
        if not self._append("GITHUB_OUTPUT", format_outputs(values)):
            for line in self.dialect.outputs({name: self.redact(value) for name, value in values.items()}):
                self._write(line)
        if self._outputs_file:
            self._outputs.update(values)
            text = self.dialect.outputs_file({name: self.redact(value) for name, value in self._outputs.items()})
            if not self._write_file(self._outputs_file, text):
                self._outputs_file = ""  # warned once; not tried again

    def save_state(self, values: Mapping[str, str]) -> None:
        """Save values for the post step, which reads them as `STATE_<name>` (GitHub Actions only)."""
        self._append("GITHUB_STATE", format_outputs(values))

    @property
    def workspace(self) -> Path:
        """Where the CI checked the repository out (GitHub's, GitLab's or Azure's variable for it); else here."""
        return Path(next((self._env[name] for name in WORKSPACE_VARIABLES if self._env.get(name)), "."))

    def write_code_quality(self, issues: list[dict[str, object]]) -> str | None:
        """Under GitLab CI, write a Code Quality report into the job's directory, where `artifacts: reports:
        codequality:` finds it; where it went, or None under any other CI."""
        if self.dialect.name != "gitlab":
            return None
        path = self.workspace / CODE_QUALITY_FILE
        path.write_text(self.redact(json.dumps(issues, indent=1)), encoding="utf-8")
        return str(path)

    def write_summary(self, markdown: str) -> None:
        """Append Markdown to the job summary (GitHub Actions) and to the summary file (when there is one; begun
        afresh by each step), cut to GitHub's size limit."""
        markdown = self.redact(markdown)  # before the cut, which could leave part of a secret
        data = markdown.encode("utf-8")
        if len(data) > SUMMARY_LIMIT:
            marker = "\n\n_Summary cut to fit the 1 MiB limit._\n"
            keep = SUMMARY_LIMIT - len(marker.encode("utf-8"))
            markdown = data[:keep].decode("utf-8", errors="ignore") + marker
        self._append("GITHUB_STEP_SUMMARY", markdown)
        if not self._summary_file:
            return
        first = not self._summary_started
        if self._write_file(self._summary_file, markdown, append=not first):
            self._summary_started = True
            # Handed over once: each hand-over would show the file as one more summary.
            uploaded = self.dialect.summary_uploaded(Path(self._summary_file).resolve()) if first else None
            if uploaded is not None:
                self._write(uploaded, reopen=False)
        else:
            self._summary_file = ""  # warned once; not tried again
