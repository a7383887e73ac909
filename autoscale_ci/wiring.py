"""The one place that turns the settings into what the layers below take: the dbt Cloud client, the executor's
options and the trigger body."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoscale_ci import USER_AGENT
from autoscale_ci.act import signals
from autoscale_ci.act.executor import Options
from autoscale_ci.act.leftovers import Leftovers
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.errors import InputError
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.inputs.settings import Settings
from autoscale_ci.rules.trigger_body import OVERRIDES, build_payload


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
        max_nodes=settings.max_nodes,
        cancel_over_max_nodes=settings.on_max_nodes == "cancel",
        annotations=settings.annotations,
        retry_transient=settings.retry_transient,
    )


def payload(settings: Settings, pr: PullRequest) -> dict[str, Any]:
    """The trigger body for this pull request, with the overrides the inputs give."""
    overrides = {name: getattr(settings, name) for name in OVERRIDES}
    return build_payload(
        pr, job_id=settings.job_id, cause=settings.cause, schema_override=settings.schema_override, overrides=overrides
    )


def client(settings: Settings, started: float, runtime: Runtime) -> DbtCloudClient:
    """The client, its retries bounded by timeout-minutes, stopped by a signal, and each one said in the log; for
    the token's own account when account-id is empty."""
    account_id = settings.account_id or token_account(_client(settings, started, runtime, 0), runtime)
    return _client(settings, started, runtime, account_id)


def token_account(probe: DbtCloudClient, runtime: Runtime) -> int:
    """The one account the token may use; an InputError naming what was found when it is not one."""
    with probe:
        accounts = probe.token_accounts()
    if len(accounts) == 1:
        found = accounts[0]
        runtime.log(
            f"account-id is empty: the token's account is {found.id}" + (f" ({found.name})." if found.name else ".")
        )
        Leftovers(runtime).account_found(found.id)
        return found.id
    listed = ", ".join(f"{a.id}" + (f" ({a.name})" if a.name else "") for a in accounts[:10])
    where = f"{len(accounts)} accounts: {listed}" if accounts else "no account"
    raise InputError(
        "account-id",
        f"account-id is empty, and dbt-cloud-token can use {where} at {probe.host}, so nothing was done: set "
        "account-id to the number after /accounts/ in your dbt Cloud URL.",
    )


def _client(settings: Settings, started: float, runtime: Runtime, account_id: int) -> DbtCloudClient:
    return DbtCloudClient(
        settings.dbt_cloud_host,
        settings.token,
        account_id,
        deadline=started + settings.timeout_minutes * 60,
        interrupted=signals.received,
        on_retry=runtime.log,
        user_agent=USER_AGENT,
    )
