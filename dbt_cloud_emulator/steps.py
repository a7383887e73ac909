"""A run's steps as dbt Cloud lists them: set-up steps, then one per dbt command, then docs generation."""

from __future__ import annotations

from .protocol import JsonDict
from .state import CANCELLED, ERROR, RUNNING, SUCCESS, Run

DOCS_COMMAND = "dbt docs generate"
# Steps every run takes before the job's own commands; they leave no artifacts.
SETUP_STEPS = ("Clone git repository", "Create profile from connection", "Invoke dbt with `dbt deps`")


def step_names(run: Run) -> list[str]:
    """A run's steps in order, as dbt Cloud names them; step N is the N-th (from 1)."""
    commands = [*run.commands, *([DOCS_COMMAND] if run.generate_docs else [])]
    return [*SETUP_STEPS, *(f"Invoke dbt with `{command}`" for command in commands)]


def run_steps(run: Run, account_id: int) -> list[JsonDict]:
    """The steps a run has reached, shaped like the spec's RunStep, with the status each ended in."""
    names = step_names(run)
    if run.started_at is None:
        return []
    if run.status in (RUNNING, CANCELLED):
        # The emulator does not time steps: a run in progress (or stopped) is in its first dbt command.
        reached = names[: len(SETUP_STEPS) + 1]
        statuses = [SUCCESS] * (len(reached) - 1) + [run.status]
    else:
        reached = names
        statuses = [SUCCESS] * len(names)
        if run.status == ERROR and run.commands:
            statuses[len(SETUP_STEPS) + len(run.commands) - 1] = ERROR
    return [
        {"run_id": run.id, "account_id": account_id, "index": index, "status": status, "name": name, "logs": ""}
        for index, (name, status) in enumerate(zip(reached, statuses, strict=True), start=1)
    ]
