"""dbt Cloud API objects as JSON, for respx-mocked responses."""

from __future__ import annotations

from typing import Any

HOST = "https://cloud.getdbt.com"
ACCOUNT = 1
JOB = 73797
BASE = f"{HOST}/api/v2/accounts/{ACCOUNT}"
SHA_A = "a" * 40
SHA_B = "b" * 40
SHA_C = "c" * 40
TOKEN = "dbtc_secret_token_value_123"


def envelope(data: Any, *, total: int | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """A dbt Cloud success envelope; lists get pagination."""
    body: dict[str, Any] = {
        "status": {"code": 200, "is_success": True, "user_message": "Success!", "developer_message": ""},
        "data": data,
    }
    if isinstance(data, list):
        count = len(data)
        body["extra"] = {
            "filters": {"limit": limit, "offset": offset},
            "order_by": "-id",
            "pagination": {"count": count, "total_count": total if total is not None else count},
        }
    return body


def failure(code: int, message: str, data: Any = None) -> dict[str, Any]:
    """A dbt Cloud error envelope."""
    return {
        "status": {"code": code, "is_success": False, "user_message": message, "developer_message": ""},
        "data": data,
    }


def account(run_slots: int = 3, **extra: Any) -> dict[str, Any]:
    """An account object."""
    return {"id": ACCOUNT, "name": "Acme", "run_slots": run_slots, "locked": False, "state": 1, **extra}


def job(job_id: int = JOB, name: str = "CI", **extra: Any) -> dict[str, Any]:
    """A job object as GET /jobs/{id}/ returns it, read-only fields included."""
    return {
        "id": job_id,
        "account_id": ACCOUNT,
        "project_id": 10,
        "environment_id": 20,
        "name": name,
        "description": "",
        "dbt_version": None,
        "execute_steps": ["dbt build --select state:modified+"],
        "execution": {"timeout_seconds": 0},
        "generate_docs": False,
        "job_type": "ci",
        "lifecycle_webhooks": False,
        "run_compare_changes": False,
        "run_generate_sources": False,
        "run_lint": False,
        "errors_on_lint_failure": True,
        "settings": {"threads": 4, "target_name": "ci"},
        "state": 1,
        "triggers": {"github_webhook": True, "schedule": True, "git_provider_webhook": True, "on_merge": False},
        "triggers_on_draft_pr": True,
        "schedule": {"cron": "0 * * * *", "date": {"type": "every_day"}, "time": {"type": "every_hour", "interval": 1}},
        "deferring_environment_id": 30,
        "created_at": "2026-01-01 00:00:00+00:00",
        "updated_at": "2026-01-01 00:00:00+00:00",
        "is_deferrable": True,
        "lifecycle_webhooks_url": "https://example.invalid/hook",
        "raw_dbt_version": "latest",
        "run_failure_count": 0,
        "next_run": None,
        **extra,
    }


def run(
    run_id: int,
    *,
    job_id: int = JOB,
    status: int = 3,
    pr: int | None = None,
    sha: str | None = None,
    job_name: str = "CI",
    status_message: str | None = None,
) -> dict[str, Any]:
    """A run with its trigger and job included."""
    return {
        "id": run_id,
        "account_id": ACCOUNT,
        "job_definition_id": job_id,
        "project_id": 10,
        "status": status,
        "status_message": status_message,
        "git_sha": sha,
        "href": f"{HOST}/deploy/{ACCOUNT}/projects/10/runs/{run_id}/",
        "created_at": "2026-01-01 00:00:00+00:00",
        "updated_at": "2026-01-01 00:00:00+00:00",
        "trigger": {"cause": "x", "git_sha": sha, "github_pull_request_id": pr, "job_definition_id": job_id},
        "job": {"id": job_id, "name": job_name},
    }


def no_overrides(api: Any) -> None:
    """The v3 overrides read answers that the job has none; a test replaces the route of the same name to say
    otherwise. The route names its host, so the v2 base of the mocked account is not laid on it."""
    overrides(api, {})


def overrides(api: Any, data: Any, *, status: int = 200) -> Any:
    """Answer the v3 read of job-level overrides with `data` (replacing any earlier answer)."""
    return api.route(
        name="overrides",
        method="GET",
        host="cloud.getdbt.com",
        path__regex=r"^/api/v3/accounts/\d+/projects/\d+/environment-variables/job/$",
    ).respond(status, json={"status": {"code": status, "is_success": status == 200}, "data": data})
