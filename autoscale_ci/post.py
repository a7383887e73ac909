"""The post step: after a main step that was killed, cancel its run and delete its clone, as its `Leftovers` record
says. Idempotent."""

from __future__ import annotations

import os
from collections.abc import Mapping

from autoscale_ci import USER_AGENT
from autoscale_ci.act.leftovers import Leftovers
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.errors import ActionError
from autoscale_ci.inputs.settings import TOKEN_INPUT, InvalidInputs, load_settings


def main() -> int:
    """Clean up what the main step left; never fails the job, whatever it meets (the main step already reported)."""
    env = os.environ
    runtime = Runtime()
    try:
        return _clean_up(env, runtime)
    except Exception as exc:
        runtime.mask(env.get(TOKEN_INPUT, "").strip())
        detail = runtime.redact(str(exc))[:300]
        runtime.warning(
            f"Cleanup after the main step failed ({type(exc).__name__}: {detail}): check dbt Cloud for a run or a "
            "clone job left behind; cleanup mode removes clones.",
            title="Cleanup incomplete",
        )
        return 0


def _clean_up(env: Mapping[str, str], runtime: Runtime) -> int:
    run_id, clone_id = Leftovers.read(env)
    if run_id is None and clone_id is None:
        runtime.log("Nothing to clean up.")
        return 0
    runtime.mask(env.get(TOKEN_INPUT, "").strip())
    try:
        settings = load_settings()
    except InvalidInputs:
        return 0
    account_id = settings.account_id or Leftovers.account(env)
    try:
        with DbtCloudClient(
            settings.dbt_cloud_host, settings.token, account_id, max_attempts=3, user_agent=USER_AGENT
        ) as client:
            if run_id is not None and not _settle_run(client, runtime, run_id, clone_id, settings.cancel_on_abort):
                return 0
            if clone_id is not None:
                # Read first: a delete is soft, and a second one would be answered as the first was.
                clone = client.find_job(clone_id)
                deleted = not (clone is not None and clone.deleted) and client.delete_job(clone_id)
                runtime.log(f"Deleted clone job {clone_id}." if deleted else f"Clone job {clone_id} was already gone.")
    except ActionError as exc:
        runtime.warning(f"Cleanup after the main step failed: {exc.message}", title="Cleanup incomplete")
    return 0


def _settle_run(client: DbtCloudClient, runtime: Runtime, run_id: int, clone_id: int | None, cancel: bool) -> bool:
    """Cancel the run a stopped main step left, as cancel-on-abort says; whether its clone may go now. Deleting a
    clone cancels its run, so a clone whose run could not be read, or is left running on purpose, stays."""
    kept = f"; its clone job {clone_id} stays until cleanup mode removes it" if clone_id is not None else ""
    try:
        run = client.get_run(run_id)
    except DbtCloudError as exc:
        if exc.status_code == 404:
            return True  # gone: nothing of it is left to cancel
        runtime.warning(
            f"Could not read run {run_id} ({exc.message}), so it was left as it is{kept}.", title="Cleanup incomplete"
        )
        return False
    if run.is_active and not cancel:
        runtime.log(f"Run {run.id} is left running (cancel-on-abort is false){kept}.")
        return False
    if run.is_active:
        client.cancel_run(run.id)
        runtime.log(f"Cancelled run {run.id}, left running by a main step that was stopped.")
    return True
