"""The job endpoints of dbt Cloud API v2: a job read, listed, created (never twice), updated and deleted, and its own
environment-variable overrides (Admin API v3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from autoscale_ci.dbt_cloud.calls import Calls
from autoscale_ci.dbt_cloud.errors import ADMIN_NEEDED, DbtCloudError, parse, unreadable
from autoscale_ci.dbt_cloud.models import SECRET_PREFIX, Job, Override


class JobEndpoints(Calls):
    """The jobs of one account and their overrides: what a clone is made, kept in step and deleted with."""

    def get_job(self, job_id: int) -> Job:
        """One job definition."""
        data, _ = self._call(
            "GET",
            f"/jobs/{job_id}/",
            operation=f"read job {job_id}",
            not_found=f"check that job-id {job_id} is a job of account {self.account_id}",
        )
        return parse(Job, data, f"read job {job_id}")

    def list_jobs(self, name_contains: str, *, deleted: bool = False) -> list[Job]:
        """Every live job whose name contains the text; with `deleted`, the deleted ones (state 2) too."""
        params = {"name__icontains": name_contains, **({"state": "all"} if deleted else {})}
        jobs = [parse(Job, row, "list jobs") for row in self._list("/jobs/", params, operation="list jobs")]
        return [job for job in jobs if deleted or not job.deleted]

    def create_job(self, body: Mapping[str, Any]) -> Job:
        """Create a job; after an ambiguous failure, look for it by name before sending again."""
        name = str(body.get("name", ""))
        # The live API refuses a create body without `id` ("required key not provided"); clients send it as null.
        sent = {**body, "id": None}

        def send() -> Job:
            data, _ = self._call(
                "POST", "/jobs/", operation="create a clone job", forbidden=ADMIN_NEEDED, idempotent=False, json=sent
            )
            return parse(Job, data, "create a clone job")

        def find() -> Job | None:
            return next((job for job in self.list_jobs(name) if job.name == name), None)

        return self._confirmed_write("create the clone job", send, find)

    def update_job(self, job_id: int, body: Mapping[str, Any]) -> Job:
        """Replace a job's definition (the same body as for creating it)."""
        # The live API refuses an update whose body does not carry the path's id ("The provided id does not match.").
        sent = {**body, "id": job_id}
        data, _ = self._call(
            "POST", f"/jobs/{job_id}/", operation=f"update job {job_id}", forbidden=ADMIN_NEEDED, json=sent
        )
        return parse(Job, data, f"update job {job_id}")

    def delete_job(self, job_id: int) -> bool:
        """Delete a job; False when it was already gone. dbt Cloud answers 404 both for a job that is gone and for a
        token that may not delete it: a read tells them apart, and a job still there is a DbtCloudError that names
        the permission."""
        operation = f"delete job {job_id}"
        try:
            self._call("DELETE", f"/jobs/{job_id}/", operation=operation, forbidden=ADMIN_NEEDED)
        except DbtCloudError as exc:
            if exc.status_code != 404:
                raise
            still = self.find_job(job_id)
            said = f" ({exc.said})" if exc.said else ""
            if still is None:
                # Deletes are soft: a job deleted reads back at state 2. A 404 to the read too may be a refusal.
                raise DbtCloudError(
                    f"dbt Cloud answered 404 to {operation}{said} and to reading job {job_id}, so it cannot be told "
                    f"whether the job is gone or the token may not see it. To fix: check job {job_id} in dbt Cloud; "
                    f"{ADMIN_NEEDED}.",
                    status_code=404,
                    operation=operation,
                    said=exc.said,
                ) from None
            if still.deleted:
                return False
            raise DbtCloudError(
                f"dbt Cloud answered 404 to {operation}{said}, yet job {job_id} is still there: the token may not "
                f"delete jobs. To fix: {ADMIN_NEEDED}.",
                status_code=404,
                operation=operation,
                said=exc.said,
            ) from None
        return True

    def find_job(self, job_id: int) -> Job | None:
        """The job as dbt Cloud shows it (a deleted one at state 2), or None when it answers 404."""
        try:
            return self.get_job(job_id)
        except DbtCloudError as exc:
            if exc.status_code == 404:
                return None
            raise

    # -- job-level environment-variable overrides (Admin API v3) ---------------------------------------------------

    def _v3(self, project_id: int, rest: str) -> str:
        return f"{self.host}/api/v3/accounts/{self.account_id}/projects/{project_id}/environment-variables/{rest}"

    def job_overrides(self, project_id: int, job_id: int) -> dict[str, Override]:
        """The job's own environment-variable overrides by name (a secret's value comes back masked)."""
        operation = f"read the environment-variable overrides of job {job_id}"
        data, _ = self._call(
            "GET", self._v3(project_id, "job/"), operation=operation, params={"job_definition_id": job_id}
        )
        if not isinstance(data, dict):
            raise unreadable(operation, self.host, "was not a mapping of variables", 200)
        found: dict[str, Override] = {}
        for name, scopes in data.items():
            job = scopes.get("job") if isinstance(scopes, dict) else None
            if not isinstance(job, dict):
                continue  # set for the project or environment only: a clone of the job shares those
            secret = str(name).upper().startswith(SECRET_PREFIX)
            value = job.get("value")
            if not secret and not isinstance(value, str):
                raise unreadable(operation, self.host, f"gave override {name} no value", 200)
            override_id = job.get("id")
            found[str(name)] = Override(override_id if isinstance(override_id, int) else None, value, secret)
        return found

    def set_job_override(self, project_id: int, job_id: int, name: str, value: str, *, override_id: int | None) -> None:
        """Give the job an override of `name` (a new one, or `override_id` changed to `value`)."""
        body = {
            "account_id": self.account_id,
            "project_id": project_id,
            "name": name,
            "type": "job",
            "job_definition_id": job_id,
            "raw_value": value,
        }
        operation = f"copy override {name} to job {job_id}"
        if override_id is not None:  # setting a value twice does no harm: sent again after any failure
            # As for a job, an update must carry the path's id.
            self._call(
                "POST", self._v3(project_id, f"{override_id}/"), operation=operation, forbidden=ADMIN_NEEDED,
                json={**body, "id": override_id},
            )  # fmt: skip
            return

        def send() -> bool:
            self._call(
                "POST", self._v3(project_id, ""), operation=operation, forbidden=ADMIN_NEEDED, idempotent=False,
                json=body,
            )  # fmt: skip
            return True

        def find() -> bool | None:
            return True if name in self.job_overrides(project_id, job_id) else None

        self._confirmed_write(operation, send, find)

    def delete_job_override(self, project_id: int, override_id: int) -> None:
        """Remove an override (one a reused clone has and its job no longer does)."""
        self._call(
            "DELETE", self._v3(project_id, f"{override_id}/"), operation=f"delete override {override_id}",
            forbidden=ADMIN_NEEDED,
        )  # fmt: skip
