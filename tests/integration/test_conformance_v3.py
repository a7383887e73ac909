"""The emulator's v3 job-level environment variable endpoints, driven with httpx and checked against the official
v3 spec (openapi-v3.yaml) as test_conformance.py checks v2.

The same documented exceptions apply (spec/dbt-cloud-api/NOTES.md): `Authorization: Token <t>` is equivalent to
the spec's `Bearer <t>`; null is accepted wherever a value is (the spec marks nothing nullable, live answers are
full of nulls); spaced timestamps are checked as RFC 3339 date-times; loopback requests are checked as if sent to
the spec's server; and the spec's own meta-validation is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import httpx
import pytest
import yaml
from openapi_core import Config, OpenAPI

from dbt_cloud_emulator import Emulator, EmulatorConfig
from tests.emulator.test_env_vars import override_body
from tests.harness import ROOT
from tests.integration.test_conformance import Recorder, SpecRequest, SpecResponse, _nullable, _reason

SPEC = ROOT / "spec" / "dbt-cloud-api" / "openapi-v3.yaml"


@cache
def openapi_v3() -> OpenAPI:
    """The v3 spec with null allowed wherever a value is, as test_conformance.py reads v2."""
    path = SPEC
    # The v3 spec is 400 kB: the C loader reads it in a fraction of the pure-Python one's time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    spec["components"]["schemas"] = {name: _nullable(body) for name, body in spec["components"]["schemas"].items()}
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def check_v3(exchanges: list[tuple[httpx.Request, httpx.Response]]) -> None:
    """Validate every exchange against the v3 spec; one assertion lists every mismatch."""
    assert exchanges, "nothing was sent"
    problems: list[str] = []
    for request, response in exchanges:
        spec_request = SpecRequest(request)
        where = f"{request.method} {request.url.path}"
        try:
            openapi_v3().validate_request(spec_request)
        except Exception as exc:
            problems.append(f"request {where}: {_reason(exc)}")
        if response.is_success:
            try:
                openapi_v3().validate_response(spec_request, SpecResponse(response))
            except Exception as exc:
                problems.append(f"response {where}: {_reason(exc)}")
    assert not problems, "\n".join(problems)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(speed=0)) as emulator:
        yield emulator


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def env(emu: Emulator, recorder: Recorder) -> Iterator[httpx.Client]:
    """An admin client at the project's environment variables whose exchanges `recorder` keeps."""
    base = f"{emu.url}/api/v3/accounts/{emu.account_id}/projects/{emu.project_id}/environment-variables"
    headers = {"Authorization": f"Token {emu.token}"}
    with httpx.Client(base_url=base, headers=headers, transport=recorder, timeout=10) as client:
        yield client


def job_override(emu: Emulator, job_id: int, name: str, value: str) -> dict[str, Any]:
    """A create body for a job override."""
    return override_body(emu, job_id, name, raw_value=value)


def test_reading_and_copying_job_overrides_speaks_the_v3_spec(
    emu: Emulator, env: httpx.Client, recorder: Recorder
) -> None:
    source = emu.ci_job_id or 0
    clone = emu.seed_job("Clone")
    emu.set_env_var("DBT_TARGET", project="dev", environment="ci", job_id=source, job_value="pr")
    emu.set_env_var("DBT_ENV_SECRET_TOKEN", project="p", job_id=source, job_value="s")
    emu.set_env_var("DBT_ONLY_ELSEWHERE", environment="prod", environment_id=1)
    read = env.get("/job/", params={"job_definition_id": source, "include_related": "project"})
    assert read.status_code == 200, read.text
    for name, scopes in read.json()["data"].items():
        if "job" in scopes:
            copied = env.post("/", json=job_override(emu, clone, name, scopes["job"]["value"]))
            assert copied.status_code == 200, copied.text
    project_value = {**job_override(emu, clone, "DBT_THREADS", "4"), "type": "project"}
    del project_value["job_definition_id"]
    environment_value = {**project_value, "type": "environment", "environment_id": emu.environment_id}
    for body in (project_value, environment_value, {**project_value, "name": "DBT_X", "display_value": "x"}):
        assert env.post("/", json=body).status_code == 200
    after = env.get("/job/", params={"job_definition_id": clone}).json()["data"]
    assert {name: scopes["job"]["value"] for name, scopes in after.items() if "job" in scopes} == {
        "DBT_TARGET": "pr",
        "DBT_ENV_SECRET_TOKEN": "**********",
    }
    assert len(recorder.exchanges) == 7
    check_v3(recorder.exchanges)


@pytest.mark.parametrize("shape", ["null_scopes", "null_values", "null"])
def test_the_null_shapes_are_within_the_documented_null_exception(
    emu: Emulator, env: httpx.Client, recorder: Recorder, shape: str
) -> None:
    emu.set_env_var("DBT_TARGET", project="dev", job_id=emu.ci_job_id, job_value="pr")
    emu.set_env_answer_shape(shape)
    assert env.get("/job/", params={"job_definition_id": emu.ci_job_id}).status_code == 200
    check_v3(recorder.exchanges)


def test_a_list_shaped_answer_is_caught_by_the_spec(emu: Emulator, env: httpx.Client, recorder: Recorder) -> None:
    emu.set_env_var("DBT_TARGET", project="dev")
    emu.set_env_answer_shape("list")
    env.get("/job/", params={"job_definition_id": emu.ci_job_id})
    with pytest.raises(AssertionError, match=r"response GET .*data"):
        check_v3(recorder.exchanges)


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("GET", "/job/", {}, None),
        ("GET", "/job/", {"job_definition_id": "abc"}, None),
        ("POST", "/", {}, {"account_id": 1, "project_id": 2, "name": "DBT_X"}),
        ("POST", "/", {}, {"account_id": 1, "project_id": 2, "name": "DBT_X", "type": "job", "job_definition_id": "3"}),
        ("POST", "/", {}, {"account_id": 1, "project_id": 2, "name": "DBT_X", "type": "team"}),
    ],
)
def test_a_request_off_the_v3_spec_is_caught(
    emu: Emulator, method: str, path: str, params: dict[str, str], body: dict[str, Any] | None
) -> None:
    base = f"{emu.url}/api/v3/accounts/{emu.account_id}/projects/{emu.project_id}/environment-variables"
    request = httpx.Request(method, base + path, params=params, json=body, headers={"Authorization": "Token t"})
    with pytest.raises(Exception, match=r"(?i)validation error|parameter"):
        openapi_v3().validate_request(SpecRequest(request))
