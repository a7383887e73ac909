"""The dbt Cloud API client in three layers: `client` (the endpoints), `transport` (how a request is sent and
retried) and `errors` (what went wrong, worded with the fix)."""

from autoscale_ci.dbt_cloud.client import DbtCloudClient
from autoscale_ci.dbt_cloud.errors import AmbiguousWriteError, DbtCloudError, retry_after_seconds

__all__ = ["AmbiguousWriteError", "DbtCloudClient", "DbtCloudError", "retry_after_seconds"]
