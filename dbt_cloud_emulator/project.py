"""The emulated dbt project every run builds: its nodes, its package, and the errors a failing run reports."""

from __future__ import annotations

from functools import lru_cache

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


# The dbt commands whose nodes a job's selection sets (Emulator.set_selected_nodes); any other command, such as
# `dbt seed`, keeps the project's own nodes.
SELECTING_COMMANDS = frozenset({"build", "run", "test"})
# The emulator's own bound on a selection, not dbt's: a finished step's logs hold every node's lines, and at this
# many nodes one answer's logs already run to megabytes.
MAX_SELECTED = 10_000
# Past the project's own nodes, a selection's every third node tests the model before it.
TEST_EVERY = 3


def selecting(command: str) -> bool:
    """Whether a dbt command (`dbt build --select ...`) is one whose nodes a job's selection sets."""
    words = [word for word in command.split()[1:] if not word.startswith("-")]
    return bool(words) and words[0] in SELECTING_COMMANDS


def check_selected(count: object) -> None:
    """Refuse a selection that is not a whole number of nodes from 1 to MAX_SELECTED."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SELECTED:
        raise ValueError(f"selected nodes must be an integer from 1 to {MAX_SELECTED}, not {count!r}")


@lru_cache(maxsize=32)
def selection(count: int | None) -> tuple[Node, ...]:
    """The nodes a command selecting `count` of them runs, in order: the project's own first (the first `count` of
    them, if fewer), then generated models, every third node a test of the model before it; None is the project's
    own nodes."""
    if count is None:
        return NODES
    nodes = list(NODES[:count])
    for position in range(len(nodes), count):
        if (position - len(NODES)) % TEST_EVERY == TEST_EVERY - 1:
            model = nodes[-1][0]
            # A test's unique id ends in a hash dbt derives from its arguments; the position stands in for it here.
            test = f"test.{PROJECT}.not_null_{node_name(model)}_id.{position:06x}"
            nodes.append((test, "test", None, (model,)))
        else:
            name = f"model_{position + 1:05d}"
            nodes.append((f"model.{PROJECT}.{name}", "model", f'"analytics"."{name}"', ()))
    return tuple(nodes)


def project_nodes(selected: int | None) -> tuple[Node, ...]:
    """Every node of the project a run with this selection builds: the selected nodes and the project's own, which
    a command the selection does not set (such as `dbt seed`) still runs."""
    return NODES if selected is None else selection(max(selected, len(NODES)))


def node_statuses(failed: bool, nodes: tuple[Node, ...] = NODES) -> dict[str, str]:
    """Each node's run_results status: with `failed`, the first model errors and whatever depends on it skips."""
    broken: set[str] = set()
    out: dict[str, str] = {}
    for unique_id, kind, _, parents in nodes:
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
