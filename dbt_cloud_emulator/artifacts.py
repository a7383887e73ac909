"""Small dbt artifacts for finished runs, whose node statuses follow the run's outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import fusion
from .fusion import BLOCKED, FUSION, FUSION_VERSION, REUSED_MESSAGE, check_nodes, check_rows, runs_checks, synthetic
from .project import (
    DBT_VERSION,
    DROPPED_NODE_ERROR,
    NODE_ERROR,
    PROJECT,
    Node,
    command_statuses,
    dropped_error,
    failed_test_message,
    failing_rows,
    generic_test_fields,
    model_error,
    node_name,
    node_paths,
    project_nodes,
)
from .protocol import JsonDict
from .state import ERROR, SUCCESS, Run
from .steps import DOCS_COMMAND, SETUP_STEPS, blocked_by_check, command_nodes, failed_step, step_names


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


BUILD_ARTIFACTS = ("manifest.json", "run_results.json")


def _step_kind(run: Run, step: int | None) -> str | None:
    """ "docs", "command", or None for a step with no artifacts (or no such step); the last step by default."""
    names = step_names(run)
    index = len(names) if step is None else step
    if not 1 <= index <= len(names) or index <= len(SETUP_STEPS):
        return None
    return "docs" if names[index - 1].endswith(f"`{DOCS_COMMAND}`") else "command"


def names(run: Run, step: int | None = None) -> list[str]:
    """Artifact paths a run's step has (the last step by default): none until it ends, none if `dbt deps` failed,
    none for a command that could not connect to its database, and none the run did not produce
    (Emulator.set_artifacts_missing)."""
    if run.status not in (SUCCESS, ERROR) or run.outcome == "deps_error":
        return []
    kind = _step_kind(run, step)
    if kind is None:
        return []
    if run.outcome == "connect_error" and (len(step_names(run)) if step is None else step) == failed_step(run):
        # The command failed as it first connected, before any node ran: no run_results.json (dbt-core writes it only
        # once the task returns), so there is nothing to retry from. A guess, the harsher case: no manifest.json
        # either, though dbt writes one as it parses, before it connects. The step answers 404 as any step without
        # artifacts does.
        return []
    found = ["catalog.json", *BUILD_ARTIFACTS] if kind == "docs" else list(BUILD_ARTIFACTS)
    return [path for path in found if path not in run.missing]


def run_results(run: Run, step: int | None = None) -> JsonDict:
    """A run_results.json (schema v6) of a step (the last by default); `dbt docs generate` compiles and runs nothing."""
    assert run.started_at is not None
    assert run.finished_at is not None
    docs = _step_kind(run, step) == "docs"
    at = len(step_names(run)) if step is None else step
    command = DOCS_COMMAND if docs else run.commands[at - len(SETUP_STEPS) - 1]
    # A dbt command's results are those of the nodes it ran (the job's selection, for build, run and test);
    # `dbt docs generate` compiles every node of the project.
    nodes = project_nodes(run.selected) if docs else command_nodes(run, command)
    failed = not docs and at == failed_step(run)
    blocked = failed and blocked_by_check(run, command, run.outcome)
    dropped = failed and run.outcome == "transient_error"
    if docs:
        statuses = {unique_id: "success" for unique_id, *_ in nodes}
    else:
        statuses = command_statuses(
            nodes, failed=failed, failing=run.failing, reused=run.reused, blocked=blocked, dropped=dropped
        )
    fusion_run = run.engine == FUSION
    detailed = run.failing is not None or fusion_run
    ran = _results(run, nodes, statuses, docs=docs, detailed=detailed, dropped=dropped)
    if fusion_run:
        results = [_fusion_result(run, node, result, index) for index, (node, result) in enumerate(ran)]
    else:
        results = [result for _, result in ran]
    if blocked:
        # dbt Fusion's build task: the checks' rows, then every node the failing check kept from running.
        results = [*check_rows(True), *(synthetic(node[0], "skipped", BLOCKED) for node in nodes)]
    elif fusion_run and runs_checks(command):
        # Checks are not tasks: Fusion adds their rows after the nodes' (its build task).
        results += check_rows(False)
    which = "generate" if docs else "build"
    metadata: JsonDict = {
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
        "dbt_version": FUSION_VERSION if fusion_run else DBT_VERSION,
        "generated_at": _stamp(run.finished_at),
        "invocation_id": f"00000000-0000-4000-8000-{run.id:012d}",
    }
    if fusion_run:
        # dbt-fusion's RunResultsMetadata has when the invocation started; which schema version Fusion names is a
        # guess (dbt Core's).
        metadata["invocation_started_at"] = _stamp(run.started_at)
    metadata["env"] = {"DBT_CLOUD_RUN_ID": str(run.id), "DBT_CLOUD_JOB_ID": str(run.job_id)}
    return {
        "metadata": metadata,
        "results": results,
        "elapsed_time": round(run.finished_at - run.started_at, 6),
        # dbt-fusion's RunResultsArgs names the command as well as `which`.
        "args": {"command": which, "which": which, "target": "default"}
        if fusion_run
        else {"which": which, "target": "default"},
    }


def _results(
    run: Run, nodes: tuple[Node, ...], statuses: dict[str, str], *, docs: bool, detailed: bool, dropped: bool = False
) -> list[tuple[Node, JsonDict]]:
    """Each node's result as dbt Core writes it; `detailed`, with each failure in dbt's own words (else the default
    failure's shorter wording, NODE_ERROR); `dropped`, every error a lost connection's (dropped_error, or its shorter
    DROPPED_NODE_ERROR)."""
    assert run.started_at is not None
    assert run.finished_at is not None
    step_seconds = (run.finished_at - run.started_at) / len(nodes)
    results: list[tuple[Node, JsonDict]] = []
    for index, node in enumerate(nodes):
        unique_id, _, relation, _ = node
        status = statuses[unique_id]
        begin = run.started_at + index * step_seconds
        # docs generate only compiles: its execute phase is empty.
        ran = 0.0 if docs else step_seconds * 3 / 4
        result: JsonDict = {
            "status": status,
            "timing": [
                {"name": "compile", "started_at": _stamp(begin), "completed_at": _stamp(begin + step_seconds / 4)},
                {
                    "name": "execute",
                    "started_at": _stamp(begin + step_seconds / 4),
                    "completed_at": _stamp(begin + step_seconds / 4 + ran),
                },
            ],
            "thread_id": f"Thread-{index % 4 + 1}",
            "execution_time": round(step_seconds / 4 + ran, 6),
            "adapter_response": {} if status == "skipped" or docs else {"_message": "SUCCESS 1", "rows_affected": 1},
            "message": None if docs else _message(status),
            "failures": 0 if status in ("pass", "success") else None,
            "unique_id": unique_id,
            "compiled": status != "skipped",
            "relation_name": relation,
        }
        results.append((node, result))
        if status == "error" and dropped:
            # dbt-core's error_result: the exception's words, and no adapter response.
            result.update(message=dropped_error(node) if detailed else DROPPED_NODE_ERROR, adapter_response={})
            continue
        if not detailed:
            continue
        if status == "error":
            # dbt-core's error_result: the exception's words, and no adapter response.
            result.update(message=model_error(node), adapter_response={})
        elif status == "fail":
            rows = failing_rows(index)
            result.update(message=failed_test_message(rows), failures=rows)
    return results


def _message(status: str) -> str | None:
    return {
        "success": "SUCCESS 1",
        "pass": None,
        "error": NODE_ERROR,
        "fail": None,
        "skipped": None,
        "reused": REUSED_MESSAGE,
    }[status]


def _fusion_result(run: Run, node: Node, core: JsonDict, position: int) -> JsonDict:
    """A node's result as dbt Fusion writes it, from dbt Core's: the fields of dbt-fusion's RunResultOutput in its
    order, leaving out whatever is None (`compiled` is never set), and a message always (its default_message)."""
    status = core["status"]
    result: JsonDict = {key: core[key] for key in ("status", "timing", "thread_id", "execution_time")}
    result["adapter_response"] = {} if status == "reused" else core["adapter_response"]
    default = fusion.DEFAULT_MESSAGES.get(status)
    result["message"] = core["message"] if status in ("error", "fail", "reused") else default
    if node[1] == "test" and status in ("pass", "fail"):
        # A guess: only a test's result counts failing rows.
        result["failures"] = core["failures"]
    result["unique_id"] = core["unique_id"]
    if core["relation_name"] is not None:
        result["relation_name"] = core["relation_name"]
    result["state_decision_id"] = fusion.state_decision_id(run.id, position)
    return result


def manifest(run: Run, least_bytes: int = 0) -> JsonDict:
    """A manifest.json with just the nodes, their files and their edges; on dbt Fusion, with the project's checks;
    with `least_bytes`, one package macro long enough that the file is at least that long."""
    nodes: dict[str, Any] = {node[0]: _manifest_node(node) for node in project_nodes(run.selected)}
    fusion_run = run.engine == FUSION
    metadata: JsonDict = {
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
        "dbt_version": FUSION_VERSION if fusion_run else DBT_VERSION,
        "generated_at": _stamp(run.finished_at or run.created_at),
    }
    if fusion_run:
        # dbt-fusion's manifest.rs writes when the invocation started.
        metadata["invocation_started_at"] = _stamp(run.started_at or run.created_at)
        # Checks do not appear in the model DAG (dbt's docs), so parent_map leaves them out.
        nodes.update(check_nodes())
    metadata["project_name"] = PROJECT
    return {
        "metadata": metadata,
        "nodes": nodes,
        "sources": {},
        "macros": _package_macros(least_bytes),
        "parent_map": {uid: list(parents) for uid, _, _, parents in project_nodes(run.selected)},
    }


def _package_macros(least_bytes: int) -> JsonDict:
    """Macros that make a manifest at least `least_bytes` long. A large project's manifest.json runs to tens of MB,
    past Snowflake's 16 MB for one value (dbt-core issue #5461), most of it the SQL of nodes and packages' macros."""
    if not least_bytes:
        return {}
    uid = "macro.dbt_utils.padding"
    return {uid: {"unique_id": uid, "macro_sql": "-" * least_bytes}}


def _manifest_node(node: Node) -> JsonDict:
    """A node as manifest v12 has it, with only the fields the emulator models: its name and type, its files (which
    an annotation on a pull request's diff needs), its edges and, for a generic test, what it tests."""
    unique_id, kind, _, parents = node
    path, original = node_paths(node)
    found: JsonDict = {
        "unique_id": unique_id,
        "resource_type": kind,
        "package_name": PROJECT,
        "name": node_name(unique_id),
        "depends_on": {"nodes": list(parents)},
        "path": path,
        "original_file_path": original,
    }
    if kind == "test":
        found.update(generic_test_fields(node))
    return found


def catalog(run: Run) -> JsonDict:
    """A catalog.json listing the models' tables."""
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
            "dbt_version": FUSION_VERSION if run.engine == FUSION else DBT_VERSION,
            "generated_at": _stamp(run.finished_at or run.created_at),
        },
        "nodes": {
            uid: {"unique_id": uid, "columns": {}} for uid, kind, _, _ in project_nodes(run.selected) if kind == "model"
        },
        "sources": {},
        "errors": None,
    }


def document(run: Run, path: str, step: int | None = None, *, manifest_bytes: int = 0) -> JsonDict | None:
    """The artifact at `path` of a run's step (the last by default), or None when that step has no such artifact; a
    manifest.json at least `manifest_bytes` long."""
    if path not in names(run, step):
        return None
    if path == "run_results.json":
        return run_results(run, step)
    return manifest(run, manifest_bytes) if path == "manifest.json" else catalog(run)
