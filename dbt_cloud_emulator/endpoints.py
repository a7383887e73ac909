"""The dbt Cloud v2 endpoints and v3 env var overrides, answering from the state (the caller holds its lock)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from . import artifacts, retry
from .protocol import ApiError, JsonDict, Reply, Request, fail, ok
from .state import Run, State
from .validation import INVALID_REQUEST, REQUIRED, env_var_fields, job_fields, matching_id, trigger_fields
from .views import env_var_view, job_env_vars_view, job_view, project_view, run_view

MAX_LIMIT = 100
RUN_ORDERINGS: dict[str, Callable[[Run], Any]] = {
    "id": lambda r: r.id,
    "created_at": lambda r: (r.created_at, r.id),
    "finished_at": lambda r: (r.finished_at is None, r.finished_at or 0.0, r.id),
}
JOB_ORDERINGS = ("id", "name", "created_at", "updated_at")
# NOTES.md (reported against dbt Labs' Terraform provider, 2026): a `ci` or `merge` job with state-aware
# orchestration answers 405 with Django REST framework's bare body. The spec describes `dbt_state` as the same
# feature without Fusion, so it is refused alike.
STATE_AWARE_JOB_TYPES = ("ci", "merge")
STATE_AWARE_FEATURES = ("state_aware_orchestration", "dbt_state")
STATE_AWARE_REFUSAL = "State aware orchestration is not available for CI or Merge jobs"


def _refuse_state_aware(job_type: Any, features: Any) -> None:
    """A bare 405 for a CI or Merge job with state-aware orchestration."""
    chosen = set(features) if isinstance(features, list) else set()
    if job_type in STATE_AWARE_JOB_TYPES and chosen.intersection(STATE_AWARE_FEATURES):
        raise ApiError(405, STATE_AWARE_REFUSAL, bare={"detail": STATE_AWARE_REFUSAL})


def _sortable(value: Any) -> tuple[bool, str, Any]:
    """A sort key that never compares values of two types (a job seeded as another team's may hold anything)."""
    return (value is None, type(value).__name__, value)


def _values(req: Request, name: str) -> list[str]:
    """Every item of a list parameter, whether sent as `[1,2]`, `1,2` or repeated."""
    out: list[str] = []
    for raw in req.query.get(name, []):
        items = (part.strip().strip("\"'").strip() for part in raw.strip().strip("[]").split(","))
        out.extend(item for item in items if item)
    return out


def _int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, INVALID_REQUEST, {name: ["A valid integer is required."]}) from None


def _int_param(req: Request, name: str) -> int | None:
    values = req.query.get(name)
    return None if not values else _int(name, values[-1].strip())


def _ordering(req: Request, allowed: Iterable[str], default: str) -> tuple[str, str, bool]:
    """The `order_by` value, the field it names, and whether it is descending."""
    order_by = (req.query.get("order_by") or [default])[-1].strip() or default
    key = order_by.removeprefix("-")
    if key not in allowed:
        raise ApiError(400, INVALID_REQUEST, {"order_by": [f"Cannot order by {order_by!r}."]})
    return order_by, key, order_by.startswith("-")


def _page(req: Request, items: list[Any], filters: JsonDict, order_by: str) -> tuple[list[Any], JsonDict]:
    limit = _int_param(req, "limit")
    offset = _int_param(req, "offset") or 0
    limit = MAX_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, INVALID_REQUEST, {"limit": [f"Ensure this value is between 1 and {MAX_LIMIT}."]})
    if offset < 0:
        raise ApiError(400, INVALID_REQUEST, {"offset": ["Ensure this value is greater than or equal to 0."]})
    page = items[offset : offset + limit]
    extra = {
        "filters": {**filters, "limit": limit, "offset": offset},
        "order_by": order_by,
        "pagination": {"count": len(page), "total_count": len(items)},
    }
    return page, extra


class Api:
    """One method per endpoint; `req.params` holds the ids captured from the path after the account."""

    def __init__(self, state: State) -> None:
        self.state = state

    @property
    def account_id(self) -> int:
        """The one account this emulator serves."""
        return int(self.state.account["id"])

    def view_run(self, run: Run, include: set[str]) -> JsonDict:
        """A run as the API shows it."""
        return run_view(
            run,
            now=self.state.now(),
            base_url=self.state.base_url,
            account_id=self.account_id,
            job=self.state.jobs.get(run.job_id),
            include=include,
            outcome=self.state.outcome_of(run),
            log_lines=self.state.log_lines,
            latest=self.state.is_latest(run),
        )

    def _include(self, req: Request) -> set[str]:
        return set(_values(req, "include_related"))

    # -- account and jobs -------------------------------------------------------------------------------

    def get_account(self, req: Request) -> Reply:
        """GET /."""
        return ok(copy.deepcopy(self.state.account))

    def list_token_accounts(self, req: Request) -> Reply:
        """GET /api/v3/accounts/: the token's account, or the accounts a test listed instead."""
        listed = self.state.listed_accounts
        return ok(copy.deepcopy([self.state.account] if listed is None else listed))

    def get_project(self, req: Request) -> Reply:
        """GET /projects/{id}/: the seeded project, or another one a job or variable names; a 404 for any other."""
        project_id = _int("id", req.params[0])
        state = self.state
        state.project(project_id)
        seeded = project_id == state.project_id
        return ok(
            project_view(
                project_id,
                self.account_id,
                environments=sorted(state.environments(project_id)),
                # A project the emulator knows only by id keeps the defaults: at the repository's root.
                subdirectory=state.project_subdirectory if seeded else None,
                created_at=state.project_created_at,
                updated_at=state.project_updated_at if seeded else state.project_created_at,
            )
        )

    def list_jobs(self, req: Request) -> Reply:
        """GET /jobs/."""
        filters: JsonDict = {"account_id": self.account_id}
        jobs = list(self.state.jobs.values())
        for name in ("project_id", "environment_id"):
            value = _int_param(req, name)
            if value is not None:
                filters[name] = value
                jobs = [j for j in jobs if j.get(name) == value]
        if "name__icontains" in req.query:
            needle = req.query["name__icontains"][-1]
            filters["name__icontains"] = needle
            jobs = [j for j in jobs if needle.lower() in str(j.get("name")).lower()]
        wanted = (req.query.get("state") or ["active"])[-1]
        states = {"active": {1}, "1": {1}, "deleted": {2}, "2": {2}, "all": {1, 2}}.get(wanted)
        if states is None:
            raise ApiError(400, INVALID_REQUEST, {"state": [f'"{wanted}" is not a valid choice.']})
        jobs = [j for j in jobs if j.get("state") in states]
        order_by, key, descending = _ordering(req, JOB_ORDERINGS, "id")
        jobs.sort(key=lambda j: (_sortable(j.get(key)), j["id"]), reverse=descending)
        page, extra = _page(req, jobs, filters, order_by)
        return ok([job_view(job, self.state.account) for job in page], extra)

    def create_job(self, req: Request) -> Reply:
        """POST /jobs/."""
        fields = job_fields(req.json(), self.account_id, create=True)
        _refuse_state_aware(fields.get("job_type"), fields.get("cost_optimization_features"))
        return ok(job_view(self.state.create_job(fields), self.state.account))

    def get_job(self, req: Request) -> Reply:
        """GET /jobs/{id}/; a deleted job too, at state 2 (NOTES.md: the job stays readable)."""
        return ok(job_view(self.state.job(_int("id", req.params[0]), deleted=True), self.state.account))

    def update_job(self, req: Request) -> Reply:
        """POST /jobs/{id}/; the body must carry the job's own `id`."""
        job_id = _int("id", req.params[0])
        job = self.state.job(job_id)
        body = req.json()
        matching_id(body, job_id)
        fields = job_fields(body, self.account_id, create=False)
        # A guess: the refusal NOTES.md reports for a create applies to an update, to what the job would become.
        _refuse_state_aware(
            fields.get("job_type", job.get("job_type")),
            fields.get("cost_optimization_features", job.get("cost_optimization_features")),
        )
        return ok(job_view(self.state.update_job(job_id, fields), self.state.account))

    def delete_job(self, req: Request) -> Reply:
        """DELETE /jobs/{id}/: a soft delete, answered with the job at state 2 (NOTES.md).

        A job already deleted is answered the same way again: an inference, as the query that serves GET (which
        finds deleted jobs) serves DELETE too."""
        return ok(job_view(self.state.delete_job(_int("id", req.params[0])), self.state.account))

    def trigger_run(self, req: Request) -> Reply:
        """POST /jobs/{id}/run/."""
        job_id = _int("id", req.params[0])
        self.state.job(job_id)
        run = self.state.trigger(job_id, trigger_fields(req.json()))
        return ok(self.view_run(run, {"trigger", "job"}))

    # -- runs -------------------------------------------------------------------------------------------

    def list_runs(self, req: Request) -> Reply:
        """GET /runs/."""
        # NOTES.md: offset pages over a list that changes between two reads repeat rows; `churn` makes it change.
        self.state.churn()
        filters: JsonDict = {"account_id": self.account_id}
        runs = list(self.state.runs.values())
        fields = {"job_definition_id": "job_id", "project_id": "project_id", "environment_id": "environment_id"}
        for name, attr in fields.items():
            value = _int_param(req, name)
            if value is not None:
                filters[name] = value
                runs = [r for r in runs if getattr(r, attr) == value]
        status = _int_param(req, "status")
        if status is not None:
            filters["status"] = status
            runs = [r for r in runs if r.status == status]
        if "status__in" in req.query:
            wanted = [_int("status__in", v) for v in _values(req, "status__in")]
            filters["status__in"] = wanted
            runs = [r for r in runs if r.status in wanted]
        after = _int_param(req, "id__gt")
        if after is not None:
            filters["id__gt"] = after
            runs = [r for r in runs if r.id > after]
        order_by, key, descending = _ordering(req, RUN_ORDERINGS, "id")
        runs.sort(key=RUN_ORDERINGS[key], reverse=descending)
        page, extra = _page(req, runs, filters, order_by)
        include = self._include(req)
        return ok([self.view_run(run, include) for run in page], extra)

    def get_run(self, req: Request) -> Reply:
        """GET /runs/{id}/."""
        return ok(self.view_run(self.state.run(_int("id", req.params[0])), self._include(req)))

    def cancel_run(self, req: Request) -> Reply:
        """POST /runs/{id}/cancel/."""
        return ok(self.view_run(self.state.cancel(_int("id", req.params[0])), self._include(req)))

    def retry_run(self, req: Request) -> Reply:
        """POST /runs/{id}/retry/ (no body; any is ignored): a new run of the failed run's job, answered as a trigger
        is (retry.py)."""
        run = retry.retry(self.state, _int("id", req.params[0]))
        return ok(self.view_run(run, {"trigger", "job"}))

    def list_artifacts(self, req: Request) -> Reply:
        """GET /runs/{id}/artifacts/."""
        return ok(artifacts.names(self.state.run(_int("id", req.params[0]))))

    def get_artifact(self, req: Request) -> Reply:
        """GET /runs/{id}/artifacts/{path}: the file itself, not an envelope."""
        run = self.state.run(_int("id", req.params[0]))
        step = _int_param(req, "step")
        document = artifacts.document(run, req.params[1], step, manifest_bytes=self.state.manifest_bytes)
        if document is None:
            where = "" if step is None else f" step {step}"
            return fail(404, f"No artifact {req.params[1]!r} found for run {run.id}{where}.")
        return Reply(200, document)

    # -- environment variables (v3, under /api/v3/accounts/{id}/) ----------------------------------------

    def list_job_env_vars(self, req: Request) -> Reply:
        """GET /projects/{id}/environment-variables/job/?job_definition_id=J."""
        project_id = _int("project_id", req.params[0])
        self.state.project(project_id)
        job_id = _int_param(req, "job_definition_id")
        if job_id is None:
            raise ApiError(400, INVALID_REQUEST, {"job_definition_id": [REQUIRED]})
        variables = self.state.job_env_vars(project_id, job_id)
        return ok(job_env_vars_view(variables, self.state.env_answer_shape), {})

    def create_env_var(self, req: Request) -> Reply:
        """POST /projects/{id}/environment-variables/; 200, as the spec says."""
        project_id = _int("project_id", req.params[0])
        self.state.project(project_id)
        value = self.state.create_env_var(project_id, env_var_fields(req.json(), self.account_id, project_id))
        return ok(env_var_view(value, self.account_id))

    def update_env_var(self, req: Request) -> Reply:
        """POST /projects/{id}/environment-variables/{id}/: a new value for the same variable and scope; the body must
        carry the value's own `id` (NOTES.md: the same pattern as a job update)."""
        project_id = _int("project_id", req.params[0])
        var_id = _int("id", req.params[1])
        self.state.env_value(project_id, var_id)
        body = req.json()
        matching_id(body, var_id)
        fields = env_var_fields(body, self.account_id, project_id)
        value = self.state.update_env_var(project_id, var_id, fields)
        return ok(env_var_view(value, self.account_id))

    def delete_env_var(self, req: Request) -> Reply:
        """DELETE /projects/{id}/environment-variables/{id}/; 204 without a body."""
        self.state.delete_env_var(_int("project_id", req.params[0]), _int("id", req.params[1]))
        return Reply(204)
