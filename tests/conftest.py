from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

from tests import harness
from tests.builders import BASE, JOB, SHA_A, TOKEN

FIXTURES = Path(__file__).parent / "fixtures" / "github-events"


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """A mocked dbt Cloud account; unmatched requests fail the test."""
    with respx.mock(base_url=BASE, assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def pr_event(number: Any = 7, sha: str = SHA_A, **fields: Any) -> dict[str, Any]:
    """A pull_request event payload; `fields` replace fields of its pull_request object as given."""
    event = harness.pr_event(7, sha)
    event["number"] = number
    event["pull_request"].update({"number": number, **fields})
    return event


@pytest.fixture
def action_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The environment a Docker action runs in, with an event for PR #7 at SHA_A."""
    for key in list(__import__("os").environ):
        if key.startswith(("INPUT_", "GITHUB_", "STATE_")):
            monkeypatch.delenv(key)
    files = {name: tmp_path / name for name in ("event.json", "output", "summary", "state")}
    files["event.json"].write_text(json.dumps(pr_event()), encoding="utf-8")
    for name in ("output", "summary", "state"):
        files[name].write_text("", encoding="utf-8")
    env = {
        "INPUT_DBT-CLOUD-TOKEN": TOKEN,
        "INPUT_ACCOUNT-ID": "1",
        "INPUT_JOB-ID": str(JOB),
        "INPUT_POLL-INTERVAL": "0.01",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(files["event.json"]),
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "GITHUB_STATE": str(files["state"]),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return files


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT or GITHUB_STATE file."""
    return harness.parse_file_commands(path.read_text(encoding="utf-8"))
