"""The emulated dbt project every run builds: its nodes and their files, its package, and how its nodes fail."""

from __future__ import annotations

from functools import lru_cache

from .protocol import JsonDict

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
# What the failing model reports by default, in run_results.json and in the step's logs alike: shorter than dbt-core's
# words, which also name the model's file and its compiled code (model_error, used with set_failing_nodes and Fusion).
NODE_ERROR = 'Database Error in model stg_orders\n  relation "raw.orders" does not exist'
PACKAGE, PACKAGE_VERSION = "dbt-labs/dbt_utils", "1.3.0"
# libpq's words for a connection lost in the middle of a query (PostgreSQL's fe-misc.c, pqReadData), which psycopg2
# passes on: what a node reports when the database drops it (the outcome "transient_error").
DROPPED = (
    "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally\n"
    "\tbefore or while processing the request."
)
# libpq 14+'s words for a refused TCP connection (PostgreSQL's fe-connect.c: `connection to server at "<host>" (<ip>),
# port <port> failed: `, the system's error, then the hint): what a command that cannot connect at all reports (the
# outcome "connect_error"). The host and its address are a guess at the emulated project's warehouse.
REFUSED = (
    'connection to server at "warehouse.emulated.internal" (10.0.12.34), port 5432 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?"
)
# The folder under `models/` each of the project's own models sits in, as dbt's project-structure guide lays a project
# out (staging, marts); a guess at this project's layout. A selection's generated nodes sit in a folder of their own.
MODEL_FOLDERS = {"stg_orders": "staging", "stg_customers": "staging", "orders": "marts"}
GENERATED_FOLDER = "generated"
# Each folder's models and the generic tests on them are declared in this YAML file of the folder (a guess at its name).
SCHEMA_FILE = "schema.yml"
# The generic test each of the project's own tests is, and the column it tests; a generated test is `not_null` on `id`.
GENERIC_TESTS = {"unique_orders_order_id": ("unique", "order_id"), "not_null_customers_id": ("not_null", "id")}
# dbt's default error_if and warn_if of a generic test (dbt-core's TestConfig).
FAIL_IF = "!= 0"
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


def folder(model: str) -> str:
    """The folder under `models/` a model (by short name) sits in."""
    return MODEL_FOLDERS.get(model, GENERATED_FOLDER)


def attached_model(node: Node) -> str:
    """The short name of the model a generic test tests (its one parent)."""
    return node_name(node[3][0])


def node_paths(node: Node) -> tuple[str, str]:
    """A node's `path` and `original_file_path` as dbt's manifest v12 gives them, relative to the dbt project's root
    (not the repository's: a project in a `dbt_project_subdirectory` still says `models/...`)."""
    unique_id, kind, _, _ = node
    name = node_name(unique_id)
    if kind == "model":
        # dbt-core: `path` is relative to the model path, `original_file_path` to the project.
        path = f"{folder(name)}/{name}.sql"
        return path, f"models/{path}"
    # dbt-core's schema_generic_tests.py: a generic test's original_file_path is the YAML that declares it, and its
    # path a pseudo file named after the test (utils.get_pseudo_test_path: the YAML's folder dropped).
    return f"{name}.sql", f"models/{folder(attached_model(node))}/{SCHEMA_FILE}"


def generic_test_fields(node: Node) -> JsonDict:
    """A generic test's `test_metadata`, `column_name` and `attached_node`, as dbt-core's parser sets them."""
    name = node_name(node[0])
    test, column = GENERIC_TESTS.get(name, ("not_null", "id"))
    model = attached_model(node)
    # dbt-core's TestBuilder: the column first, then the model wrapped in get_where_subquery; namespace is null for a
    # test of dbt's own.
    kwargs = {"column_name": column, "model": f"{{{{ get_where_subquery(ref('{model}')) }}}}"}
    return {
        "column_name": column,
        "test_metadata": {"name": test, "kwargs": kwargs, "namespace": None},
        "attached_node": node[3][0],
    }


def many_failures(nodes: tuple[Node, ...], count: int) -> dict[str, str]:
    """Each node's status when `count` of them fail (Emulator.set_failing_nodes): in order, a test fails and a model
    errors until `count` have, a model with a test of its own left to pass so that its test can fail instead;
    whatever depends on an errored model skips. Fewer fail if the nodes allow no more."""
    tested = {node[3][0] for node in nodes if node[1] == "test" and node[3]}
    broken: set[str] = set()
    out: dict[str, str] = {}
    left = count
    for unique_id, kind, _, parents in nodes:
        if broken.intersection(parents):
            out[unique_id] = "skipped"
            broken.add(unique_id)
        elif left and (kind == "test" or unique_id not in tested):
            out[unique_id] = "fail" if kind == "test" else "error"
            left -= 1
            if kind == "model":
                broken.add(unique_id)
        else:
            out[unique_id] = "success" if kind == "model" else "pass"
    return out


@lru_cache(maxsize=256)
def failures_allowed(size: int) -> int:
    """How many of a selection of `size` nodes can fail at once."""
    statuses = many_failures(selection(size), size)
    return sum(1 for status in statuses.values() if status in ("error", "fail"))


@lru_cache(maxsize=64)
def selection_for_failures(count: int, selected: int | None) -> int | None:
    """The selection a run needs for `count` of its nodes to fail: `selected` if its nodes allow that many (None for
    the project's own), else the smallest that does (at most MAX_SELECTED, which allows fewer than that many)."""
    size = len(NODES) if selected is None else selected
    if failures_allowed(size) >= count:
        return selected
    # How many can fail only grows with the selection: a node added at the end is a model that can error, or a test
    # that fails in place of the model before it.
    low, high = size + 1, MAX_SELECTED
    while low < high:
        middle = (low + high) // 2
        if failures_allowed(middle) >= count:
            high = middle
        else:
            low = middle + 1
    return low


def check_failing(count: object) -> None:
    """Refuse a count of failing nodes that is not a whole number from 1 to MAX_SELECTED."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SELECTED:
        raise ValueError(f"failing nodes must be an integer from 1 to {MAX_SELECTED}, not {count!r}")


def model_error(node: Node) -> str:
    """What a model that errors in a database reports, in run_results.json and the step's summary alike."""
    name = node_name(node[0])
    _, original = node_paths(node)
    # dbt-core's DbtDatabaseError: "Database Error in <type> <name> (<original_file_path>)", the database's words, then
    # where the compiled code was written. The missing relation is a guess at what the database said.
    relation = "raw.orders" if name == "stg_orders" else f"raw.{name}"
    return (
        f'Database Error in model {name} ({original})\n  relation "{relation}" does not exist\n'
        f"  compiled code at target/run/{PROJECT}/{original}"
    )


def dbt_error(title: str, message: str, *after: str) -> str:
    """A dbt error as dbt-core's DbtRuntimeError.__str__ words it: its title (`Database Error in model x (file)`), then
    each line of the database's message and whatever follows, indented by two spaces."""
    return "\n".join([title, *(f"  {line}" for line in [*message.split("\n"), *after])])


# The short form of a dropped connection, as NODE_ERROR is of the default failure (the first model, no file named).
DROPPED_NODE_ERROR = dbt_error("Database Error in model stg_orders", DROPPED)
# What dbt prints of a refused connection: dbt-adapters' retry_connection raises FailedToConnectError (a Database
# Error) with psycopg2's text, whose trailing newline (a last blank line) is left out here.
CONNECT_ERROR = dbt_error("Database Error", REFUSED)


def dropped_error(node: Node) -> str:
    """What a model or a test reports when the database drops its connection mid-query, in run_results.json and the
    step's summary alike: dbt-core's DbtDatabaseError with the node and its file, libpq's words (dbt-postgres strips
    psycopg2's text), then where its compiled code was written (a model's under target/run, as model_error's; a
    test's under its YAML file's path, as dbt-core's build_path)."""
    unique_id, kind, _, _ = node
    name = node_name(unique_id)
    _, original = node_paths(node)
    compiled = original if kind == "model" else f"{original}/{name}.sql"
    return dbt_error(
        f"Database Error in {kind} {name} ({original})", DROPPED, f"compiled code at target/run/{PROJECT}/{compiled}"
    )


def failing_rows(position: int) -> int:
    """How many rows a failing test found; its position among the command's nodes stands in for the data."""
    return position % 5 + 1


def failed_test_message(rows: int) -> str:
    """What a failing test reports, as dbt-core's test task words it (pluralize(failures, "result"))."""
    return f"Got {rows} result{'' if rows == 1 else 's'}, configured to fail if {FAIL_IF}"


def command_statuses(
    nodes: tuple[Node, ...],
    *,
    failed: bool,
    failing: int | None,
    reused: int = 0,
    blocked: bool = False,
    dropped: bool = False,
) -> dict[str, str]:
    """Each node's status in a dbt command: as node_statuses says, or with `failing` nodes failing (many_failures);
    every node skipped if a check `blocked` the command; a test that would fail errors instead if the database
    `dropped` its connection (it never got its rows to count); then the last `reused` of those that would have passed
    reused by state-aware orchestration, which leaves a node without changes as it is."""
    if blocked:
        return {node[0]: "skipped" for node in nodes}
    statuses = many_failures(nodes, failing) if failed and failing is not None else node_statuses(failed, nodes)
    if dropped:
        statuses = {unique_id: "error" if status == "fail" else status for unique_id, status in statuses.items()}
    left = reused
    for unique_id, *_ in reversed(nodes):
        if not left:
            break
        if statuses[unique_id] in ("success", "pass"):
            statuses[unique_id] = "reused"
            left -= 1
    return statuses
