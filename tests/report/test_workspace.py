from __future__ import annotations

from pathlib import Path

from autoscale_ci.report.workspace import listing, text


def test_a_file_is_read_only_inside_the_workspace_and_when_small(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "models" / "orders.sql").write_text("select 1\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    (root / "big.yml").write_bytes(b"x" * 2_000_001)
    assert text(root, "models/orders.sql") == "select 1\n"
    assert text(root, "../secret.txt") is None
    assert text(root, "big.yml") is None
    assert text(root, "models/missing.sql") is None


def test_the_listing_leaves_out_what_is_not_the_projects_and_stops_at_its_limit(tmp_path: Path) -> None:
    for path in (
        "dbt/models/a.sql",
        "dbt/models/b.py",
        "dbt/dbt_packages/utils/macros/m.sql",
        "dbt/target/compiled/a.sql",
        ".git/HEAD",
        "README.md",
    ):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("", encoding="utf-8")
    assert listing(tmp_path) == ["README.md", "dbt/models/a.sql", "dbt/models/b.py"]
    assert listing(tmp_path, "dbt/") == ["dbt/models/a.sql", "dbt/models/b.py"]
    assert listing(tmp_path, "", limit=2) == ["README.md", "dbt/models/a.sql"]
    assert listing(tmp_path, "nowhere") == []
