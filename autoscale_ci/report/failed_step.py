"""Which step of a failed run failed, and the end of its log, bounded and fit to read; pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from autoscale_ci.dbt_cloud.models import ERROR, RunStep

# CSI sequences (colours, cursor moves; also as the one-byte C1 CSI), OSC sequences (titles, links) and lone escapes.
_ANSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
# Control characters, C1 controls and the bidirectional overrides that could make a line read as another.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
TAIL_LINES = 30
LINE_CHARS = 300
ERROR_LINES = 3
# A console line's leading time (`10:38:49`, or `10:38:49.179903` in debug logs); live logs hold many lines of only it.
_TIME = re.compile(r"^\s*\d{1,2}:\d\d:\d\d(?:\.\d+)?(?=\s|$)")
# Where dbt lists what failed: after its summary's heading, or after "Encountered an error:" (deps, compilation).
_ERRORS_FOLLOW = re.compile(r"^(?:Completed with \d+ errors?\b|Encountered an error)")
_ERRORS_END = re.compile(r"^Done\. PASS=")
# A line that says what failed when dbt gave no summary: "Database Error in model x", "[ERROR", "Failure in test".
_AN_ERROR = re.compile(r"\b(?:Error|ERROR|Failure in|FAIL)\b")
# Only the end of a log is read: a log of megabytes costs no more than one of kilobytes.
READ_CHARS = 64 * 1024


@dataclass(frozen=True)
class FailedStep:
    """The step a failed run stopped in, with the last lines of its log."""

    index: int
    name: str
    log_tail: tuple[str, ...]
    earlier_lines_cut: bool
    # What the step's own lines say failed, first; empty when they say nothing recognisable.
    error_lines: tuple[str, ...] = ()

    @property
    def command(self) -> str:
        """The step's name without dbt Cloud's "Invoke dbt with" wrapper: `dbt deps` for "Invoke dbt with `dbt
        deps`"."""
        found = re.search(r"`([^`]+)`", self.name)
        return found.group(1) if found else self.name


def failed_step(steps: Sequence[RunStep]) -> RunStep | None:
    """The step a failed run stopped in: the last that ended in error (a source freshness step may fail without
    stopping the run), or None when no step says it failed."""
    failed = [step for step in sorted(steps, key=lambda s: s.index) if step.status == ERROR]
    return failed[-1] if failed else None


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences and control characters (tabs, line breaks and carriage returns kept)."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def _rows(log: str, redact: Callable[[str], str]) -> tuple[list[str], bool]:
    """A log's lines that say something, escapes stripped and secrets redacted; and whether earlier lines were left
    out (only the end of a log is read)."""
    cut = len(log) > READ_CHARS
    text = log[-READ_CHARS:] if cut else log
    # Redacted before anything is cut, so that no part of a secret survives a cut.
    text = redact(strip_ansi(redact(text)).replace("\r\n", "\n"))
    rows = text.split("\n")
    if cut:
        rows = rows[1:]  # the first line is whatever the cut left of it
    # A progress line rewritten with carriage returns shows what it said last.
    kept = [row.rsplit("\r", 1)[-1].rstrip() for row in rows]
    return [row for row in kept if _TIME.sub("", row).strip()], cut


def _shown(row: str) -> str:
    return row if len(row) <= LINE_CHARS else row[:LINE_CHARS] + "..."


def log_tail(log: str, redact: Callable[[str], str], lines: int = TAIL_LINES) -> tuple[tuple[str, ...], bool]:
    """The last `lines` lines of a log that say something (not blank, not only a time), escapes stripped, secrets
    redacted, each line cut to LINE_CHARS; and whether earlier lines were left out."""
    kept, cut = _rows(log, redact)
    return tuple(_shown(row) for row in kept[-lines:]), cut or len(kept) > lines


def error_lines(log: str, redact: Callable[[str], str]) -> tuple[str, ...]:
    """What a failed step's log says failed, without the times: the lines dbt lists after its summary's heading (or
    after "Encountered an error:"), else the first lines that name an error; at most ERROR_LINES."""
    said = [_TIME.sub("", row).strip() for row in _rows(log, redact)[0]]
    for index, line in enumerate(said):
        if _ERRORS_FOLLOW.match(line):
            listed = []
            for after in said[index + 1 :]:
                if _ERRORS_END.match(after):
                    break
                listed.append(after)
            if listed:
                return tuple(_shown(line) for line in listed[:ERROR_LINES])
    return tuple(_shown(line) for line in said if _AN_ERROR.search(line))[:ERROR_LINES]


def describe(step: RunStep, redact: Callable[[str], str]) -> FailedStep:
    """The failed step as reports show it."""
    log = step.logs or ""
    tail, cut = log_tail(log, redact)
    return FailedStep(step.index, step.name, tail, cut, error_lines(log, redact))
