"""The text of a run step's logs as dbt Cloud shows it: console lines with ANSI colour codes, and debug lines."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from . import fusion
from .fusion import CHECKS, FUSION, FUSION_VERSION, runs_checks
from .project import (
    ADAPTER,
    CONNECT_ERROR,
    DBT_VERSION,
    DROPPED_NODE_ERROR,
    NODE_ERROR,
    NODES,
    PACKAGE,
    PACKAGE_ERROR,
    PACKAGE_VERSION,
    PROJECT,
    Node,
    command_statuses,
    dropped_error,
    failed_test_message,
    failing_rows,
    model_error,
    node_name,
    node_paths,
    project_nodes,
)
from .protocol import JsonDict
from .state import Run

RESET, RED, GREEN, YELLOW = "\x1b[0m", "\x1b[31m", "\x1b[32m", "\x1b[33m"
# dbt pads a node's line with dots to this width before its status.
WIDTH = 80
TRUNCATED_LINES = 1000
THREADS = 4
REGISTRY = "https://hub.getdbt.com/api/v1/index.json"


@dataclass(frozen=True)
class Line:
    """One log event at an emulated time; `console` lines are in `logs`, and every line is in `debug_logs`."""

    at: float
    message: str
    level: str = "info"
    thread: str = "MainThread"
    console: bool = True


@dataclass
class Script:
    """A step's lines: those printed as it works, then those printed as it ends."""

    body: list[Line] = field(default_factory=list)
    tail: list[Line] = field(default_factory=list)


def render(script: Script, *, until: float | None = None, cancelled: str | None = None) -> JsonDict:
    """A step's logs: whole once it ended (`until` None), else the lines printed by `until` (and why it stopped)."""
    if until is None:
        lines = [*script.body, *script.tail]
    else:
        lines = [line for line in script.body if line.at <= until]
        if cancelled is not None:
            lines.append(Line(until, f"{YELLOW}Step cancelled{RESET}: {cancelled}", "warn"))
    debug = "\n".join(_debug(line) for line in lines)
    rows = debug.split("\n")
    return {
        "logs": "\n".join(_console(line) for line in lines if line.console),
        "debug_logs": debug,
        "truncated_debug_logs": debug if len(rows) <= TRUNCATED_LINES else "\n".join(rows[-TRUNCATED_LINES:]),
    }


def _console(line: Line) -> str:
    # NOTES.md: live step logs carry many lines that hold only a timestamp (`10:38:49`): a blank message is one.
    if not line.message:
        return f"{RESET}{_hms(line.at)}"
    return f"{RESET}{_hms(line.at)}  {line.message}"


def _hms(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at))


def _debug(line: Line) -> str:
    micros = int(line.at * 1_000_000) % 1_000_000
    return f"{RESET}{_hms(line.at)}.{micros:06d} [{line.level:<5}] [{line.thread}]: {line.message}"


def _at(start: float, end: float, share: float) -> float:
    return start + (end - start) * share


def _home(run: Run) -> str:
    return f"/tmp/jobs/{run.id}"  # noqa: S108 - a path printed in the logs, never opened


def _threads(run: Run) -> int:
    return int(run.trigger.get("threads_override") or THREADS)


def _version(run: Run) -> str:
    if run.engine == FUSION:
        return FUSION_VERSION
    return run.dbt_version if run.dbt_version[:1].isdigit() else DBT_VERSION


def _running(run: Run, at: float) -> Line:
    return Line(at, f"Running with dbt={_version(run)}")


def clone(run: Run, start: float, end: float) -> Script:
    """Cloning the repository and checking out the run's commit."""
    sha, branch = run.git_sha or "", run.git_branch or "main"
    return Script(
        [
            Line(start, f"Cloning into '{_home(run)}/target'..."),
            Line(start, f"git clone git@github.com:emulated/{PROJECT}.git", "debug", console=False),
            Line(_at(start, end, 0.5), f"Checking out commit {sha} on branch {branch}"),
        ],
        [Line(end, f"HEAD is now at {sha[:7]}; repository cloned.")],
    )


def profile(run: Run, start: float, end: float) -> Script:
    """Writing the profile from the environment's connection."""
    path = f"{_home(run)}/.dbt/profiles.yml"
    return Script(
        [Line(start, f"Writing profile for target 'default' (postgres, {_threads(run)} threads) to {path}")],
        [Line(end, "Profile written.")],
    )


def deps(run: Run, start: float, end: float, *, failed: bool) -> Script:
    """`dbt deps`: installing the project's package, or failing on a package the hub does not have."""
    body = [
        _running(run, start),
        Line(start, ""),
        Line(start, f"Making package index registry request: GET {REGISTRY}", "debug", console=False),
        Line(_at(start, end, 0.2), f"Response from registry index: GET {REGISTRY} 200", "debug", console=False),
    ]
    if failed:
        return Script(body, [Line(end, f"Encountered an error:\n{PACKAGE_ERROR}", "error")])
    body += [
        Line(_at(start, end, 0.3), f"Updating lock file in file path: {_home(run)}/target/package-lock.yml"),
        Line(_at(start, end, 0.5), f"Installing {PACKAGE}"),
        Line(_at(start, end, 0.8), f"Installed from version {PACKAGE_VERSION}"),
    ]
    return Script(body, [Line(end, f"{GREEN}Up to date!{RESET}")])


def _opening(run: Run, at: float, command: str) -> list[Line]:
    # dbt's `Found` counts the project's nodes, not the command's selection (dbt-core's compilation.py: the stats
    # of the whole manifest).
    kinds = Counter(kind for _, kind, _, _ in project_nodes(run.selected))
    arguments = f"{{'printer_width': '{WIDTH}', 'invocation_command': {command!r}, 'use_colors': 'True'}}"
    return [
        _running(run, at),
        Line(at, f"running dbt with arguments {arguments}", "debug", console=False),
        Line(at, f"Registered adapter: {ADAPTER}"),
        Line(at, f"Found {kinds['model']} models, {kinds['test']} data tests, 527 macros"),
        Line(at, ""),
        Line(at, f"Concurrency: {_threads(run)} threads (target='default')"),
        Line(at, ""),
    ]


def command(
    run: Run,
    command: str,
    start: float,
    end: float,
    *,
    failed: bool,
    padding: int,
    nodes: tuple[Node, ...] = NODES,
    until: float | None = None,
    blocked: bool = False,
    dropped: bool = False,
    refused: bool = False,
) -> Script:
    """A dbt command building `nodes` (the project's own by default) one after another, then `padding` debug lines,
    then its summary; with `until`, a node not started by then is left out, as `render(until=...)` would drop it.

    On dbt Fusion a `dbt build` runs the project's checks first, and a failing one (`blocked`) stops it before any
    model runs. A run with failing nodes (Emulator.set_failing_nodes) or on Fusion lists each failure in the summary,
    in dbt's words. With `dropped`, every failing node lost its database connection; with `refused`, the command
    could not connect at all and stops before any node runs."""
    if refused:
        return _refused(run, command, start, end)
    # A guess: on Fusion the opening and summary lines stay dbt Core's, as Fusion's own are not modelled.
    body = _opening(run, start, command)
    checked = run.engine == FUSION and runs_checks(command)
    if checked:
        body += _checks(start, end, blocked)
    statuses = command_statuses(
        nodes, failed=failed, failing=run.failing, reused=run.reused, blocked=blocked, dropped=dropped
    )
    slot = (end - start) * 0.8 / len(nodes)
    for position, node in enumerate([] if blocked else nodes):
        begin = _at(start, end, 0.05) + position * slot
        if until is not None and begin > until:
            break
        window = (begin, begin + slot * 0.9)
        if run.engine == FUSION:
            body += _fusion_node(position, node, statuses[node[0]], window, sao=run.reused > 0)
        else:
            body += _node(position, len(nodes), node, statuses[node[0]], window)
    # A bare timestamp line between the nodes and what follows, as between the phases of a live log.
    body.append(Line(_at(start, end, 0.85), ""))
    body += _padding(run, padding, _at(start, end, 0.85), _at(start, end, 0.95))
    detailed = failed and (run.failing is not None or run.engine == FUSION)
    failures = _failures(nodes, statuses, blocked, dropped=dropped) if detailed else None
    if failed and dropped and failures is None:
        failures = [[f"  {DROPPED_NODE_ERROR}"]]
    checks = (len(CHECKS) - blocked, int(blocked)) if checked else (0, 0)
    summary = _summary(statuses, nodes, end - start, failed, failures=failures, checks=checks)
    return Script(body, [Line(end, text) for text in summary])


def _refused(run: Run, command: str, start: float, end: float) -> Script:
    """A dbt command whose database refuses the connection: dbt starts, parses the project, then fails as it first
    connects, before its concurrency line and any node (dbt-core's RunnableTask runs before_run, which fills the
    adapter's cache over a connection, before execute_nodes prints `Concurrency:`); dbt's CLI then prints the error
    under `Encountered an error:` (its MainEncounteredError). Nothing ran, so it writes no run_results.json. A guess:
    a run on dbt Fusion says the same, as its other opening and summary lines are dbt Core's here."""
    opening = _opening(run, start, command)[:-3]  # up to `Found ...`, without the concurrency lines
    return Script(
        [*opening, Line(start, "")],
        [Line(end, f"Encountered an error:\n{CONNECT_ERROR}", "error")],
    )


def _checks(start: float, end: float, blocked: bool) -> list[Line]:
    # Fusion runs a build's checks at parse time, before any model compiles (dbt's "Project quality checks").
    at = _at(start, end, 0.02)
    seconds = (end - start) * 0.01
    lines = [
        Line(at, fusion.check_line(name, "fail" if blocked and index == 0 else "pass", seconds))
        for index, name in enumerate(CHECKS)
    ]
    if blocked:
        lines.append(Line(at, fusion.check_failure(), "error"))
    return lines


def _fusion_node(position: int, node: Node, status: str, window: tuple[float, float], *, sao: bool) -> list[Line]:
    # Fusion prints one line per node as it is done (dbt-fusion's format_node_processed_end), with no `k of M`; its
    # debug lines are not modelled, so a node keeps dbt Core's (a guess).
    unique_id = node[0]
    begin, end = window
    thread = f"Thread-{position % THREADS + 1} (worker)"
    _, original = node_paths(node)
    shown = fusion.node_line(node, status, end - begin, original_file_path=original, sao=sao)
    level = "error" if status in ("error", "fail") else "info"
    return [
        Line(begin, f"Began running node {unique_id}", "debug", thread, console=False),
        Line(begin if status in ("skipped", "reused") else end, shown, level, thread),
        Line(end, f"Finished running node {unique_id}", "debug", thread, console=False),
    ]


def _failures(
    nodes: tuple[Node, ...], statuses: dict[str, str], blocked: bool, *, dropped: bool = False
) -> list[list[str]]:
    """What the summary says of each failure, in dbt-core's words (print_run_result_error): an errored node's message
    (a model's, or a test's whose connection was `dropped`), or a failing test's "Failure in test <name> (<file>)",
    its message and where its compiled code is."""
    if blocked:
        return [[fusion.check_failure()]]
    found: list[list[str]] = []
    for position, node in enumerate(nodes):
        status = statuses[node[0]]
        if status == "error":
            found.append([f"  {dropped_error(node) if dropped else model_error(node)}"])
        elif status == "fail":
            name = node_name(node[0])
            _, original = node_paths(node)
            found.append(
                [
                    f"Failure in test {name} ({original})",
                    f"  {failed_test_message(failing_rows(position))}",
                    "",
                    f"  compiled code at target/compiled/{PROJECT}/{original}/{name}.sql",
                ]
            )
    return found


def _fancy(message: str, status: str, seconds: float | None = None) -> str:
    timed = f"[{status}]" if seconds is None else f"[{status} in {seconds:0.2f}s]"
    return f"{f'{message} '.ljust(WIDTH, '.')} {timed}"


def _node(position: int, total: int, node: Node, status: str, window: tuple[float, float]) -> list[Line]:
    unique_id, kind, relation, _ = node
    begin, end = window
    # dbt numbers each node among the nodes the command selected (dbt-core's `num_nodes`, task/runnable.py) and
    # prints `{index} of {total} ` before the message (events/format.py, format_fancy_output_line).
    number = f"{position + 1} of {total}"
    name = node_name(unique_id)
    thread = f"Thread-{position % THREADS + 1} (worker)"
    shown = (relation or name).replace('"', "")
    if status == "skipped":
        # As dbt does: a node it skips gets no START line, only the SKIP.
        what = f"relation {shown}" if kind == "model" else f"test {name}"
        return [Line(begin, _fancy(f"{number} SKIP {what}", f"{YELLOW}SKIP{RESET}"), thread=thread)]
    label = f"sql table model {shown}" if kind == "model" else f"test {name}"
    seconds = end - begin
    if status == "error" and kind == "test":
        # dbt-core's LogTestResult: `ERROR <name>`, for a test that could not run its query (a dropped connection).
        result = Line(end, _fancy(f"{number} ERROR {name}", f"{RED}ERROR{RESET}", seconds), "error", thread)
    elif status == "error":
        result = Line(end, _fancy(f"{number} ERROR creating {label}", f"{RED}ERROR{RESET}", seconds), "error", thread)
    elif status == "fail":
        # dbt-core's LogTestResult: `FAIL <failures> <name>`, at the error level.
        rows = failing_rows(position)
        result = Line(end, _fancy(f"{number} FAIL {rows} {name}", f"{RED}FAIL {rows}{RESET}", seconds), "error", thread)
    elif kind == "model":
        result = Line(end, _fancy(f"{number} OK created {label}", f"{GREEN}SUCCESS 1{RESET}", seconds), thread=thread)
    else:
        result = Line(end, _fancy(f"{number} PASS {name}", f"{GREEN}PASS{RESET}", seconds), thread=thread)
    return [
        Line(begin, f"Began running node {unique_id}", "debug", thread, console=False),
        Line(begin, _fancy(f"{number} START {label}", "RUN"), thread=thread),
        result,
        Line(end, f"Finished running node {unique_id}", "debug", thread, console=False),
    ]


def _padding(run: Run, count: int, start: float, end: float) -> list[Line]:
    every = (end - start) / count if count else 0.0
    version = _version(run)
    models = [(unique_id, relation) for unique_id, kind, relation, _ in NODES if kind == "model"]
    lines: list[Line] = []
    for k in range(count):
        unique_id, relation = models[k % len(models)]
        kind = k % 4
        if kind == 0:
            message = f'Using postgres connection "{unique_id}"'
        elif kind == 1:
            comment = f'/* {{"app": "dbt", "dbt_version": "{version}", "node_id": "{unique_id}"}} */'
            message = f"On {unique_id}: {comment} select count(*) from {relation}"  # noqa: S608 - text, never run
        elif kind == 2:
            message = f"SQL status: SELECT {k % 997 + 1} in 0.{k % 89 + 10:03d} seconds"
        else:
            message = f"On {unique_id}: Close"
        # Debug lines, yet in `logs` too: what a job run with `--debug` prints.
        lines.append(Line(start + k * every, message, "debug", f"Thread-{k % THREADS + 1} (worker)"))
    return lines


def _summary(
    statuses: dict[str, str],
    nodes: tuple[Node, ...],
    seconds: float,
    failed: bool,
    *,
    failures: list[list[str]] | None = None,
    checks: tuple[int, int] = (0, 0),
) -> list[str]:
    """The lines that end a dbt command; `failures` lists each failure's lines (None: today's one model's error),
    `checks` how many of Fusion's checks passed and failed."""
    counts = Counter(statuses.values())
    kinds = Counter(kind for _, kind, _, _ in nodes)
    # dbt-core counts a failed test as an error in its summary; Fusion reports a reused node as skipped (its
    # NodeStatus to NodeOutcome).
    errors = counts["error"] + counts["fail"] + checks[1]
    hours, rest = divmod(seconds, 3600)
    took = f"{int(hours)} hours {int(rest // 60)} minutes and {rest % 60:0.2f} seconds ({seconds:0.2f}s)"
    lines = ["", f"Finished running {kinds['model']} table models, {kinds['test']} data tests in {took}.", ""]
    if failed:
        plural = "" if errors == 1 else "s"
        lines += [f"{RED}Completed with {errors} error{plural}, 0 partial successes, and 0 warnings:{RESET}", ""]
        for failure in failures if failures is not None else [[f"  {NODE_ERROR}"]]:
            lines += [*failure, ""]
    else:
        lines += [f"{GREEN}Completed successfully{RESET}", ""]
    passed = counts["success"] + counts["pass"] + checks[0]
    skipped = counts["skipped"] + counts["reused"]
    total = len(statuses) + sum(checks)
    done = f"Done. PASS={passed} WARN=0 ERROR={errors} SKIP={skipped} NO-OP=0 TOTAL={total}"
    return [*lines, done]


def docs(run: Run, start: float, end: float) -> Script:
    """`dbt docs generate`: compiling the project and writing the catalog."""
    return Script(
        [*_opening(run, start, "dbt docs generate"), Line(_at(start, end, 0.5), "Building catalog")],
        [Line(end, f"Catalog written to {_home(run)}/target/catalog.json")],
    )
