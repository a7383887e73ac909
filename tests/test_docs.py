"""The README's outputs table says what action.yml declares, the settings read every input, and CONTRIBUTING.md's
file map lists every module. The README's inputs table and the command line's help are written from action.yml by
scripts/gen_inputs.py: tests/scripts/test_gen_inputs.py keeps them current."""

from __future__ import annotations

import re

import yaml

from autoscale_ci.inputs.settings import input_names
from tests.harness import ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONTRIBUTING = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")


def table(heading: str) -> dict[str, list[str]]:
    """Rows of the first table under `## heading`, keyed by the name in the first cell."""
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`([a-z0-9-]+)`", cells[0]) if line.startswith("|") else None
        if name:
            rows[name.group(1)] = cells[1:]
    return rows


def test_readme_outputs_match_action_yml() -> None:
    assert list(table("Outputs")) == list(ACTION["outputs"])


def test_every_declared_input_is_read_and_every_read_input_declared() -> None:
    assert sorted(input_names()) == sorted(ACTION["inputs"])


def test_the_file_map_has_a_row_for_each_folder_and_entry_file_and_names_every_module() -> None:
    rows = dict(
        re.findall(r"^\| `(autoscale_ci/[\w/]+)`[^|]*\| (.*) \|$", CONTRIBUTING.split("| path | owns |", 1)[1], re.M)
    )
    package = ROOT / "autoscale_ci"
    folders = {f"autoscale_ci/{path.name}/" for path in package.iterdir() if (path / "__init__.py").exists()}
    top = {f"autoscale_ci/{path.name}" for path in package.glob("*.py")}
    listed_top = set(re.findall(r"`(autoscale_ci/\w+\.py)`", CONTRIBUTING.split("| path | owns |", 1)[1]))
    assert top - listed_top == set(), "add a row for each file at the package's top to CONTRIBUTING.md's file map"
    listed = set(re.findall(r"`(autoscale_ci/[\w/]*\w(?:\.py)?/?)`", CONTRIBUTING.split("| path | owns |", 1)[1]))
    assert {path for path in listed if not (ROOT / path).exists()} == set(), "the file map names what is not there"
    assert folders - set(rows) == set(), "add a row for each folder to CONTRIBUTING.md's file map"
    for folder in folders:
        named = set(re.findall(r"`(\w+\.py)`", rows[folder]))
        modules = {path.name for path in (ROOT / folder).glob("*.py")} - {"__init__.py"}
        assert named == modules, f"the file map's row for {folder} names its modules: {sorted(modules)}"


def example_comment() -> str:
    """The comment of the README's example: a clone's run that failed on two nodes."""
    from datetime import UTC, datetime

    from autoscale_ci.dbt_cloud.models import Run
    from autoscale_ci.inputs.github_event import PullRequest
    from autoscale_ci.report.comment import Marker, finished
    from autoscale_ci.report.outcome import Outcome
    from autoscale_ci.report.results import Node, RunResults
    from autoscale_ci.rules.decide import Clone
    from autoscale_ci.rules.verdict import RunStatus

    pr = PullRequest(number=12, head_sha="1a2b3c4" + "0" * 33, updated_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    run = Run(
        id=70412,
        job_definition_id=981,
        status=20,
        href="https://ab123.us1.dbt.com/deploy/1/projects/5/runs/70412/",
        queued_duration="00:00:03",
        run_duration="00:04:12",
    )
    nodes = (
        Node("model.shop.stg_orders", "error", 'Database Error in model stg_orders: relation "raw.orders" is missing'),
        Node("test.shop.unique_orders_order_id.1a2b3c", "fail", "Got 3 results, configured to fail if != 0"),
        Node("test.shop.not_null_customers_email.4d5e6f", "warn", "Got 1 result, configured to warn if != 0"),
    )
    results = RunResults({"success": 38, "pass": 52, "warn": 1, "fail": 1, "error": 1, "skipped": 4}, nodes)
    outcome = Outcome(
        Clone("job 73797 is busy with PR #9 and 3 of 5 run slots are free"),
        pr,
        RunStatus.ERROR,
        run=run,
        job_id=981,
        cloned_job_id=981,
        exit_code=1,
        message=f"dbt Cloud run 70412 failed: Database Error in model stg_orders. See the run's logs: {run.href}",
        results=results,
    )
    return finished(Marker(73797, pr.head_sha, pr.updated_at), outcome)


def test_the_readme_shows_the_comment_the_action_writes() -> None:
    section = README.split("\n## The pull request comment\n", 1)[1].split("\n## ", 1)[0]
    quoted = [line[2:] if line.startswith("> ") else line[1:] for line in section.splitlines() if line.startswith(">")]
    rendered = example_comment().splitlines()[1:]  # the hidden marker is not shown
    assert quoted == rendered, "\n".join(f"> {line}".rstrip() for line in rendered)
