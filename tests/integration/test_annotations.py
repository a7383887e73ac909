"""Failures on the diff, end to end: each failed model and test annotated on its file through the real entrypoint,
against the emulator's manifest, project and failing runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from autoscale_ci.report.artifacts import MANIFEST_LIMIT
from dbt_cloud_emulator import Emulator
from tests.integration.conftest import StepFactory
from tests.integration.test_providers import SHA, run_cli

SHA_A = "a" * 40
ON_A_FILE = re.compile(r"^::(error|warning) file=([^,]+),line=(\d+),title=([^:]+)")


def on_files(lines: list[str]) -> list[tuple[str, str, int, str]]:
    """(level, file, line, title) of each annotation that sits on a file."""
    return [(m[1], m[2], int(m[3]), m[4]) for line in lines if (m := ON_A_FILE.match(line))]


def test_a_failed_model_and_a_failing_test_are_annotated_on_their_files(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    emu.set_failing_nodes(2)
    done = step(7, SHA_A).run()
    assert done.returncode == 1, done.stdout
    placed = on_files(done.stdout.splitlines())
    files = {file for _, file, _, _ in placed}
    assert "models/staging/stg_orders.sql" in files
    assert any(file.endswith(".yml") for file in files), placed
    assert all(level == "error" for level, *_ in placed)


def test_under_the_projects_subdirectory(emu: Emulator, step: StepFactory) -> None:
    emu.set_project("transform")
    emu.set_outcome("error", git_sha=SHA_A)
    done = step(7, SHA_A).run()
    assert ("error", "transform/models/staging/stg_orders.sql", 1) in [
        p[:3] for p in on_files(done.stdout.splitlines())
    ]


def test_fifteen_failures_are_ten_annotations_and_one_notice_of_the_rest(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    emu.set_failing_nodes(15)
    done = step(7, SHA_A).run()
    assert done.returncode == 1, done.stdout
    # GitHub keeps ten errors a step: the verdict's, which links the run, then nine of the nodes'.
    errors = done.lines("::error")
    assert len(errors) == 10 and "title=dbt Cloud run error" in errors[0], errors
    assert len(on_files(done.stdout.splitlines())) == 9
    (notice,) = [line for line in done.lines("::notice") if "more failed or warned" in line]
    assert "6 more failed or warned node(s)" in notice


def test_without_a_manifest_nothing_is_annotated_and_the_verdict_is_the_same(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    emu.set_artifacts_missing(["manifest.json"])
    done = step(7, SHA_A).run()
    assert done.returncode == 1
    assert done.outputs["run-status"] == "error"
    assert on_files(done.stdout.splitlines()) == []
    assert not [line for line in done.lines("::error") if "title=model stg_orders" in line], done.stdout
    assert "model.emulated_project.stg_orders" in done.summary  # the summary still names it


def test_a_manifest_too_big_to_read_leaves_the_files_to_the_checked_out_repository(
    emu: Emulator, step: StepFactory
) -> None:
    emu.set_project("transform", manifest_bytes=MANIFEST_LIMIT + 1)
    emu.set_outcome("error", git_sha=SHA_A)
    emu.set_failing_nodes(2)
    action = step(7, SHA_A)
    model = Path(action.env["GITHUB_WORKSPACE"]) / "transform" / "models" / "staging" / "stg_orders.sql"
    model.parent.mkdir(parents=True)
    model.write_text("select * from {{ source('raw', 'orders') }}\n", encoding="utf-8")
    done = action.run()
    assert done.returncode == 1, done.stdout
    assert on_files(done.stdout.splitlines()) == [
        ("error", "transform/models/staging/stg_orders.sql", 1, "model stg_orders%3A error")  # `:` escaped
    ]
    (notice,) = [line for line in done.lines("::notice") if "manifest.json" in line]
    assert "over the 50 MB the action reads: 1 of 2 failed or warned node(s) found by name" in notice


def test_a_checked_out_workspace_gives_the_line_that_names_the_node(
    emu: Emulator, step: StepFactory, tmp_path: Path
) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    emu.set_failing_nodes(2)
    action = step(7, SHA_A)
    schema = Path(action.env["GITHUB_WORKSPACE"]) / "models" / "staging" / "schema.yml"
    schema.parent.mkdir(parents=True)
    schema.write_text(
        "version: 2\nmodels:\n  - name: stg_customers\n    columns:\n      - name: id\n", encoding="utf-8"
    )
    placed = on_files(action.run().stdout.splitlines())
    lines = {file: line for _, file, line, _ in placed}
    assert lines.get("models/staging/schema.yml") == 5, placed  # the column the failing test is declared on
    assert lines.get("models/staging/stg_orders.sql") == 1


def test_annotations_false_puts_nothing_on_a_file(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    done = step(7, SHA_A, annotations="false").run()
    assert done.returncode == 1
    assert on_files(done.stdout.splitlines()) == []


def test_every_ci_gets_the_same_findings_in_its_own_form(emu: Emulator, tmp_path: Path) -> None:
    emu.set_outcome("error", git_sha=SHA)
    emu.set_failing_nodes(2)
    gitlab, _ = run_cli(emu, tmp_path / "gitlab", "gitlab", emu.token)
    assert gitlab.returncode == 1, gitlab.stdout
    report = json.loads((tmp_path / "gitlab" / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    found = {(issue["location"]["path"], issue["severity"]) for issue in report}
    assert ("models/staging/stg_orders.sql", "major") in found and len(report) == 2
    azure, _ = run_cli(emu, tmp_path / "azure", "azure", emu.token)
    logissues = [line for line in azure.stdout.splitlines() if ";sourcepath=" in line]
    assert any("sourcepath=models/staging/stg_orders.sql;linenumber=1]" in line for line in logissues), azure.stdout
    assert len(logissues) == 2
    shell, _ = run_cli(emu, tmp_path / "shell", "shell", emu.token)
    assert any(line.startswith("models/staging/stg_orders.sql:1: error: ") for line in shell.stdout.splitlines())
    assert not (tmp_path / "azure" / "gl-code-quality-report.json").exists()


def test_a_dbt_v2_check_that_fails_is_named_as_a_check_on_its_file(emu: Emulator, step: StepFactory) -> None:
    emu.set_engine("fusion", reused=1)
    emu.set_outcome("check_error", git_sha=SHA_A)
    done = step(7, SHA_A).run()
    assert done.returncode == 1, done.stdout
    checks = [p for p in on_files(done.stdout.splitlines()) if p[3].startswith("check ")]
    assert checks and checks[0][1].startswith("checks/"), done.stdout
    assert "check.emulated_project." in done.summary
    assert "(1 check failed)" in done.summary
