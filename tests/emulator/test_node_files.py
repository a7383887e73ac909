"""manifest.json names each node's files as dbt's manifest v12 does: a model's SQL file, and for a generic test the
YAML that declares it, with what it tests; what a failure annotation on a pull request's diff needs."""

from __future__ import annotations

from typing import Any

import httpx

from dbt_cloud_emulator import Emulator

from .helpers import run, trigger


def finished_documents(frozen: Emulator, api: httpx.Client, job_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Trigger a run of the job, play it to its end (10 s starting, 60 s running) and read its manifest and run
    results."""
    run_id = int(trigger(api, job_id)["id"])
    frozen.advance(70)
    assert run(api, run_id)["status"] in (10, 20)
    manifest = api.get(f"/runs/{run_id}/artifacts/manifest.json").json()
    results = api.get(f"/runs/{run_id}/artifacts/run_results.json").json()
    return manifest, results


def test_a_model_names_its_sql_file_and_a_generic_test_the_yaml_that_declares_it(
    frozen: Emulator, fapi: httpx.Client
) -> None:
    manifest, _ = finished_documents(frozen, fapi, frozen.ci_job_id or 0)
    nodes = manifest["nodes"]
    assert nodes["model.emulated_project.stg_orders"] == {
        "unique_id": "model.emulated_project.stg_orders",
        "resource_type": "model",
        "package_name": "emulated_project",
        "name": "stg_orders",
        "depends_on": {"nodes": []},
        "path": "staging/stg_orders.sql",
        "original_file_path": "models/staging/stg_orders.sql",
    }
    assert nodes["model.emulated_project.orders"]["original_file_path"] == "models/marts/orders.sql"
    assert nodes["test.emulated_project.unique_orders_order_id.1a2b3c"] == {
        "unique_id": "test.emulated_project.unique_orders_order_id.1a2b3c",
        "resource_type": "test",
        "package_name": "emulated_project",
        "name": "unique_orders_order_id",
        "depends_on": {"nodes": ["model.emulated_project.orders"]},
        # dbt-core: the YAML beside the model it tests, and a pseudo SQL file named after the test.
        "path": "unique_orders_order_id.sql",
        "original_file_path": "models/marts/schema.yml",
        "column_name": "order_id",
        "test_metadata": {
            "name": "unique",
            "kwargs": {"column_name": "order_id", "model": "{{ get_where_subquery(ref('orders')) }}"},
            "namespace": None,
        },
        "attached_node": "model.emulated_project.orders",
    }
    not_null = nodes["test.emulated_project.not_null_customers_id.4d5e6f"]
    assert (not_null["original_file_path"], not_null["attached_node"]) == (
        "models/staging/schema.yml",
        "model.emulated_project.stg_customers",
    )


def test_every_result_of_a_selection_has_a_file(frozen: Emulator, fapi: httpx.Client) -> None:
    job_id = frozen.ci_job_id or 0
    frozen.set_selected_nodes(40, job_id=job_id)
    manifest, results = finished_documents(frozen, fapi, job_id)
    nodes = manifest["nodes"]
    assert len(results["results"]) == 40
    for result in results["results"]:
        node = nodes[result["unique_id"]]
        if node["resource_type"] == "model":
            assert node["original_file_path"] == f"models/{node['path']}"
            assert node["original_file_path"].endswith(f"/{node['name']}.sql")
        else:
            assert node["path"] == f"{node['name']}.sql"
            assert node["original_file_path"].endswith("/schema.yml")
            model = nodes[node["attached_node"]]
            # A generic test is declared in the YAML of its model's folder.
            assert node["original_file_path"].rsplit("/", 1)[0] == model["original_file_path"].rsplit("/", 1)[0]
            assert node["depends_on"]["nodes"] == [node["attached_node"]]
    generated = nodes["model.emulated_project.model_00040"]
    assert generated["original_file_path"] == "models/generated/model_00040.sql"
    test = nodes["test.emulated_project.not_null_model_00007_id.000007"]
    assert test["test_metadata"]["kwargs"] == {
        "column_name": "id",
        "model": "{{ get_where_subquery(ref('model_00007')) }}",
    }


def test_files_are_relative_to_the_dbt_project_not_the_repository(frozen: Emulator, fapi: httpx.Client) -> None:
    # dbt's original_file_path starts at the dbt project's root: a client that annotates a diff adds the project's
    # dbt_project_subdirectory itself.
    frozen.set_project("transform")
    manifest, _ = finished_documents(frozen, fapi, frozen.ci_job_id or 0)
    paths = {node["original_file_path"] for node in manifest["nodes"].values()}
    assert paths == {
        "models/staging/stg_orders.sql",
        "models/staging/stg_customers.sql",
        "models/marts/orders.sql",
        "models/marts/schema.yml",
        "models/staging/schema.yml",
    }
