"""Reading the account's active runs: this job's family strictly, other teams' runs leniently."""

from __future__ import annotations

from typing import Any

import pytest

from autoscale_ci.act.snapshot import UNKNOWN_JOB, of_family, read_runs
from autoscale_ci.dbt_cloud import DbtCloudError
from autoscale_ci.dbt_cloud.models import RUNNING
from autoscale_ci.rules.markers import clone_marker
from tests.builders import JOB, SHA_A, run

OTHER = 5


def odd(run_id: int, **changes: Any) -> dict[str, Any]:
    """A run of another team's job with a shape the action does not read."""
    return {**run(run_id, job_id=OTHER), **changes}


def test_other_teams_odd_jobs_of_live_answers_are_read_whole() -> None:
    row = run(1, job_id=OTHER)
    # Live job lists carry null trigger flags and settings, and job types newer than the action.
    row["job"] = {
        "id": OTHER,
        "name": "Nightly",
        "job_type": "adaptive",
        "settings": None,
        "triggers": {"github_webhook": None, "schedule": None, "git_provider_webhook": None, "on_merge": None},
    }
    lines: list[str] = []
    (read,) = read_runs([row], JOB, lines.append)
    assert read.job is not None and read.job.job_type == "adaptive"
    assert read.job.triggers is not None and not read.job.triggers.on_pull_requests
    assert lines == []


def test_an_odd_row_of_another_team_still_counts_for_its_slot_with_one_debug_line() -> None:
    lines: list[str] = []
    (read,) = read_runs([odd(2, trigger="not an object", status=3)], JOB, lines.append)
    assert (read.id, read.job_definition_id, read.status, read.trigger, read.pr_number) == (2, OTHER, 3, None, None)
    assert len(lines) == 1 and lines[0].startswith(f"Read run 2 of job {OTHER} for its run slot only (trigger")


def test_an_active_row_whose_status_or_job_cannot_be_read_holds_a_slot_of_an_unknown_job() -> None:
    lines: list[str] = []
    (read,) = read_runs([odd(3, status="running", job_definition_id=None)], JOB, lines.append)
    assert (read.id, read.job_definition_id, read.status, read.pr_number) == (3, UNKNOWN_JOB, RUNNING, None)
    assert len(lines) == 1 and lines[0].startswith("Read run 3 of job 0 for its run slot only")


def test_a_row_without_even_an_id_is_skipped_with_one_debug_line() -> None:
    lines: list[str] = []
    assert read_runs([odd(3, id="x"), "garbage"], JOB, lines.append) == []
    assert len(lines) == 2
    assert all(
        line.startswith("Skipped a run of another job that dbt Cloud sent in an unexpected shape") for line in lines
    )


@pytest.mark.parametrize(
    "row",
    [
        {**run(4, pr=7, sha=SHA_A), "trigger": "not an object"},
        {**run(5, job_id=900, job_name=f"CI{clone_marker(JOB, 7)}"), "status": "running"},
    ],
)
def test_a_run_of_this_job_or_its_clones_is_read_strictly(row: dict[str, Any]) -> None:
    assert of_family(row, JOB)
    with pytest.raises(DbtCloudError, match="unexpected shape"):
        read_runs([row], JOB, lambda _line: None)


def test_a_clone_of_another_job_is_not_of_the_family() -> None:
    assert not of_family(run(6, job_id=901, job_name=f"CI{clone_marker(OTHER, 7)}"), JOB)
    assert not of_family({"job_definition_id": OTHER, "job": None}, JOB)
