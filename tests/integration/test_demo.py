"""`make demo` must keep telling the story it promises."""

from __future__ import annotations

import subprocess
import sys

from tests.harness import ROOT


def test_demo_story_runs_every_decision_and_leaves_nothing_behind() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo.py")], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    decisions = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("decision:")]
    assert decisions == ["plain-trigger", "clone-and-trigger", "cancel-and-retrigger", "plain-trigger", "plain-trigger"]
    assert "Clones left: 0. Runs still active: 0." in result.stdout
    # The failing push's comment names the node that failed.
    failing = result.stdout.split("=== 5. ", 1)[1].split("pull request comment", 1)[1]
    assert "> ### ❌ dbt Cloud CI: error" in failing and "`model.emulated_project.stg_orders` | error" in failing
    assert "dbtc_demo_token" not in result.stdout
    # At the end, each pull request's one comment as its reviewer sees it: PR #1's for its newest commit.
    finals = result.stdout.split("=== PR #")[1:]
    assert [final.split("'", 1)[0] for final in finals] == ["1", "2", "3", "4"]
    assert "commit `1c1c1c1`" in finals[0] and "cancel-and-retrigger" in finals[0]
