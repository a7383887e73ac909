"""A failed run's failed step end to end: its results, or the end of its log, in the step log, summary and comment."""

from __future__ import annotations

from dbt_cloud_emulator import Emulator
from tests.fake_github import FakeGitHub
from tests.integration.conftest import StepFactory

SHA_A = "a" * 40
REPO = "acme/analytics"
DEPS_ERROR = "Package dbt-labs/dbt_utilz was not found in the package index"


def test_a_run_that_failed_in_dbt_deps_shows_that_step_and_the_end_of_its_log(
    emu: Emulator, step: StepFactory, github: FakeGitHub
) -> None:
    emu.set_outcome("deps_error", git_sha=SHA_A)
    action = step(7, SHA_A)
    action.env["GITHUB_API_URL"] = github.url
    done = action.run()
    assert done.returncode == 1, done.stdout
    assert "failed: Failed to install packages with `dbt deps`" in done.lines("::error")[-1]
    for where in (done.summary, github.comments_on(REPO, 7)[0].body):
        assert "#### Failed in step 3: `dbt deps`" in where
        assert DEPS_ERROR in where
        assert "\x1b" not in where
    log = done.stdout.splitlines()
    opened = log.index("::group::Step 3 failed: Invoke dbt with `dbt deps` (end of its log)")
    stop = log[opened + 1]
    assert stop.startswith("::stop-commands::")
    resume = log.index(f"::{stop.removeprefix('::stop-commands::')}::")
    shown = log[opened + 2 : resume]
    assert shown[-1] == DEPS_ERROR and all("\x1b" not in line for line in shown)
    assert log[resume + 1] == "::endgroup::"
    assert done.outputs["failed-nodes"] == "" and done.outputs["nodes-summary"] == ""


def test_a_failed_build_reports_its_nodes_from_the_failed_step(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    done = step(7, SHA_A, **{"generate-docs-override": "true", "pr-comment": "never"}).run()
    assert done.returncode == 1, done.stdout
    assert "failed in step 4 (Invoke dbt with `dbt build --select state:modified+`)" in done.stdout
    assert "| `model.emulated_project.stg_orders` | error |" in done.summary
    assert "Failed in step" not in done.summary  # the nodes say why; the log is not needed


def test_a_log_of_megabytes_is_bounded_everywhere(emu: Emulator, step: StepFactory) -> None:
    emu.set_outcome("error", git_sha=SHA_A)
    emu.set_log_lines(40_000)
    emu.inject(404, count=10, path=r".*/artifacts/run_results\.json")  # the failed step left no results
    done = step(7, SHA_A, **{"pr-comment": "never"}).run()
    assert done.returncode == 1, done.stdout
    assert "#### Failed in step 4:" in done.summary and "Done. PASS=2 WARN=0 ERROR=1" in done.summary
    assert len(done.summary) < 20_000
    assert len(done.stdout) < 40_000
