"""dbt Fusion (dbt v2), as a job's runs report it under `Emulator.set_engine("fusion")`: its version, the project's
checks, the statuses and fields of its results, and its console lines.

Sources: dbt's docs ("Project quality checks", "Check properties", "Views and columns reference"), dbt-fusion's
public source (crates/dbt-common: stats.rs, constants.rs, tracing/formatters; crates/dbt-schemas: run_results.rs,
manifest.rs; the check gate of its build task) and spec/dbt-cloud-api/NOTES.md. What none of them says is marked a
guess where it is made.
"""

from __future__ import annotations

from .project import PROJECT, Node, node_name
from .protocol import JsonDict

CORE, FUSION = "core", "fusion"
ENGINES = (CORE, FUSION)
# Fusion stamps its artifacts with its own package version (dbt-fusion's manifest.rs: CARGO_PKG_VERSION). This is the
# newest release dbt-core's CHANGELOG-fusion.md names (2026-08-28); which release a run reports is a guess.
FUSION_VERSION = "2.0.0-preview.219"

# The project's checks: SQL files under checks/, each named by its file and configured in checks/_checks.yml (dbt's
# "Project quality checks"). Which checks the project has is the emulator's own; the first is the one that fails a
# build whose run ends "check_error".
CHECKS = ("all_models_have_descriptions", "public_models_have_owners")
CHECK_PROPERTIES = "checks/_checks.yml"
# The model the failing check reports: a check's row names a resource by its unique_id (the docs' examples select
# `unique_id` from `info_schema('models')`).
VIOLATOR = f"model.{PROJECT}.stg_orders"
# A model a failing check kept from running (dbt-fusion's build task writes it so; the docs say the same).
BLOCKED = "skipped because a parse-time check failed"
# What state-aware orchestration says of a node it reused, and of one it built (dbt-fusion's
# format_node_description).
REUSED_MESSAGE = "No new changes on any upstreams"
NEW_CHANGES = "New changes detected"
# The message a result carries when nothing more specific is said (dbt-fusion's NodeStatus::default_message).
DEFAULT_MESSAGES = {"success": "Succeeded", "pass": "Pass", "skipped": "Skipped", "error": "Error"}
# Fusion's console verdicts, right-aligned to 10 characters (dbt-fusion's format_node_action, ACTION_WIDTH), with the
# colour it gives each.
ACTION_WIDTH = 10
NODE_TYPE_WIDTH = 5
VERDICTS = {
    "success": ("Succeeded", "\x1b[32m"),
    "pass": ("Passed", "\x1b[32m"),
    "reused": ("Reused", "\x1b[32m"),
    "fail": ("Failed", "\x1b[31m"),
    "error": ("Failed", "\x1b[31m"),
    "skipped": ("Skipped", "\x1b[33m"),
}
RESET = "\x1b[0m"
# A synthetic result's thread (a check's, or a blocked model's): a guess; dbt-fusion names its main thread "main"
# where it writes results for nodes no worker ran.
SYNTHETIC_THREAD = "main"


def check_id(name: str) -> str:
    """A check's unique_id, `check.<project>.<name>` (dbt's docs)."""
    return f"check.{PROJECT}.{name}"


def check_nodes() -> dict[str, JsonDict]:
    """The project's checks as manifest.json nodes.

    The docs say each check appears in manifest.json and list `checks` among the Information Schema's views that
    share the nodes' columns (unique_id, name, resource_type, package_name, original_file_path...). That they sit
    under `nodes`, with resource_type "check" (the node type Fusion prints for them), is a guess.
    """
    return {
        check_id(name): {
            "unique_id": check_id(name),
            "resource_type": "check",
            "package_name": PROJECT,
            "name": name,
            "depends_on": {"nodes": []},
            # As for any node: `path` within its resource path (check-paths), `original_file_path` within the project.
            "path": f"{name}.sql",
            "original_file_path": f"checks/{name}.sql",
            # dbt names a node's properties file in patch_path as `<package>://<path>`.
            "patch_path": f"{PROJECT}://{CHECK_PROPERTIES}",
        }
        for name in CHECKS
    }


def check_rows(blocked: bool) -> list[JsonDict]:
    """The checks' results in run_results.json: each passes, or (`blocked`) the first fails with one violation.

    dbt-fusion's build task writes them with RunResultOutput::synthetic(unique_id, status, message, violations): the
    message is the violating row in a compact `col=value` form, `failures` the violations. The other fields of a
    synthetic result (empty timing, no time, an empty adapter response) are a guess, and a passing check's
    `failures` of 0 too.
    """
    rows: list[JsonDict] = []
    for index, name in enumerate(CHECKS):
        failed = blocked and index == 0
        message = f"unique_id={VIOLATOR}" if failed else None
        rows.append(synthetic(check_id(name), "fail" if failed else "pass", message, failures=1 if failed else 0))
    return rows


def synthetic(unique_id: str, status: str, message: str | None, *, failures: int | None = None) -> JsonDict:
    """A result no worker ran (a check's, or a model's a failing check kept from running), in the field order of
    dbt-fusion's RunResultOutput, which leaves out whatever is None."""
    row: JsonDict = {
        "status": status,
        "timing": [],
        "thread_id": SYNTHETIC_THREAD,
        "execution_time": 0.0,
        "adapter_response": {},
    }
    if message is not None:
        row["message"] = message
    if failures is not None:
        row["failures"] = failures
    row["unique_id"] = unique_id
    return row


def check_failure() -> str:
    """The error line a failing check prints: Fusion's `[error] [<code name> (dbt<code>)]: ` prefix, then the
    build task's "check '<name>' failed with N violation(s)" and the violating row (dbt-fusion's check gate and
    format_log_message; CheckFailed is dbt1650 in the docs)."""
    return f"[error] [CheckFailed (dbt1650)]: check '{CHECKS[0]}' failed with 1 violation(s)\n  unique_id={VIOLATOR}"


def _duration(seconds: float) -> str:
    # dbt-fusion's format_duration_fixed_width: 7 characters, dashes for none; a skipped (or reused) node shows none.
    return "-------" if seconds <= 0 else f"{seconds:6.2f}s"


def _verdict(status: str) -> str:
    word, colour = VERDICTS[status]
    return f"{colour}{word.rjust(ACTION_WIDTH)}{RESET}"


def check_line(name: str, status: str, seconds: float) -> str:
    """A check's console line, in a test's shape (dbt-fusion's check gate): verdict, duration, `check`, name."""
    return f"{_verdict(status)} [{_duration(seconds)}] {'check'.ljust(NODE_TYPE_WIDTH)} {name}"


def node_line(node: Node, status: str, seconds: float, *, original_file_path: str, sao: bool) -> str:
    """A node's console line as Fusion prints it when the node is done (dbt-fusion's format_node_processed_end):
    `{verdict} [{duration}] {type} {schema}.{alias} ({materialization} - {description})`.

    A model shows its relation and `table`; a test its name alone. The description: SAO's words for a node it reused
    and a model it (`sao`) built, and for a test that did not pass, the file it is defined in (its line and column,
    which Fusion adds when it knows them, are left out here). Fusion also colours the relation; left plain here.
    """
    unique_id, kind, relation, _ = node
    shown = (relation or "").replace('"', "") if kind == "model" else node_name(unique_id)
    if status in ("skipped", "reused"):
        seconds = 0.0
    description: str | None = None
    if status == "reused":
        description = REUSED_MESSAGE
    elif kind == "model" and status == "success" and sao:
        description = NEW_CHANGES
    elif kind == "test" and status != "pass":
        description = original_file_path
    materialization = "table" if kind == "model" else None
    suffix = " (" + " - ".join(part for part in (materialization, description) if part) + ")"
    if materialization is None and description is None:
        suffix = ""
    return f"{_verdict(status)} [{_duration(seconds)}] {kind.ljust(NODE_TYPE_WIDTH)} {shown}{suffix}"


def state_decision_id(run_id: int, position: int) -> str:
    """The id of the decision state-aware orchestration made for a node.

    NOTES.md lists `state_decision_id` among the fields Fusion added to each result (November 2026); Fusion's public
    source seen names it only on its NodeEvaluated telemetry event. That it is on a run_results.json result, and its
    form (a UUID here), are guesses.
    """
    return f"00000000-0000-4000-9000-{run_id % 10**6:06d}{position:06d}"


def runs_checks(command: str) -> bool:
    """Whether a dbt command runs the project's checks: `dbt build` and `dbt check` do, no other (dbt's docs)."""
    words = [word for word in command.split()[1:] if not word.startswith("-")]
    return bool(words) and words[0] in ("build", "check")
