"""The emulated dbt project every run builds: its nodes, its package, and the errors a failing run reports."""

from __future__ import annotations

PROJECT = "emulated_project"
DBT_VERSION = "1.10.0"
ADAPTER = "postgres=1.9.0"
# (unique_id, resource type, relation, what the node depends on).
Node = tuple[str, str, str | None, tuple[str, ...]]
# The first model is the one that fails.
NODES: tuple[Node, ...] = (
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
# What the failing model reports, in run_results.json and in the step's logs alike.
NODE_ERROR = 'Database Error in model stg_orders\n  relation "raw.orders" does not exist'
PACKAGE, PACKAGE_VERSION = "dbt-labs/dbt_utils", "1.3.0"
# The package a run that fails in `dbt deps` asks for: a typo the package hub does not know.
MISSING_PACKAGE = "dbt-labs/dbt_utilz"
PACKAGE_ERROR = f"Package {MISSING_PACKAGE} was not found in the package index"


def node_statuses(failed: bool) -> dict[str, str]:
    """Each node's run_results status: with `failed`, the first model errors and whatever depends on it skips."""
    broken: set[str] = set()
    out: dict[str, str] = {}
    for unique_id, kind, _, parents in NODES:
        if failed and not broken:
            out[unique_id] = "error"
        elif broken.intersection(parents):
            out[unique_id] = "skipped"
        else:
            out[unique_id] = "success" if kind == "model" else "pass"
        if out[unique_id] in ("error", "skipped"):
            broken.add(unique_id)
    return out


def node_name(unique_id: str) -> str:
    """A node's short name, such as `stg_orders`."""
    return unique_id.split(".")[2]
