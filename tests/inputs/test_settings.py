from __future__ import annotations

import pytest

from autoscale_ci.inputs.settings import InvalidInputs, Settings, load_settings, normalize_host
from tests.builders import TOKEN

REQUIRED = {"INPUT_DBT-CLOUD-TOKEN": TOKEN, "INPUT_ACCOUNT-ID": "1", "INPUT_JOB-ID": "73797"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("INPUT_"):
            monkeypatch.delenv(key)


def load(monkeypatch: pytest.MonkeyPatch, **inputs: str) -> Settings:
    for key, value in {**REQUIRED, **inputs}.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def errors(monkeypatch: pytest.MonkeyPatch, **inputs: str) -> dict[str, str]:
    with pytest.raises(InvalidInputs) as caught:
        load(monkeypatch, **inputs)
    names = [error.name for error in caught.value.invalid]
    assert len(names) == len(set(names)), f"more than one error for an input: {names}"
    return {error.name: error.message for error in caught.value.invalid}


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch)
    assert settings.token == TOKEN
    assert (settings.account_id, settings.job_id) == (1, 73797)
    assert settings.dbt_cloud_host == "https://cloud.getdbt.com"
    assert settings.delete_clone is True and settings.wait is True and settings.run_on_draft is False
    assert settings.poll_interval == 30.0
    assert settings.max_run_slots is None and settings.steps_override is None


def test_empty_inputs_mean_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, **{"INPUT_WAIT": "", "INPUT_DBT-CLOUD-HOST": "", "INPUT_MAX-RUN-SLOTS": ""})
    assert settings.wait is True
    assert settings.dbt_cloud_host == "https://cloud.getdbt.com"
    assert settings.max_run_slots is None


def test_hyphenated_inputs_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(
        monkeypatch,
        **{
            "INPUT_DELETE-CLONE": "false",
            "INPUT_MAX-RUN-SLOTS": "2",
            "INPUT_STEPS-OVERRIDE": "dbt build -s state:modified+\n\n  dbt test  \n",
            "INPUT_THREADS-OVERRIDE": "8",
            "INPUT_GENERATE-DOCS-OVERRIDE": "true",
            "INPUT_SCHEMA-OVERRIDE": "ci_pr",
        },
    )
    assert settings.delete_clone is False
    assert settings.max_run_slots == 2
    assert settings.steps_override == ["dbt build -s state:modified+", "dbt test"]
    assert settings.threads_override == 8
    assert settings.generate_docs_override is True
    assert settings.schema_override == "ci_pr"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("cloud.getdbt.com", "https://cloud.getdbt.com"),
        ("https://emea.dbt.com/", "https://emea.dbt.com"),
        ("  https://AB123.us1.dbt.com  ", "https://ab123.us1.dbt.com"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://localhost:9000/", "http://localhost:9000"),
        ("localhost:9000", "https://localhost:9000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_hosts_are_normalised(raw: str, expected: str) -> None:
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("http://cloud.getdbt.com", "https"),
        ("ftp://cloud.getdbt.com", "scheme"),
        ("https://cloud.getdbt.com/api/v2", "no path"),
        ("https://user:pw@cloud.getdbt.com", "no path"),
        ("https://bad_host!", "valid host"),
        ("https://cloud.getdbt.com:99999", "port"),
        ("javascript:alert(1)", "scheme 'javascript'"),
    ],
)
def test_bad_hosts_are_refused(raw: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        normalize_host(raw)


def test_missing_required_inputs_are_each_named(monkeypatch: pytest.MonkeyPatch) -> None:
    found = errors(monkeypatch, **{"INPUT_DBT-CLOUD-TOKEN": "", "INPUT_ACCOUNT-ID": "", "INPUT_JOB-ID": ""})
    assert set(found) == {"dbt-cloud-token", "job-id"}  # an empty account-id is the token's own account
    assert "is required" in found["dbt-cloud-token"]
    assert "secrets.DBT_CLOUD_TOKEN" in found["dbt-cloud-token"]


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("INPUT_ACCOUNT-ID", "abc", "whole number"),
        ("INPUT_JOB-ID", "-4", "greater than 0"),
        ("INPUT_JOB-ID", "1.5", "whole number"),
        ("INPUT_JOB-ID", "99999999999999999999999", "less than"),
        ("INPUT_WAIT", "maybe", "true or false"),
        ("INPUT_POLL-INTERVAL", "0", "greater than 0"),
        ("INPUT_POLL-INTERVAL", "soon", "a number"),
        ("INPUT_MAX-RUN-SLOTS", "0", "greater than 0"),
        ("INPUT_THREADS-OVERRIDE", "many", "whole number"),
        ("INPUT_SCHEMA-OVERRIDE", "drop table x;", "plain identifier"),
        ("INPUT_STEPS-OVERRIDE", "dbt build\nrm -rf /", "not a dbt command"),
        ("INPUT_DBT-CLOUD-HOST", "http://cloud.getdbt.com", "https"),
        ("INPUT_GIT-SHA", "abc123", "40-character"),
        ("INPUT_CAUSE", "x" * 300, "at most"),
        ("INPUT_GIT-BRANCH", "main\u0007", "control characters"),
    ],
)
def test_bad_values_name_the_input_and_fix(monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str) -> None:
    input_name = name.removeprefix("INPUT_").lower()
    found = errors(monkeypatch, **{name: value})
    assert list(found) == [input_name]
    assert says in found[input_name]
    assert f"Input '{input_name}'" in found[input_name]
    assert ": " in found[input_name]  # the fix follows the colon
    assert not found[input_name].endswith("correct the value.")  # every input has a fix of its own


def test_token_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    found = errors(monkeypatch, **{"INPUT_DBT-CLOUD-TOKEN": "bad token with spaces"})
    assert "bad token" not in found["dbt-cloud-token"]
    assert TOKEN not in repr(load(monkeypatch))


def test_every_input_keeps_its_fix_beside_its_field() -> None:
    from autoscale_ci.inputs.settings import Settings, input_names

    fixes = {name: field.description for name, field in zip(input_names(), Settings.model_fields.values(), strict=True)}
    missing = [name for name, fix in fixes.items() if not fix or fix.endswith(".")]
    assert missing == [], "give each _input a fix= (no final period: the message adds it)"


def test_a_bad_token_is_never_quoted_back(monkeypatch: pytest.MonkeyPatch) -> None:
    found = errors(
        monkeypatch, **{"INPUT_GITHUB-TOKEN": "ghp_NotQuoted123 x", "INPUT_DBT-CLOUD-TOKEN": "dbtc_NotQuoted456 y"}
    )
    assert set(found) == {"github-token", "dbt-cloud-token"}
    assert "NotQuoted" not in " ".join(found.values())


@pytest.mark.parametrize("value", ["yes", "on", "1", "0", "no", "off", "truthy"])
def test_a_boolean_is_true_or_false_and_nothing_else(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    found = errors(monkeypatch, **{"INPUT_WAIT": value})
    assert found["wait"] == f"Input 'wait' must be true or false (got '{value}'): set true or false."


@pytest.mark.parametrize(("value", "expected"), [(" true", True), ("TRUE ", True), (" False", False)])
def test_true_and_false_are_read_in_any_case_with_spaces_around(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    assert load(monkeypatch, **{"INPUT_WAIT": value}).wait is expected


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("INPUT_POLL-INTERVAL", "100000", "must be at most 3600 (got '100000'): set a number of seconds greater than 0 "
         "and at most 3600 (an hour), the bounds the inputs table gives."),
        ("INPUT_CAUSE", "x" * 300, "must be at most 255 characters (got"),
    ],
)  # fmt: skip
def test_a_bound_is_said_as_a_person_writes_it_and_its_fix_matches(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    input_name = name.removeprefix("INPUT_").lower()
    message = errors(monkeypatch, **{name: value})[input_name]
    assert said in message
    assert message.count(input_name) == 1  # named once


def test_on_the_command_line_an_input_is_a_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {**REQUIRED, "INPUT_WAIT": "yes"}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InvalidInputs) as caught:
        load_settings(naming="flag")
    (error,) = caught.value.invalid
    assert error.message.startswith("Flag --wait must be true or false")
    assert error.title == "Invalid flag"
