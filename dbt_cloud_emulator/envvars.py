"""Environment variables of a project, with values at project, environment and job level (v3 API)."""

from __future__ import annotations

from dataclasses import dataclass

from .protocol import JsonDict

# The scopes a value can be set at, most general first; a job-level value is a job's override.
PROJECT, ENVIRONMENT, JOB = "project", "environment", "job"
SCOPES = (PROJECT, ENVIRONMENT, JOB)
# dbt Cloud never returns a secret's value; the spec's own examples show it as ten asterisks.
MASK = "**********"
SECRET_PREFIX = "DBT_ENV_SECRET"
# How the job overrides answer shapes `data`: the spec's mapping, or a bad shape for clients' bad-input tests.
ANSWER_SHAPES = ("mapping", "list", "null", "null_scopes", "null_values")


def is_secret(name: str) -> bool:
    """Whether dbt Cloud masks this variable's values."""
    return name.startswith(SECRET_PREFIX)


@dataclass
class EnvValue:
    """One value of a variable at one scope: a job override has `job_id`, an environment value `environment_id`."""

    # Times are emulated epoch seconds; state 2 means deleted.

    id: int
    name: str
    project_id: int
    type: str
    value: str
    created_at: float
    updated_at: float
    environment_id: int | None = None
    job_id: int | None = None
    state: int = 1

    @property
    def shown(self) -> str:
        """The value as the API shows it: masked for a secret."""
        return MASK if is_secret(self.name) else self.value

    def record(self) -> JsonDict:
        """The value as `Emulator.env_vars()` shows it: unmasked, so tests can see what a client wrote."""
        return {
            "id": self.id,
            "name": self.name,
            "project_id": self.project_id,
            "type": self.type,
            "environment_id": self.environment_id,
            "job_definition_id": self.job_id,
            "value": self.value,
            "state": self.state,
        }


class EnvVarStore:
    """Every value ever set, deleted ones kept with state 2; the caller holds the state lock."""

    def __init__(self) -> None:
        self.values: dict[int, EnvValue] = {}

    def find(
        self, project_id: int, name: str, scope: str, *, environment_id: int | None, job_id: int | None
    ) -> EnvValue | None:
        """The live value of `name` at that scope (the environment or job it applies to), if any."""
        for value in self.values.values():
            if (
                value.state == 1
                and (value.project_id, value.name, value.type) == (project_id, name, scope)
                and (scope != ENVIRONMENT or value.environment_id == environment_id)
                and (scope != JOB or value.job_id == job_id)
            ):
                return value
        return None

    def add(self, value: EnvValue) -> EnvValue:
        """Keep a new value."""
        self.values[value.id] = value
        return value

    def for_job(self, project_id: int, environment_id: int, job_id: int) -> dict[str, dict[str, EnvValue]]:
        """Every variable of the project by name, with its project, job's-environment and job values."""
        # A variable set only for other environments or jobs is still listed, with no scopes (the spec lets every
        # scope be absent), so clients also meet a variable that does not apply to the job.
        out: dict[str, dict[str, EnvValue]] = {}
        for value in sorted(self.values.values(), key=lambda v: (v.name, v.id)):
            if value.state != 1 or value.project_id != project_id:
                continue
            scopes = out.setdefault(value.name, {})
            applies = {PROJECT: True, ENVIRONMENT: value.environment_id == environment_id, JOB: value.job_id == job_id}
            if applies.get(value.type, False):
                scopes[value.type] = value
        return out

    def drop_job(self, job_id: int, now: float) -> None:
        """Delete a job's overrides: they go with the job."""
        for value in self.values.values():
            if value.type == JOB and value.job_id == job_id and value.state == 1:
                value.state, value.updated_at = 2, now

    def records(self) -> list[JsonDict]:
        """Every value, deleted ones included, oldest first."""
        return [value.record() for value in self.values.values()]
