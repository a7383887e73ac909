"""Small dbt artifacts for finished runs, whose node statuses follow the run's outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .project import DBT_VERSION, NODE_ERROR, PROJECT, node_name, node_statuses, project_nodes
from .protocol import JsonDict
from .state import ERROR, SUCCESS, Run
from .steps import DOCS_COMMAND, SETUP_STEPS, command_nodes, failed_step, step_names


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
    """Artifact paths a run's step has (the last step by default): none until it ends, none if `dbt deps` failed."""
    if run.status not in (SUCCESS, ERROR) or run.outcome == "deps_error":
        return []
    kind = _step_kind(run, step)
    if kind is None:
        return []
    return ["catalog.json", *BUILD_ARTIFACTS] if kind == "docs" else list(BUILD_ARTIFACTS)


def run_results(run: Run, step: int | None = None) -> JsonDict:
    """A run_results.json (schema v6) of a step (the last by default); `dbt docs generate` compiles and runs nothing."""
    assert run.started_at is not None
    assert run.finished_at is not None
    docs = _step_kind(run, step) == "docs"
    at = len(step_names(run)) if step is None else step
    # A dbt command's results are those of the nodes it ran (the job's selection, for build, run and test);
    # `dbt docs generate` compiles every node of the project.
    nodes = project_nodes(run.selected) if docs else command_nodes(run, run.commands[at - len(SETUP_STEPS) - 1])
    if docs:
        statuses = {unique_id: "success" for unique_id, *_ in nodes}
    else:
        statuses = node_statuses(at == failed_step(run), nodes)
    step_seconds = (run.finished_at - run.started_at) / len(nodes)
    results: list[JsonDict] = []
    for index, (unique_id, _, relation, _) in enumerate(nodes):
        status = statuses[unique_id]
        begin = run.started_at + index * step_seconds
        # docs generate only compiles: its execute phase is empty.
        ran = 0.0 if docs else step_seconds * 3 / 4
        results.append(
            {
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
                "adapter_response": {}
                if status == "skipped" or docs
                else {"_message": "SUCCESS 1", "rows_affected": 1},
                "message": None if docs else _message(status),
                "failures": 0 if status in ("pass", "success") else None,
                "unique_id": unique_id,
                "compiled": status != "skipped",
                "relation_name": relation,
            }
        )
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": DBT_VERSION,
            "generated_at": _stamp(run.finished_at),
            "invocation_id": f"00000000-0000-4000-8000-{run.id:012d}",
            "env": {"DBT_CLOUD_RUN_ID": str(run.id), "DBT_CLOUD_JOB_ID": str(run.job_id)},
        },
        "results": results,
        "elapsed_time": round(run.finished_at - run.started_at, 6),
        "args": {"which": "generate" if docs else "build", "target": "default"},
    }


def _message(status: str) -> str | None:
    return {
        "success": "SUCCESS 1",
        "pass": None,
        "error": NODE_ERROR,
        "skipped": None,
    }[status]


def manifest(run: Run) -> JsonDict:
    """A manifest.json with just the nodes and their edges."""
    nodes: dict[str, Any] = {
        unique_id: {
            "unique_id": unique_id,
            "resource_type": kind,
            "package_name": PROJECT,
            "name": node_name(unique_id),
            "depends_on": {"nodes": list(parents)},
        }
        for unique_id, kind, _, parents in project_nodes(run.selected)
    }
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": DBT_VERSION,
            "generated_at": _stamp(run.finished_at or run.created_at),
            "project_name": PROJECT,
        },
        "nodes": nodes,
        "sources": {},
        "macros": {},
        "parent_map": {uid: list(parents) for uid, _, _, parents in project_nodes(run.selected)},
    }


def catalog(run: Run) -> JsonDict:
    """A catalog.json listing the models' tables."""
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
            "dbt_version": DBT_VERSION,
            "generated_at": _stamp(run.finished_at or run.created_at),
        },
        "nodes": {
            uid: {"unique_id": uid, "columns": {}} for uid, kind, _, _ in project_nodes(run.selected) if kind == "model"
        },
        "sources": {},
        "errors": None,
    }


def document(run: Run, path: str, step: int | None = None) -> JsonDict | None:
    """The artifact at `path` of a run's step (the last by default), or None when that step has no such artifact."""
    if path not in names(run, step):
        return None
    if path == "run_results.json":
        return run_results(run, step)
    return manifest(run) if path == "manifest.json" else catalog(run)
