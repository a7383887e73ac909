"""`DbtCloudClient`, the dbt Cloud Administrative API v2 endpoints the action uses, typed, for one account: the account
itself here, its runs from runs.py, its jobs and their overrides from jobs.py, and what every endpoint uses (one call,
pagination, writes that are never sent twice) from calls.py. How requests are sent and retried is transport.py's; what
errors say, errors.py's."""

from __future__ import annotations

from autoscale_ci.dbt_cloud.errors import parse, unreadable
from autoscale_ci.dbt_cloud.jobs import JobEndpoints
from autoscale_ci.dbt_cloud.models import Account, Project
from autoscale_ci.dbt_cloud.runs import RunEndpoints


class DbtCloudClient(RunEndpoints, JobEndpoints):
    """dbt Cloud API v2 for one account."""

    def get_account(self) -> Account:
        """The account, with its run slots and lock state."""
        data, _ = self._call("GET", "/", operation=f"read account {self.account_id}")
        return parse(Account, data, f"read account {self.account_id}")

    def get_project(self, project_id: int) -> Project:
        """One project of the account, with its dbt project's subdirectory."""
        data, _ = self._call("GET", f"/projects/{project_id}/", operation=f"read project {project_id}")
        return parse(Project, data, f"read project {project_id}")

    def token_accounts(self) -> list[Account]:
        """The accounts the token may use (Admin API v3; a service token belongs to one)."""
        operation = "list the accounts of dbt-cloud-token"
        data, _ = self._call(
            "GET",
            f"{self.host}/api/v3/accounts/",
            operation=operation,
            not_found=f"check that dbt-cloud-host ({self.host}) is your account's access URL, or set account-id",
            forbidden="set account-id: the token may not list its accounts",
        )
        if not isinstance(data, list):
            raise unreadable(operation, self.host, "was not a list of accounts", 200)
        return [parse(Account, row, operation) for row in data]
