"""The dbt Cloud API client in three layers: the endpoints (`runs` and `jobs`, joined with the account's own in
`client`, all built on `calls`), `transport` (how a request is sent and retried) and `errors` (what went wrong, worded
with the fix); `models` holds the API objects the endpoints return."""

from autoscale_ci.dbt_cloud.client import DbtCloudClient
from autoscale_ci.dbt_cloud.errors import AmbiguousWriteError, DbtCloudError, retry_after_seconds

__all__ = ["AmbiguousWriteError", "DbtCloudClient", "DbtCloudError", "retry_after_seconds"]
