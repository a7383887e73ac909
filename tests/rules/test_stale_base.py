from __future__ import annotations

import pytest

from autoscale_ci.rules.stale_base import StaleBase, dbt_files, stale_base_message

CHANGED = [
    "models/staging/stg_orders.sql",
    "macros/cents.sql",
    "dbt_project.yml",
    "packages.yml",
    "README.md",
    ".github/workflows/ci.yml",
    "models.md",
    "seeds/countries.csv",
    "scripts/models/not_dbt.py",
]


def test_dbt_files_at_the_root_are_the_projects_folders_and_files() -> None:
    assert dbt_files(CHANGED, None) == (
        "models/staging/stg_orders.sql",
        "macros/cents.sql",
        "dbt_project.yml",
        "packages.yml",
        "seeds/countries.csv",
    )


@pytest.mark.parametrize("subdirectory", ["transform", "/transform/", "transform/"])
def test_a_project_in_a_subdirectory_counts_only_its_own_files(subdirectory: str) -> None:
    changed = ["transform/models/a.sql", "models/b.sql", "transform/dbt_project.yml", "transformer/models/c.sql"]
    assert dbt_files(changed, subdirectory) == ("transform/models/a.sql", "transform/dbt_project.yml")


def test_the_message_says_how_far_behind_which_files_and_the_fix() -> None:
    files = tuple(f"models/m{k}.sql" for k in range(12))
    said = stale_base_message(StaleBase("main", 40, files, at_least=True), "PR #7's branch")
    assert said.startswith("PR #7's branch is 40 commit(s) behind main, whose commits change at least 12 dbt file(s)")
    assert "models/m9.sql and 2 more" in said and "models/m10.sql" not in said
    assert "`state:modified+`" in said
    assert "merge or rebase main" in said
    assert "at least" not in stale_base_message(StaleBase("main", 1, files[:1]), "PR #7's branch")
