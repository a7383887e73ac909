"""The one place that builds the dbt Cloud client and the executor's options from the settings."""

from __future__ import annotations

from pathlib import Path

from autoscale_ci import signals
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.executor import Options
from autoscale_ci.github import Runtime
from autoscale_ci.settings import Settings


def options(settings: Settings, started: float) -> Options:
    """How the executor carries out a plan; the overall deadline runs from `started`."""
    return Options(
        job_id=settings.job_id,
        wait=settings.wait,
        delete_clone=settings.delete_clone,
        cancel_on_abort=settings.cancel_on_abort,
        cancel_on_timeout=settings.cancel_on_timeout,
        poll_interval=settings.poll_interval,
        deadline=started + settings.timeout_minutes * 60,
        artifacts=tuple(settings.artifacts),
        artifacts_path=Path(settings.artifacts_path),
        dry_run=settings.dry_run,
    )


def client(settings: Settings, started: float, runtime: Runtime) -> DbtCloudClient:
    """The client, its retries bounded by timeout-minutes, stopped by a signal, and each one said in the log."""
    return DbtCloudClient(
        settings.dbt_cloud_host,
        settings.token,
        settings.account_id,
        deadline=started + settings.timeout_minutes * 60,
        interrupted=signals.pending,
        on_retry=runtime.log,
    )
