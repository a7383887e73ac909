"""The action's requests and the emulator's answers, checked against the official dbt Cloud API spec.

Documented exceptions, each a known gap between the spec and the live API (spec/dbt-cloud-api/NOTES.md):
- `status__in` is sent as one JSON-style value, `[1,2,3]`, as long-running clients do; the check reads it as
  the array the spec declares.
- `Authorization: Token <t>` is equivalent to the spec's `Bearer <t>`.
- The spec marks no field nullable, though the live API returns null for unset fields; null is accepted.
- The live API writes timestamps as `2026-01-01 12:00:00.000000+00:00` (a space, not `T`), as the emulator does;
  they are checked as RFC 3339 date-times.
- The emulator listens on loopback; requests are checked as if sent to the spec's server.
- The spec fails its own meta-validation (`default: ''` under `minLength: 1`), so that step is skipped.
- A job embedded in a run (InternalJobDefinition) is the live thin shape, which lacks `run_lint` and
  `errors_on_lint_failure`: they are not required there.
- `DELETE /jobs/{id}/` answers 200 with the job at state 2 (a soft delete), not the spec's 204; both are accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.rules.clone_body import clone_definition
from autoscale_ci.run import main
from dbt_cloud_emulator import Emulator, EmulatorConfig
from tests.harness import ROOT, input_defaults, parse_file_commands, pr_event, wait_for

SPEC = ROOT / "spec" / "dbt-cloud-api" / "openapi-v2.yaml"
SERVER = "https://cloud.getdbt.com"
SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40
# What a live 2024 answer's embedded job lacks of the spec's required fields (NOTES.md).
THIN_EMBEDDED_JOB_LACKS = ("run_lint", "errors_on_lint_failure")
_SPACED_TIME = re.compile(rb'"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))"')


def _nullable(schema: Any) -> Any:
    """The schema with null allowed wherever a value is."""
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {name: _nullable(sub) for name, sub in out["properties"].items()}
    if "items" in out:
        out["items"] = _nullable(out["items"])
    for key in ("allOf", "oneOf", "anyOf"):
        if key in out:
            out[key] = [sub if "$ref" in sub else _nullable(sub) for sub in out[key]]
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = _nullable(out["additionalProperties"])
    if any(key in out for key in ("type", "allOf", "oneOf", "anyOf")):
        out["nullable"] = True
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


@cache
def openapi() -> OpenAPI:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    embedded = schemas["InternalJobDefinition"]
    embedded["required"] = [key for key in embedded["required"] if key not in THIN_EMBEDDED_JOB_LACKS]
    job_path = spec["paths"]["/api/v2/accounts/{account_id}/jobs/{id}/"]
    job_path["delete"]["responses"]["200"] = job_path["get"]["responses"]["200"]
    spec["components"]["schemas"] = {name: _nullable(body) for name, body in schemas.items()}
    # The official spec does not pass its own meta-validation (a `default: ''` under `minLength: 1`), so only the
    # traffic is validated against it.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


class SpecRequest:
    """An httpx request as openapi-core reads it, with the documented exceptions applied."""

    def __init__(self, request: httpx.Request) -> None:
        query: dict[str, list[str]] = {}
        for key, value in request.url.params.multi_items():
            if key == "status__in" and value.startswith("["):
                query.setdefault(key, []).extend(json.loads(value) and [str(v) for v in json.loads(value)])
            else:
                query.setdefault(key, []).append(value)
        headers = dict(request.headers)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme == "Token":
            headers["authorization"] = f"Bearer {token}"
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(headers), cookie=ImmutableMultiDict()
        )
        self.host_url = SERVER
        self.path = request.url.path
        self.method = request.method.lower()
        self.body: bytes | None = request.content or None
        self.content_type = request.headers.get("content-type", "")


class SpecResponse:
    """An httpx response as openapi-core reads it."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.data = _SPACED_TIME.sub(rb'"\1T\2"', response.content)
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(dict(response.headers))


class Recorder(httpx.HTTPTransport):
    """A transport that keeps every exchange."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        self.exchanges.append((request, response))
        return response


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(run_slots=2, start_seconds=0.02, run_seconds=0.3)) as emulator:
        yield emulator


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recording = Recorder()
    original = DbtCloudClient.__init__

    def with_recorder(self: DbtCloudClient, *args: Any, **kwargs: Any) -> None:
        kwargs["transport"] = recording
        original(self, *args, **kwargs)

    monkeypatch.setattr(DbtCloudClient, "__init__", with_recorder)
    return recording


def run_action(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pr: int, sha: str, **inputs: str
) -> tuple[int, str]:
    """Run the action in this process; its exit code and the decision it output."""
    event = tmp_path / f"event-{pr}-{sha[:4]}.json"
    event.write_text(json.dumps(pr_event(pr, sha)), encoding="utf-8")
    given = {
        **input_defaults(),
        "dbt-cloud-token": emu.token,
        "account-id": str(emu.account_id),
        "job-id": str(emu.ci_job_id),
        "dbt-cloud-host": emu.url,
        "poll-interval": "0.05",
        **inputs,
    }
    for name, value in given.items():
        monkeypatch.setenv(f"INPUT_{name.upper()}", value)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE"):
        (tmp_path / name).write_text("", encoding="utf-8")
        monkeypatch.setenv(name, str(tmp_path / name))
    code = main()
    return code, parse_file_commands((tmp_path / "GITHUB_OUTPUT").read_text(encoding="utf-8")).get("decision", "")


def check(exchanges: list[tuple[httpx.Request, httpx.Response]]) -> None:
    """Validate every exchange against its API version's spec; one assertion lists every mismatch."""
    from tests.integration.test_conformance_v3 import openapi_v3  # it reuses this module's helpers

    problems: list[str] = []
    for request, response in exchanges:
        spec_request = SpecRequest(request)
        where = f"{request.method} {request.url.path}"
        spec = openapi_v3() if request.url.path.startswith("/api/v3/") else openapi()
        try:
            spec.validate_request(spec_request)
        except Exception as exc:
            problems.append(f"request {where}: {_reason(exc)}")
        if response.is_success:
            try:
                spec.validate_response(spec_request, SpecResponse(response))
            except Exception as exc:
                problems.append(f"response {where}: {_reason(exc)}")
    assert not problems, "\n".join(problems)


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    errors = getattr(cause, "schema_errors", None)
    if errors:
        return "; ".join(sorted({f"{'/'.join(map(str, e.absolute_path))}: {e.message}"[:200] for e in errors}))
    return str(cause)[:300]


def test_every_decision_path_speaks_the_spec(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    # PR #1's runs stay in flight until cancelled, so each later step meets the state its path needs.
    emu.hold(git_sha=SHA_A)
    emu.hold(git_sha=SHA_B)
    assert run_action(emu, tmp_path, monkeypatch, 1, SHA_A, wait="false") == (0, "plain-trigger")
    assert run_action(emu, tmp_path, monkeypatch, 2, SHA_C) == (0, "clone-and-trigger")  # waits, then deletes
    assert run_action(emu, tmp_path, monkeypatch, 1, SHA_B, wait="false") == (0, "cancel-and-retrigger")
    kept = run_action(emu, tmp_path, monkeypatch, 3, SHA_B, wait="false", **{"delete-clone": "false"})
    assert kept == (0, "clone-and-trigger")
    assert run_action(emu, tmp_path, monkeypatch, 1, SHA_B, wait="false") == (0, "follow")
    methods = {(request.method, request.url.path.rsplit("/", 2)[-2]) for request, _ in recorder.exchanges}
    assert {method for method, _ in methods} == {"GET", "POST", "DELETE"}
    check(recorder.exchanges)


def test_client_calls_speak_the_spec(emu: Emulator, recorder: Recorder) -> None:
    with DbtCloudClient(emu.url, emu.token, emu.account_id) as client:
        job = client.get_job(emu.ci_job_id or 0)
        clone = client.create_job(clone_definition(job.definition(), job.id, 9))
        client.update_job(clone.id, clone_definition(job.definition(), job.id, 10))
        assert [found.id for found in client.list_jobs("[autoscale")] == [clone.id]
        run = client.trigger_run(
            clone.id,
            {
                "cause": "conformance",
                "git_sha": SHA_A,
                "github_pull_request_id": 9,
                "schema_override": "dbt_cloud_pr_1_9",
                "steps_override": ["dbt build"],
                "threads_override": 2,
                "generate_docs_override": False,
                "timeout_seconds_override": 60,
                "target_name_override": "ci",
                "git_branch": "feature",
            },
        )
        client.get_run(run.id)
        client.active_run_rows()
        client.recent_run_rows(job_id=clone.id, id_gt=0)
        client.cancel_run(run.id)
        assert client.get_run(run.id, related='["run_steps"]').run_steps is not None
        with pytest.raises(DbtCloudError):  # a cancelled run has no artifacts; the request is still checked
            client.get_artifact(run.id, "run_results.json", step=4)
        client.get_account()
        assert client.delete_job(clone.id) is True
    check(recorder.exchanges)


def test_a_finished_runs_steps_and_step_artifacts_speak_the_spec(emu: Emulator, recorder: Recorder) -> None:
    with DbtCloudClient(emu.url, emu.token, emu.account_id) as client:
        body = {"cause": "conformance", "generate_docs_override": True}
        run = client.trigger_run(emu.ci_job_id or 0, body)
        wait_for(lambda: not client.get_run(run.id).is_active, what=f"run {run.id} finishing", every=0.05)
        steps = sorted(client.get_run(run.id, related='["run_steps"]').run_steps or [], key=lambda s: s.index)
        assert [step.index for step in steps] == list(range(1, len(steps) + 1)) and len(steps) >= 5
        assert client.get_artifact(run.id, "run_results.json", step=len(steps) - 1)
    check(recorder.exchanges)


def test_a_request_off_the_spec_is_caught(emu: Emulator) -> None:
    request = httpx.Request(
        "POST",
        f"{emu.url}/api/v2/accounts/{emu.account_id}/jobs/{emu.ci_job_id}/run/",
        json={"cause": "x", "github_pull_request_id": "12"},
        headers={"Authorization": "Token t"},
    )
    with pytest.raises(Exception, match=r"(?i)validation error"):
        openapi().validate_request(SpecRequest(request))
