"""Request body checks, answering with field errors shaped like dbt Cloud's: Django REST framework's lists for most
endpoints, plain strings (voluptuous) for the job create and update bodies."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .protocol import ApiError, JsonDict

INVALID_REQUEST = "The request was invalid. Please double check the provided data and try again."
REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_BLANK = "This field may not be blank."

JOB_TYPES = ("ci", "scheduled", "other", "merge", "exposure_sync", "adaptive", "hybrid")
JOB_FLAGS = (
    "errors_on_lint_failure",
    "generate_docs",
    "lifecycle_webhooks",
    "run_compare_changes",
    "run_generate_sources",
    "run_lint",
)

TRIGGER_FIELDS: dict[str, str] = {
    "cause": "str",
    "git_sha": "str",
    "git_branch": "str",
    "azure_pull_request_id": "int",
    "github_pull_request_id": "int",
    "gitlab_merge_request_id": "int",
    "non_native_pull_request_id": "int",
    "schema_override": "str",
    "dbt_version_override": "str",
    "threads_override": "int",
    "target_name_override": "str",
    "generate_docs_override": "bool",
    "timeout_seconds_override": "int",
    "steps_override": "str_list",
}

_OPTIONAL_JOB_FIELDS: dict[str, str] = {
    "dbt_version": "str",
    "deferring_environment_id": "int",
    "deferring_job_definition_id": "int",
    "description": "text",
    "execute_steps": "str_list",
    "compare_changes_flags": "str",
    "cost_optimization_features": "str_list",
    "triggers_on_draft_pr": "bool",
    "generate_sources": "bool",
}

_TRIGGER_FLAGS: dict[str, tuple[str, bool]] = {
    "github_webhook": ("bool", True),
    "schedule": ("bool", True),
    "git_provider_webhook": ("bool", False),
    "on_merge": ("bool", False),
}

MISSING: Any = object()


def _type_name(value: Any) -> str:
    return {dict: "dict", list: "list", str: "str", bool: "bool", int: "int", float: "float"}.get(
        type(value), type(value).__name__
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "int": (_is_int, "A valid integer is required."),
    "bool": (lambda v: isinstance(v, bool), "Must be a valid boolean."),
    "str": (lambda v: isinstance(v, str), "Not a valid string."),
    "text": (lambda v: isinstance(v, str), "Not a valid string."),
    "dict": (lambda v: isinstance(v, dict), 'Expected a dictionary of items but got type "{type}".'),
    "str_list": (lambda v: isinstance(v, list), 'Expected a list of items but got type "{type}".'),
}


def problem(kind: str, value: Any) -> Any:
    """The DRF-style error for `value` as a `kind`, or None when it is acceptable."""
    check, message = _CHECKS[kind]
    if not check(value):
        return [message.format(type=_type_name(value))]
    if kind == "str" and not value.strip():
        return [NOT_BLANK]
    if kind == "str_list":
        items = {str(i): problem("str", item) for i, item in enumerate(value)}
        items = {i: err for i, err in items.items() if err is not None}
        return items or None
    return None


class Fields:
    """Takes typed fields out of a JSON object, collecting every error before raising."""

    def __init__(self, body: JsonDict) -> None:
        self.body = body
        self.errors: JsonDict = {}

    def take(self, name: str, kind: str, *, required: bool = False) -> Any:
        """The field's value, None when null, MISSING when absent or invalid."""
        if name not in self.body:
            if required:
                self.errors[name] = [REQUIRED]
            return MISSING
        value = self.body[name]
        if value is None:
            if required:
                self.errors[name] = [NOT_NULL]
                return MISSING
            return None
        err = problem(kind, value)
        if err is not None:
            self.errors[name] = err
            return MISSING
        return value

    def raise_if_any(self) -> None:
        """Raise a 400 carrying every collected field error."""
        if self.errors:
            raise ApiError(400, INVALID_REQUEST, self.errors)


def _object(body: Any) -> JsonDict:
    if not isinstance(body, dict):
        raise ApiError(
            400,
            INVALID_REQUEST,
            {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {_type_name(body)}."]},
        )
    return body


# The job endpoints check bodies with voluptuous, not DRF: NOTES.md, "field errors as strings (`"id": "required key
# not provided"`), sometimes with `extra: {}` and `error_code: null` beside `status` and `data`".
VOL_REQUIRED = "required key not provided"
ID_MISMATCH = "The provided id does not match."
JOB_ERROR_BESIDE: JsonDict = {"extra": {}, "error_code": None}
# A guess: voluptuous's own wording for a value of the wrong type, and for a string too short (the spec's minLength).
_VOL_TYPES = {
    "int": "expected int",
    "bool": "expected bool",
    "str": "expected str",
    "text": "expected str",
    "dict": "expected a dictionary",
    "str_list": "expected a list",
}
VOL_BLANK = "length of value must be at least 1"
# Inside the objects of a job body, errors read as jsonschema's: the one message seen there ("Additional properties
# are not allowed ('custom_branch_only' was unexpected)", NOTES.md) is its wording; the others are a guess.
_JSON_TYPES = {"int": "integer", "bool": "boolean", "str": "string", "text": "string", "dict": "object"}


def _not_one_of(choices: list[Any]) -> str:
    """voluptuous's `In` error (a guess at the wording dbt Cloud passes on)."""
    return f"value must be one of {choices}"


def _job_problem(kind: str, value: Any) -> str | None:
    """The voluptuous-style error for a non-null top-level value as a `kind`, or None when it is acceptable."""
    if not _CHECKS[kind][0](value):
        return _VOL_TYPES[kind]
    if kind == "str" and not value.strip():
        return VOL_BLANK
    if kind == "str_list":
        for item in value:
            err = _job_problem("str", item)
            if err is not None:
                return err
    return None


def _schema_problem(value: JsonDict, spec: dict[str, tuple[str, bool]], *, closed: bool) -> str | None:
    """The first jsonschema-style error of an object whose keys follow `spec`, or None; a null optional key is fine."""
    unexpected = [key for key in value if key not in spec] if closed else []
    if unexpected:
        names = ", ".join(repr(key) for key in unexpected)
        return f"Additional properties are not allowed ({names} {'was' if len(unexpected) == 1 else 'were'} unexpected)"
    for key, (kind, required) in spec.items():
        if key not in value:
            if required:
                return f"{key!r} is a required property"
            continue
        inner = value[key]
        if inner is None and not required:
            continue
        if not _CHECKS[kind][0](inner):
            return f"{inner!r} is not of type {_JSON_TYPES[kind]!r}"
        if kind == "str" and not inner.strip():
            return f"{inner!r} should be non-empty"
    return None


class JobFields:
    """Takes typed fields out of a job body, collecting every error (one string per field) before raising."""

    def __init__(self, body: JsonDict) -> None:
        self.body = body
        self.errors: JsonDict = {}

    def take(self, name: str, kind: str, *, required: bool = False, nullable: bool = False) -> Any:
        """The field's value, None when null (and allowed), MISSING when absent or invalid."""
        if name not in self.body:
            if required:
                self.errors[name] = VOL_REQUIRED
            return MISSING
        value = self.body[name]
        if value is None:
            if required and not nullable:
                self.errors[name] = _VOL_TYPES[kind]
                return MISSING
            return None
        err = _job_problem(kind, value)
        if err is not None:
            self.errors[name] = err
            return MISSING
        return value

    def nested(
        self,
        name: str,
        spec: dict[str, tuple[str, bool]],
        *,
        required: bool,
        nullable: bool = False,
        closed: bool = False,
    ) -> Any:
        """A sub-object whose keys follow `spec` (key -> (kind, required)); with `closed`, any other key is an
        error, else other keys are dropped."""
        value = self.take(name, "dict", required=required, nullable=nullable)
        if not isinstance(value, dict):
            return value
        err = _schema_problem(value, spec, closed=closed)
        if err is not None:
            self.errors[name] = err
            return MISSING
        return {key: value[key] for key in spec if key in value}

    def raise_if_any(self) -> None:
        """Raise a 400 carrying every collected field error, with the members job errors carry beside them."""
        if self.errors:
            raise ApiError(400, INVALID_REQUEST, self.errors, beside=dict(JOB_ERROR_BESIDE))


def _job_object(body: Any) -> JsonDict:
    if not isinstance(body, dict):
        # A guess: voluptuous's words for a body that is no object, under DRF's key for errors of no one field.
        raise ApiError(400, INVALID_REQUEST, {"non_field_errors": _VOL_TYPES["dict"]}, beside=dict(JOB_ERROR_BESIDE))
    return body


def job_fields(body: Any, account_id: int, *, create: bool) -> JsonDict:
    """The writable fields of a job create/update body (HumanReadableJobDefinitionRequest), or a 400 whose field
    errors are strings, as dbt Cloud's job endpoints answer them (see JobFields)."""
    f = JobFields(_job_object(body))
    if create:
        # NOTES.md: the live API answers "required key not provided" to a create body without `id` or `schedule`;
        # the clients that run against it send `"id": null` and a schedule object. An id given is ignored (a guess).
        f.take("id", "int", required=True, nullable=True)
    out: JsonDict = {
        name: f.take(name, "int", required=True) for name in ("account_id", "project_id", "environment_id")
    }
    out["name"] = f.take("name", "str", required=True)
    out["state"] = f.take("state", "int", required=True)
    out.update({flag: f.take(flag, "bool", required=True) for flag in JOB_FLAGS})
    out["execution"] = f.nested("execution", {"timeout_seconds": ("int", True)}, required=True)
    out["settings"] = f.nested("settings", {"threads": ("int", True), "target_name": ("str", True)}, required=True)
    # NOTES.md: `triggers.custom_branch_only` (deprecated in the spec) is refused with jsonschema's "Additional
    # properties are not allowed", so the triggers object is closed to any key but the four flags.
    out["triggers"] = f.nested("triggers", _TRIGGER_FLAGS, required=True, closed=True)
    out.update({name: f.take(name, kind) for name, kind in _OPTIONAL_JOB_FIELDS.items()})
    out["job_type"] = f.take("job_type", "str")
    # A missing schedule is refused on create (NOTES.md); a null one is refused too, a guess on the strict side. An
    # update may leave it out or send null (the job keeps its own).
    out["schedule"] = f.nested(
        "schedule",
        {"cron": ("str", False), "date": ("dict", True), "time": ("dict", True)},
        required=create,
        nullable=not create,
    )
    if out["account_id"] is not MISSING and out["account_id"] != account_id:
        f.errors["account_id"] = "Must match the account in the URL."
    if out["state"] not in (MISSING, 1, 2):
        f.errors["state"] = _not_one_of([1, 2])
    if out["job_type"] not in (MISSING, None, *JOB_TYPES):
        f.errors["job_type"] = _not_one_of(sorted(JOB_TYPES))
    f.raise_if_any()
    return {name: value for name, value in out.items() if value is not MISSING}


def matching_id(body: Any, expected: int) -> None:
    """A 400 unless an update body carries `id` equal to the id in its path (NOTES.md: reported against the spec
    2024-11, confirmed 2025-01, for jobs; the same for an environment variable's value)."""
    given = body.get("id") if isinstance(body, dict) else None
    # A guess: compared as integers, so a string id matches nothing.
    if not _is_int(given) or given != expected:
        raise ApiError(400, INVALID_REQUEST, {"id": ID_MISMATCH}, beside=dict(JOB_ERROR_BESIDE))


def trigger_fields(body: Any) -> JsonDict:
    """The fields of a trigger body (TriggerRunRequestRequest); only `cause` is required."""
    f = Fields(_object(body))
    out = {name: f.take(name, kind, required=name == "cause") for name, kind in TRIGGER_FIELDS.items()}
    f.raise_if_any()
    return {name: (None if value is MISSING else value) for name, value in out.items()}


# Every variable dbt Cloud accepts starts with DBT_ (DBT_ENV_SECRET_ and DBT_ENV_CUSTOM_ENV_ included).
ENV_VAR_NAME = re.compile(r"DBT_[A-Za-z0-9_]*")
ENV_VAR_TYPES = ("project", "environment", "job", "user")
# Which id field each type of value is bound by; a project value needs none.
ENV_VAR_BINDINGS = {"environment": "environment_id", "job": "job_definition_id", "user": "user_id"}


def env_var_name_problem(name: str) -> str | None:
    """Why dbt Cloud would refuse this variable name, or None."""
    if ENV_VAR_NAME.fullmatch(name) is None:
        return "Environment variable names must start with DBT_ and hold only letters, digits and underscores."
    return None


def env_var_fields(body: Any, account_id: int, project_id: int) -> JsonDict:
    """The fields of a create body (CustomEnvironmentVariableRequest); the id its type binds it to is required."""
    f = Fields(_object(body))
    out: JsonDict = {name: f.take(name, "int", required=True) for name in ("account_id", "project_id")}
    out["name"] = f.take("name", "str", required=True)
    out["type"] = f.take("type", "str", required=True)
    # The spec leaves raw_value optional, but a value without one would override with nothing.
    out["raw_value"] = f.take("raw_value", "str", required=True)
    out["display_value"] = f.take("display_value", "str")
    out["state"] = f.take("state", "int")
    binding = ENV_VAR_BINDINGS.get(out["type"]) if isinstance(out["type"], str) else None
    for name in ENV_VAR_BINDINGS.values():
        out[name] = f.take(name, "int", required=name == binding)
    if out["account_id"] is not MISSING and out["account_id"] != account_id:
        f.errors["account_id"] = ["Must match the account in the URL."]
    if out["project_id"] is not MISSING and out["project_id"] != project_id:
        f.errors["project_id"] = ["Must match the project in the URL."]
    if out["name"] is not MISSING and (why := env_var_name_problem(out["name"])) is not None:
        f.errors["name"] = [why]
    if out["type"] not in (MISSING, *ENV_VAR_TYPES):
        f.errors["type"] = [f'"{out["type"]}" is not a valid choice.']
    if out["state"] not in (MISSING, None, 1, 2):
        f.errors["state"] = [f'"{out["state"]}" is not a valid choice.']
    f.raise_if_any()
    return {name: (None if value is MISSING else value) for name, value in out.items()}


def missing_object(value: int) -> list[str]:
    """DRF's error for an id that names no object (a PrimaryKeyRelatedField)."""
    return [f'Invalid pk "{value}" - object does not exist.']
