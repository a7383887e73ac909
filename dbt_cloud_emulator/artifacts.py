"""Small dbt artifacts for finished runs, whose node statuses follow the run's outcome."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .protocol import JsonDict
from .state import ERROR, SUCCESS, Run
from .steps import DOCS_COMMAND, SETUP_STEPS, step_names

PROJECT = "emulated_project"
DBT_VERSION = "1.10.0"
# (unique_id, resource type, relation, what the node depends on); the first model is the one that fails.
NODES: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    ("model.emulated_project.stg_orders", "model", '"analytics"."stg_orders"', ()),
    ("model.emulated_project.stg_customers", "model", '"analytics"."stg_customers"', ()),
    (
        "model.emulated_project.orders",
        "model",
        '"analytics"."orders"',
        ("model.emulated_project.stg_orders", "model.emulated_project.stg_customers"),
    ),
    ("test.emulated_project.unique_orders_order_id.1a2b3c", "test", None, ("model.emulated_project.orders",)),
    ("test.emulated_project.not_null_customers_id.4d5e6f", "test", None, ("model.emulated_project.stg_customers",)),
)


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
    """Artifact paths a run's step has (the last step by default): none until the run ends in success or error."""
    if run.status not in (SUCCESS, ERROR):
        return []
    kind = _step_kind(run, step)
    if kind is None:
        return []
    return ["catalog.json", *BUILD_ARTIFACTS] if kind == "docs" else list(BUILD_ARTIFACTS)


def _statuses(run: Run) -> dict[str, str]:
    failed: set[str] = set()
    out: dict[str, str] = {}
    for unique_id, kind, _, parents in NODES:
        if run.status == ERROR and not failed:
            out[unique_id] = "error"
        elif failed.intersection(parents):
            out[unique_id] = "skipped"
        else:
            out[unique_id] = "success" if kind == "model" else "pass"
        if out[unique_id] in ("error", "skipped"):
            failed.add(unique_id)
    return out


def run_results(run: Run, *, docs: bool = False) -> JsonDict:
    """A run_results.json (schema v6) for the run's dbt command; for its `dbt docs generate` step, every node
    compiled and nothing run, whatever the build did."""
    assert run.started_at is not None
    assert run.finished_at is not None
    step = (run.finished_at - run.started_at) / len(NODES)
    statuses = {unique_id: "success" for unique_id, *_ in NODES} if docs else _statuses(run)
    results: list[JsonDict] = []
    for index, (unique_id, _, relation, _) in enumerate(NODES):
        status = statuses[unique_id]
        begin = run.started_at + index * step
        # docs generate only compiles: its execute phase is empty.
        ran = 0.0 if docs else step * 3 / 4
        results.append(
            {
                "status": status,
                "timing": [
                    {"name": "compile", "started_at": _stamp(begin), "completed_at": _stamp(begin + step / 4)},
                    {
                        "name": "execute",
                        "started_at": _stamp(begin + step / 4),
                        "completed_at": _stamp(begin + step / 4 + ran),
                    },
                ],
                "thread_id": f"Thread-{index % 4 + 1}",
                "execution_time": round(step / 4 + ran, 6),
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
        "error": 'Database Error in model stg_orders\n  relation "raw.orders" does not exist',
        "skipped": None,
    }[status]


def manifest(run: Run) -> JsonDict:
    """A manifest.json with just the nodes and their edges."""
    nodes: dict[str, Any] = {
        unique_id: {
            "unique_id": unique_id,
            "resource_type": kind,
            "package_name": PROJECT,
            "name": unique_id.split(".")[2],
            "depends_on": {"nodes": list(parents)},
        }
        for unique_id, kind, _, parents in NODES
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
        "parent_map": {uid: list(parents) for uid, _, _, parents in NODES},
    }


def catalog(run: Run) -> JsonDict:
    """A catalog.json listing the models' tables."""
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json",
            "dbt_version": DBT_VERSION,
            "generated_at": _stamp(run.finished_at or run.created_at),
        },
        "nodes": {uid: {"unique_id": uid, "columns": {}} for uid, kind, _, _ in NODES if kind == "model"},
        "sources": {},
        "errors": None,
    }


def document(run: Run, path: str, step: int | None = None) -> JsonDict | None:
    """The artifact at `path` of a run's step (the last by default), or None when that step has no such artifact."""
    if path not in names(run, step):
        return None
    if path == "run_results.json":
        return run_results(run, docs=_step_kind(run, step) == "docs")
    return manifest(run) if path == "manifest.json" else catalog(run)
