"""A run's steps as dbt Cloud lists them: set-up steps, then one per dbt command, then docs generation; each with
its status and its logs as far as the emulated clock has reached."""

from __future__ import annotations

from dataclasses import replace

from . import logs
from .fusion import FUSION, runs_checks
from .project import Node, selecting, selection
from .protocol import JsonDict
from .state import CANCELLED, ERROR, RUNNING, SUCCESS, Run

DOCS_COMMAND = "dbt docs generate"
# Steps every run takes before the job's own commands; they leave no artifacts. The profile step's name also tells
# the trigger's schema override (see setup_step_names).
SETUP_STEPS = ("Clone git repository", "Create profile from connection Postgres", "Invoke dbt with `dbt deps`")
PROFILE_STEP = 2
# The set-up steps share this part of a run's running time; its dbt commands share the rest equally.
SETUP_SHARE = 0.1


def setup_step_names(run: Run) -> list[str]:
    """A run's set-up steps as dbt Cloud names them."""
    names = list(SETUP_STEPS)
    schema = run.trigger.get("schema_override")
    if schema:
        # NOTES.md: the profile step is named "Create profile from connection X (override schema to '<schema>')".
        names[PROFILE_STEP - 1] += f" (override schema to '{schema}')"
    return names


def step_names(run: Run) -> list[str]:
    """A run's steps in order, as dbt Cloud names them; step N is the N-th (from 1)."""
    commands = [*run.commands, *([DOCS_COMMAND] if run.generate_docs else [])]
    return [*setup_step_names(run), *(f"Invoke dbt with `{command}`" for command in commands)]


# The outcomes that fail the job's last dbt command (state.OUTCOMES).
COMMAND_FAILURES = ("error", "check_error", "transient_error", "connect_error")


def failed_step(run: Run, outcome: str | None = None) -> int | None:
    """The index of the step that fails in a run ending in `outcome` (the run's own by default), or None."""
    outcome = outcome or run.outcome
    if outcome == "deps_error":
        return len(SETUP_STEPS)
    if outcome in COMMAND_FAILURES and run.commands:
        return len(SETUP_STEPS) + len(run.commands)
    return None


def wrote_artifacts(run: Run, outcome: str) -> bool:
    """Whether a run that ended in `outcome` has a step that wrote artifacts: not when `dbt deps` failed, nor when the
    one dbt command that would have written them could not connect ("connect_error") and no docs step followed."""
    if outcome == "deps_error":
        return False
    if outcome == "connect_error":
        return len(run.commands) > 1 or run.generate_docs
    return True


def blocked_by_check(run: Run, command: str, outcome: str | None) -> bool:
    """Whether a failing command stopped at a failing check before any of its models ran: a `dbt build` of dbt
    Fusion's in a run ending "check_error". dbt Core has no checks, nor do Fusion's other commands run them, so
    there the run fails as "error" does."""
    return outcome == "check_error" and run.engine == FUSION and runs_checks(command)


def command_nodes(run: Run, command: str) -> tuple[Node, ...]:
    """The nodes a run's dbt command runs: the job's selection for `dbt build`, `run` and `test`, if it has one
    (Emulator.set_selected_nodes), else the project's own."""
    return selection(run.selected if selecting(command) else None)


def _windows(run: Run, count: int) -> list[tuple[float, float]]:
    """When each of the first `count` steps starts and is planned to end, from the run's planned running time."""
    assert run.started_at is not None
    setup = run.run_seconds * SETUP_SHARE / len(SETUP_STEPS)
    commands = count - len(SETUP_STEPS)
    each = run.run_seconds * (1 - SETUP_SHARE) / commands if commands > 0 else 0.0
    starts = [run.started_at + setup * i for i in range(len(SETUP_STEPS))]
    starts += [run.started_at + setup * len(SETUP_STEPS) + each * j for j in range(commands)]
    return list(zip(starts, [*starts[1:], run.started_at + run.run_seconds], strict=True))


def _script(
    run: Run,
    index: int,
    window: tuple[float, float],
    *,
    failed: bool,
    padding: int,
    until: float | None,
    outcome: str,
) -> logs.Script:
    start, end = window
    if index == 1:
        return logs.clone(run, start, end)
    if index == PROFILE_STEP:
        return logs.profile(run, start, end)
    if index == len(SETUP_STEPS):
        return logs.deps(run, start, end, failed=failed)
    if index > len(SETUP_STEPS) + len(run.commands):
        return logs.docs(run, start, end)
    command = run.commands[index - len(SETUP_STEPS) - 1]
    nodes = command_nodes(run, command)
    blocked = failed and blocked_by_check(run, command, outcome)
    return logs.command(
        run,
        command,
        start,
        end,
        failed=failed,
        padding=padding,
        nodes=nodes,
        until=until,
        blocked=blocked,
        dropped=failed and outcome == "transient_error",
        refused=failed and outcome == "connect_error",
    )


def run_steps(run: Run, account_id: int, *, now: float, outcome: str, log_lines: int) -> list[JsonDict]:
    """The steps a run has reached by `now` as the spec's RunStep, with statuses and logs; `outcome` as outcome_of."""
    if run.started_at is None:
        return []
    names = setup_step_names(run) if outcome == "deps_error" else step_names(run)
    windows = _windows(run, len(names))
    ended = run.status not in (RUNNING, CANCELLED)
    until = now if run.status == RUNNING else run.finished_at
    reached = len(names) if ended or until is None else sum(1 for start, _ in windows if start <= until)
    failing = failed_step(run, outcome)
    steps: list[JsonDict] = []
    for index in range(1, reached + 1):
        done = ended or index < reached
        status = (ERROR if index == failing else SUCCESS) if done else run.status
        shown = None if done else until
        script = _script(
            run, index, windows[index - 1], failed=index == failing, padding=log_lines, until=shown, outcome=outcome
        )
        if done and index == len(names) and run.finished_at is not None and run.finished_at > windows[-1][1]:
            # Held past its planned end: the last step ends when the run does, its earlier lines unchanged.
            script.tail = [replace(line, at=run.finished_at) for line in script.tail]
        cancelled = (run.status_message or "Cancelled.") if status == CANCELLED else None
        text = logs.render(script, until=shown, cancelled=cancelled)
        steps.append(
            {
                "run_id": run.id,
                "account_id": account_id,
                "index": index,
                "status": status,
                "name": names[index - 1],
                **text,
            }
        )
    return steps
