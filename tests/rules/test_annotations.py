from __future__ import annotations

from typing import Any

from autoscale_ci.report.results import Node
from autoscale_ci.rules.annotations import (
    PER_LEVEL,
    NodeFile,
    capped,
    file_names,
    found_files,
    label,
    line_naming,
    node_files,
    placed,
)

MANIFEST: dict[str, Any] = {
    "nodes": {
        "model.p.stg_orders": {"original_file_path": "models/staging/stg_orders.sql", "name": "stg_orders"},
        "test.p.unique_orders_order_id.1a": {
            "original_file_path": "models/marts/schema.yml",
            "name": "unique_orders_order_id",
            "column_name": "order_id",
            "attached_node": "model.p.orders",
        },
        "test.p.singular": {"original_file_path": "tests/assert_positive.sql"},
        "model.p.no_path": {"name": "no_path"},
        "model.p.odd": "not a node",
    }
}
SCHEMA = "version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: order_id\n        tests: [unique]\n"


def test_each_node_is_on_its_file_under_the_projects_subdirectory() -> None:
    files = node_files(MANIFEST, "transform/")
    assert files["model.p.stg_orders"] == NodeFile("transform/models/staging/stg_orders.sql", "")
    assert files["test.p.unique_orders_order_id.1a"] == NodeFile(
        "transform/models/marts/schema.yml", "order_id", "orders"
    )
    assert files["test.p.singular"].path == "transform/tests/assert_positive.sql"
    assert "model.p.no_path" not in files and "model.p.odd" not in files
    assert node_files(MANIFEST, None)["model.p.stg_orders"].path == "models/staging/stg_orders.sql"
    assert node_files({"nodes": []}, None) == {} and node_files("garbage", None) == {}


def test_the_line_is_the_one_that_declares_the_name() -> None:
    assert line_naming(SCHEMA, "order_id") == 5
    assert line_naming(SCHEMA, "orders") == 3  # `name: orders`, not `order_id`
    assert line_naming("select 1 as order_id_x", "order_id") == 1  # not a word of its own
    assert line_naming(SCHEMA, "") == 1
    assert line_naming("a:\n  tests: [not_null_total]\n", "not_null_total") == 2  # named, not declared


def problem(unique_id: str, status: str) -> Node:
    return Node(unique_id, status, f"{unique_id} said no")


def test_errors_come_first_and_no_more_than_github_keeps_of_a_level() -> None:
    problems = [problem(f"model.p.w{k}", "warn") for k in range(12)] + [
        problem(f"model.p.e{k}", "error" if k % 2 else "fail") for k in range(15)
    ]
    files = {node.unique_id: NodeFile(f"models/{node.unique_id}.sql", "") for node in problems}
    made, left_out = capped(placed(problems, files, lambda _path: None), {"error": PER_LEVEL, "warning": PER_LEVEL})
    assert [a.level for a in made] == ["error"] * PER_LEVEL + ["warning"] * PER_LEVEL
    assert left_out == 5 + 2
    fewer, more_left = capped(placed(problems, files, lambda _path: None), {"error": PER_LEVEL - 1, "warning": 0})
    assert [a.level for a in fewer] == ["error"] * (PER_LEVEL - 1) and more_left == 6 + 12
    assert made[0] == placed(problems[12:13], files, lambda _path: None)[0]
    assert (made[0].title, made[0].place) == ("model e0: fail", ("models/model.p.e0.sql", 1))


def test_a_node_whose_file_is_unknown_is_not_annotated() -> None:
    files = {"model.p.known": NodeFile("models/known.sql", "")}
    made = placed([problem("model.p.unknown", "error"), problem("model.p.known", "warn")], files, lambda _path: None)
    assert [(a.level, a.place) for a in made] == [("warning", ("models/known.sql", 1))]


def test_a_node_is_named_by_its_kind_and_name() -> None:
    assert label("model.shop.stg_orders") == "model stg_orders"
    assert label("test.shop.not_null_orders_id.9f8e") == "test not_null_orders_id"
    assert label("check.shop.public_models_have_owners") == "check public_models_have_owners"
    assert label("odd") == "odd" and label("model..x") == "model..x"


def test_the_files_a_nodes_name_points_to() -> None:
    assert file_names("model.shop.orders") == ("orders.sql", "orders.py")
    assert file_names("seed.shop.countries") == ("countries.csv",)
    assert file_names("check.shop.owners") == ("owners.sql",)
    assert file_names("test.shop.assert_positive") == ("assert_positive.sql",)
    assert file_names("test.shop.not_null_orders_id.9f8e") == ()  # generic: only the manifest knows its YAML
    assert file_names("source.shop.raw.orders") == () and file_names("orders") == ()


def test_nodes_are_found_among_the_repositorys_files_by_name_when_one_file_has_it() -> None:
    paths = [
        "dbt/models/staging/stg_orders.sql",
        "dbt/models/a/dup.sql",
        "dbt/models/b/dup.sql",
        "other/models/elsewhere.sql",
        "dbt/checks/owners.sql",
    ]
    ids = ["model.p.stg_orders", "model.p.dup", "model.p.elsewhere", "check.p.owners", "test.p.nn.1a", "model.p.gone"]
    found = found_files(ids, paths, "dbt/")
    assert found == {
        "model.p.stg_orders": NodeFile("dbt/models/staging/stg_orders.sql", ""),
        "check.p.owners": NodeFile("dbt/checks/owners.sql", ""),
    }
    assert found_files(["model.p.elsewhere"], paths)["model.p.elsewhere"].path == "other/models/elsewhere.sql"


def test_a_node_whose_file_is_known_is_placed_at_its_line_when_the_workspace_has_the_file() -> None:
    files = node_files(MANIFEST, None)
    test_node = problem("test.p.unique_orders_order_id.1a", "fail")
    model = problem("model.p.stg_orders", "error")
    made = placed([test_node, model], files, lambda path: SCHEMA if path.endswith("schema.yml") else None)
    assert [a.place for a in made] == [("models/marts/schema.yml", 5), ("models/staging/stg_orders.sql", 1)]


TWO_MODELS = """version: 2
models:
  - name: stg_orders
    description: the id of each order
    columns:
      - name: id  # the key
        tests: [unique]
  - name: stg_customers
    columns:
      - name: id
        tests: [not_null]
unit_tests:
  - name: test_orders_are_counted
    model: stg_orders
"""


def test_a_columns_test_is_placed_under_its_own_model() -> None:
    assert line_naming(TWO_MODELS, "id", "stg_customers") == 10
    assert line_naming(TWO_MODELS, "id", "stg_orders") == 6  # a trailing comment still declares it
    assert line_naming(TWO_MODELS, "id", "gone_model") == 6  # the model not found: the first that declares it
    assert line_naming(TWO_MODELS, "stg_customers") == 8


def test_unit_tests_are_read_from_their_own_section_and_named_by_their_own_name() -> None:
    manifest = {
        "nodes": {},
        "unit_tests": {
            "unit_test.p.stg_orders.test_orders_are_counted": {
                "original_file_path": "models/staging/schema.yml",
                "name": "test_orders_are_counted",
            }
        },
    }
    files = node_files(manifest, None)
    unit = "unit_test.p.stg_orders.test_orders_are_counted"
    assert files[unit] == NodeFile("models/staging/schema.yml", "test_orders_are_counted")
    made = placed([problem(unit, "fail")], files, lambda _path: TWO_MODELS)
    assert [(a.title, a.place) for a in made] == [
        ("unit_test test_orders_are_counted: fail", ("models/staging/schema.yml", 13))
    ]


def test_a_file_is_read_once_and_only_to_place_a_node_among_others() -> None:
    reads: list[str] = []

    def read(path: str) -> str:
        reads.append(path)
        return TWO_MODELS

    files = {
        "test.p.unique_stg_orders_id.1": NodeFile("schema.yml", "id", "stg_orders"),
        "test.p.not_null_stg_customers_id.2": NodeFile("schema.yml", "id", "stg_customers"),
        "model.p.stg_orders": NodeFile("models/stg_orders.sql", ""),
    }
    made = placed([problem(uid, "error") for uid in files], files, read)
    assert [a.place for a in made] == [("schema.yml", 6), ("schema.yml", 10), ("models/stg_orders.sql", 1)]
    assert reads == ["schema.yml"]


def test_a_long_message_is_cut_as_the_summary_cuts_it() -> None:
    files = {"model.p.a": NodeFile("a.sql", "")}
    (made,) = placed([Node("model.p.a", "error", "x" * 600)], files, lambda _path: None)
    assert made.message == "x" * 500 + "..."
