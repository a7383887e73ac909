"""The post step: after a main step that was killed, cancel its run and delete its clone. Idempotent."""

from __future__ import annotations

import os
from collections.abc import Mapping

from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.errors import ActionError
from autoscale_ci.executor import STATE_CLONE, STATE_RUN
from autoscale_ci.github import Runtime
from autoscale_ci.main import TOKEN_INPUT
from autoscale_ci.settings import InvalidInputs, load_settings


def _state(env: Mapping[str, str], name: str) -> str:
    return env.get(f"STATE_{name}", "").strip()


def main() -> int:
    """Clean up what the main step left; never fails the job (the main step already reported)."""
    env = os.environ
    runtime = Runtime()
    run_id, clone_id = _state(env, STATE_RUN), _state(env, STATE_CLONE)
    if not run_id.isdigit() and not clone_id.isdigit():
        runtime.log("Nothing to clean up.")
        return 0
    runtime.mask(env.get(TOKEN_INPUT, "").strip())
    try:
        settings = load_settings()
    except InvalidInputs:
        return 0
    try:
        with DbtCloudClient(settings.dbt_cloud_host, settings.token, settings.account_id, max_attempts=3) as client:
            if run_id.isdigit() and settings.cancel_on_abort:
                run = client.get_run(int(run_id))
                if run.is_active:
                    client.cancel_run(run.id)
                    runtime.log(f"Cancelled run {run.id}, left running by a main step that was stopped.")
            if clone_id.isdigit():
                deleted = client.delete_job(int(clone_id))
                runtime.log(f"Deleted clone job {clone_id}." if deleted else f"Clone job {clone_id} was already gone.")
    except ActionError as exc:
        runtime.warning(f"Cleanup after the main step failed: {exc.message}", title="Cleanup incomplete")
    return 0
