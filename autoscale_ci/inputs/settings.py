"""Action inputs (`INPUT_<NAME>`, hyphens kept) validated into one typed object."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from autoscale_ci.errors import ActionError, InputError
from autoscale_ci.inputs.github_event import FULL_SHA

DEFAULT_HOST = "https://cloud.getdbt.com"
TOKEN_INPUT = "INPUT_DBT-CLOUD-TOKEN"  # noqa: S105 - the variable's name, not a secret
GITHUB_TOKEN_INPUT = "INPUT_GITHUB-TOKEN"  # noqa: S105 - likewise
SECRET_INPUTS = ("dbt-cloud-token", "github-token")  # never quoted back in an error
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_SCHEMA = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,126}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


_BOOL_FIX = "set true or false"


def _true_or_false(value: Any) -> Any:
    """true or false, in any case and with spaces around: the one set action.yml documents (yes, on and 1, which
    pydantic would take, are refused like any other word)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("must be true or false")


# A boolean input: true or false, nothing else.
Flag = Annotated[bool, BeforeValidator(_true_or_false)]


def _input(name: str, default: Any = ..., *, fix: str, **constraints: Any) -> Any:
    """An input's field, read from `INPUT_<NAME>`, with the fix its error names kept beside it."""
    return Field(default, validation_alias=AliasChoices(f"INPUT_{name.upper()}"), description=fix, **constraints)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_host(raw: str) -> str:
    """Turn `emea.dbt.com`, `https://x.us1.dbt.com/` and the like into `scheme://host[:port]`."""
    text = raw.strip()
    bare_scheme = re.match(r"^([a-z][a-z0-9+.-]*):(?!//|\d)", text, re.IGNORECASE)
    if bare_scheme and "://" not in text:
        raise ValueError(f"uses scheme '{bare_scheme.group(1)}'; use https://")
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("has an invalid port") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http"):
        raise ValueError(f"uses scheme '{parts.scheme}'; use https://")
    if parts.username or parts.password or parts.query or parts.fragment or parts.path.strip("/"):
        raise ValueError("must be only a scheme and host, like https://cloud.getdbt.com (no path or query)")
    if not (_HOSTNAME.match(host) or _is_loopback(host)):
        raise ValueError("is not a valid host name")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ValueError("must use https:// (plain http is allowed only for loopback addresses)")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}"


def _lines(value: Any) -> Any:
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if line.strip()]
    return value


def _words(value: Any) -> Any:
    if isinstance(value, str):
        return [word for word in re.split(r"[\s,]+", value) if word]
    return value


_ARTIFACT = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def _relative_path(value: str) -> str:
    if not value or value.startswith("/") or ".." in value.split("/") or _CONTROL.search(value):
        raise ValueError("must be a relative path inside the workspace, without '..'")
    return value


def _no_controls(value: str | None) -> str | None:
    if value is not None and _CONTROL.search(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


class Settings(BaseSettings):
    """Everything the action reads from its inputs; an empty input means "not given"."""

    model_config = SettingsConfigDict(
        env_ignore_empty=True,
        case_sensitive=False,
        str_strip_whitespace=True,
        extra="ignore",
        populate_by_name=False,
    )

    mode: Literal["run", "cleanup"] = _input(
        "mode", "run", fix="set run (trigger CI for a pull request) or cleanup (delete this job's idle clones)"
    )
    dbt_cloud_token: SecretStr = _input(
        "dbt-cloud-token",
        fix="set it to a dbt Cloud API token from a secret, e.g. `dbt-cloud-token: ${{ secrets.DBT_CLOUD_TOKEN }}`",
    )
    account_id: int | None = _input(
        "account-id",
        None,
        gt=0,
        lt=2**63,
        fix="set it to the number after /accounts/ in your dbt Cloud URL, or leave it empty for the token's account",
    )
    job_id: int = _input(
        "job-id", gt=0, lt=2**63, fix="set it to the number after /jobs/ in the dbt Cloud URL of your CI job"
    )
    dbt_cloud_host: str = _input(
        "dbt-cloud-host",
        DEFAULT_HOST,
        fix="set it to your account's access URL, e.g. https://cloud.getdbt.com, https://emea.dbt.com or https://ab123.us1.dbt.com",
    )
    clone: Flag = _input("clone", True, fix=_BOOL_FIX)
    delete_clone: Flag = _input("delete-clone", True, fix=_BOOL_FIX)
    max_run_slots: int | None = _input(
        "max-run-slots", None, gt=0, le=10_000, fix="set a whole number of at least 1, or leave it empty for no cap"
    )
    native_concurrency: Literal["auto", "true", "false"] = _input(
        "native-concurrency", "auto", fix="set auto (judge by the account's plan and the job's type), true or false"
    )
    native_trigger: Flag = _input("native-trigger", False, fix=_BOOL_FIX)
    stale_base: Literal["warn", "fail", "off"] = _input("stale-base", "warn", fix="set warn, fail or off")
    max_nodes: int | None = _input(
        "max-nodes", None, gt=0, le=10_000_000, fix="set a whole number of at least 1, or leave it empty for no limit"
    )
    on_max_nodes: Literal["warn", "cancel"] = _input("on-max-nodes", "warn", fix="set warn or cancel")
    annotations: Flag = _input("annotations", True, fix=_BOOL_FIX)
    retry_transient: int = _input(
        "retry-transient", 1, ge=0, le=5, fix="set a whole number from 0 (retry nothing) to 5"
    )
    wait: Flag = _input("wait", True, fix=_BOOL_FIX)
    cancel_on_abort: Flag = _input("cancel-on-abort", True, fix=_BOOL_FIX)
    cancel_on_timeout: Flag = _input("cancel-on-timeout", True, fix=_BOOL_FIX)
    poll_interval: float = _input(
        "poll-interval",
        30.0,
        gt=0,
        le=3600,
        fix="set a number of seconds greater than 0 and at most 3600 (an hour), the bounds the inputs table gives",
    )
    timeout_minutes: float = _input(
        "timeout-minutes", 60.0, gt=0, le=60 * 24 * 7, fix="set a number of minutes greater than 0"
    )
    run_on_draft: Flag = _input("run-on-draft", False, fix=_BOOL_FIX)
    merge_queue: Literal["run", "skip"] = _input(
        "merge-queue", "run", fix="set run (CI for each merge queue entry) or skip (the check passes, nothing runs)"
    )
    cause: str | None = _input("cause", None, max_length=255, fix="give one line of text, at most 255 characters")
    schema_override: str | None = _input(
        "schema-override", None, fix="leave it empty for dbt_cloud_pr_<job>_<pr>, or give a plain schema name"
    )
    steps_override: Annotated[list[str] | None, NoDecode, BeforeValidator(_lines)] = _input(
        "steps-override", None, fix="give one dbt command a line, each starting with `dbt `"
    )
    dbt_version_override: str | None = _input(
        "dbt-version-override", None, max_length=64, fix="give a dbt version such as latest or 1.9.0-latest"
    )
    threads_override: int | None = _input(
        "threads-override", None, gt=0, le=1024, fix="set a whole number of at least 1"
    )
    target_name_override: str | None = _input(
        "target-name-override", None, max_length=255, fix="give one target name, without line breaks"
    )
    timeout_seconds_override: int | None = _input(
        "timeout-seconds-override", None, ge=0, le=2**31 - 1, fix="set a whole number of seconds (0 for no timeout)"
    )
    generate_docs_override: Flag | None = _input("generate-docs-override", None, fix=_BOOL_FIX)
    git_branch: str | None = _input("git-branch", None, max_length=255, fix="give a branch name, without line breaks")
    # A younger clone may belong to a step that has made it and not yet triggered it.
    clone_max_age_minutes: float = _input(
        "clone-max-age-minutes", 60.0, ge=10, le=60 * 24 * 365, fix="set a number of minutes, 10 or more"
    )
    artifacts: Annotated[list[str], NoDecode, BeforeValidator(_words)] = _input(
        "artifacts", [], fix="list artifact names such as run_results.json manifest.json, separated by spaces"
    )
    artifacts_path: str = _input("artifacts-path", "target", fix="give a folder inside the workspace, such as target")
    drop_schema: Flag = _input("drop-schema", True, fix=_BOOL_FIX)
    drop_schema_macro: str = _input(
        "drop-schema-macro",
        "drop_pr_schema",
        max_length=128,
        fix="give the name of the macro copied from dbt/macros/drop_pr_schema.sql",
    )
    drop_schema_command: str | None = _input(
        "drop-schema-command",
        None,
        max_length=1000,
        fix="give one dbt run-operation command, or leave it empty for the default",
    )
    git_provider: Literal["auto", "github", "gitlab", "azure", "other"] = _input(
        "git-provider", "auto", fix="set auto, github, gitlab, azure or other"
    )
    pr_number: int | None = _input(
        "pr-number", None, gt=0, lt=2**31, fix="set the pull request number (a whole number)"
    )
    github_token: SecretStr | None = _input(
        "github-token",
        None,
        fix="leave it at its default, ${{ github.token }}, or give a token that may read pull requests",
    )
    dry_run: Flag = _input("dry-run", False, fix=_BOOL_FIX)
    pr_comment: Literal["always", "on-failure", "never"] = _input(
        "pr-comment", "on-failure", fix="set always, on-failure or never"
    )
    confirm_closed: Flag = _input("confirm-closed", False, fix=_BOOL_FIX)
    git_sha: str | None = _input("git-sha", None, fix="set the full commit SHA of the pull request head")
    pushed_at: datetime | None = _input(
        "pushed-at",
        None,
        fix="give the time the push happened as your CI's webhook says it, as ISO 8601 with a time zone (e.g. "
        "2026-12-07T10:00:00Z), or leave it empty: never a commit's date",
    )

    @field_validator("dbt_cloud_token", "github_token")
    @classmethod
    def _token_printable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and (_CONTROL.search(value.get_secret_value()) or " " in value.get_secret_value()):
            raise ValueError("contains spaces or control characters")
        return value

    @field_validator("dbt_cloud_host")
    @classmethod
    def _host(cls, value: str) -> str:
        return normalize_host(value)

    @field_validator("schema_override")
    @classmethod
    def _schema(cls, value: str | None) -> str | None:
        if value is not None and not _SCHEMA.match(value):
            raise ValueError("must be a plain identifier: letters, digits and _, not starting with a digit")
        return value

    @field_validator("steps_override")
    @classmethod
    def _steps(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for line in value:
            if not line.startswith("dbt ") or _CONTROL.search(line):
                raise ValueError(f"has a line that is not a dbt command: '{line[:60]}'")
        return value or None

    @field_validator("artifacts")
    @classmethod
    def _artifacts(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _ARTIFACT.match(name) or ".." in name.split("/"):
                raise ValueError(f"has a name that is not an artifact path: '{name[:60]}'")
        return value

    @field_validator("artifacts_path")
    @classmethod
    def _artifacts_path(cls, value: str) -> str:
        return _relative_path(value)

    @field_validator("pushed_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone, such as Z or +00:00")
        return value

    @field_validator("git_sha")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not FULL_SHA.match(value.lower()):
            raise ValueError("must be a full 40-character commit SHA")
        return value.lower() if value else value

    @field_validator("cause", "dbt_version_override", "target_name_override", "git_branch")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return _no_controls(value)

    @property
    def token(self) -> str:
        """The dbt Cloud token in clear, for the Authorization header only."""
        return self.dbt_cloud_token.get_secret_value()


def _input_name(loc: tuple[int | str, ...]) -> str:
    name = str(loc[0]) if loc else "input"
    name = name.lower().removeprefix("input_")
    return name.replace("_", "-")


def _number(value: Any) -> str:
    """A bound as a person writes it: 3600, not 3600.0."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _describe(error: Mapping[str, Any], subject: str) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    said = {
        "missing": "is required",
        "bool_parsing": "must be true or false",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "literal_error": f"must be one of: {ctx.get('expected', '')}",
        "greater_than": f"must be greater than {_number(ctx.get('gt'))}",
        "greater_than_equal": f"must be at least {_number(ctx.get('ge'))}",
        "less_than": f"must be less than {_number(ctx.get('lt'))}",
        "less_than_equal": f"must be at most {_number(ctx.get('le'))}",
        "string_too_long": f"must be at most {ctx.get('max_length')} characters",
    }.get(kind)
    if said is None and kind == "value_error":
        said = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{subject} {said or 'is invalid: ' + str(error.get('msg', '')).lower()}"


def subject(name: str, naming: str) -> str:
    """How an error names an input: `Input 'job-id'` to a workflow's `with:`, `Flag --job-id` on the command line."""
    return f"Flag --{name}" if naming == "flag" else f"Input '{name}'"


def _shown(name: str, error: Mapping[str, Any]) -> str:
    value = error.get("input")
    if name in SECRET_INPUTS or not isinstance(value, str):
        return ""
    shown = value if len(value) <= 60 else f"{value[:57]}..."
    return f" (got '{shown}')"


def input_errors(exc: ValidationError, naming: str = "input") -> list[InputError]:
    """One InputError per invalid input, each naming the input once (as an input, or with `naming` "flag" as a
    flag) and the fix; never echoing the token."""
    errors: list[InputError] = []
    for error in exc.errors():
        name = _input_name(error["loc"])
        fix = _fixes().get(name) or "correct the value"
        message = f"{_describe(error, subject(name, naming))}{_shown(name, error)}: {fix}."
        errors.append(InputError(name, message, naming=naming))
    return errors


def _fixes() -> dict[str, str]:
    """Each input's fix, as its field keeps it."""
    fixes = {}
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices) and field.description:
            fixes[str(alias.choices[0]).removeprefix("INPUT_").lower()] = field.description
    return fixes


def input_names() -> list[str]:
    """The action's input names (kebab-case), in declaration order."""
    names = []
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.append(str(alias.choices[0]).removeprefix("INPUT_").lower())
    return names


class InvalidInputs(ActionError):  # noqa: N818 - a carrier for several InputErrors
    """Several inputs failed validation at once."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__(" ".join(error.message for error in errors), title="Invalid inputs")
        self.invalid = errors

    def errors(self) -> list[ActionError]:
        """Every bad input, one `::error::` line each."""
        return list(self.invalid)


# Rendered when the token is empty because GitHub withholds secrets from a fork's pull_request workflow.
FORK_PR_NO_SECRETS = (
    "Input 'dbt-cloud-token' is empty because PR #{number} comes from a fork, and GitHub gives no secrets to "
    "pull_request workflows from forks: run this job only for same-repository PRs (add `if: "
    "github.event.pull_request.head.repo.full_name == github.repository`), or trigger it on "
    "pull_request_target, which has secrets but runs with the base repository's permissions (check out "
    "nothing from the fork)."
)


def load_settings(
    fork_pr: Callable[[], int | None] = lambda: None, missing_token: str | None = None, naming: str = "input"
) -> Settings:
    """Validate the inputs from the environment; raises InvalidInputs naming every bad one (as inputs, or with
    `naming` "flag" as the command line's flags). A missing token on a pull request from a fork (`fork_pr` gives its
    number) is GitHub withholding secrets, not a typo: it says so; elsewhere `missing_token`, when given, says how to
    give it."""
    try:
        return Settings()
    except ValidationError as exc:
        errors = input_errors(exc, naming)
    for index, error in enumerate(errors):
        if error.name != "dbt-cloud-token" or "is required" not in error.message:
            continue
        if (number := fork_pr()) is not None:
            errors[index] = InputError(error.name, FORK_PR_NO_SECRETS.format(number=number))
        elif missing_token is not None:
            errors[index] = InputError(error.name, missing_token, naming=naming)
    raise InvalidInputs(errors)
