"""native-trigger: the run dbt Cloud's own pull request trigger starts for a commit, found rather than triggered."""

from __future__ import annotations

import time
from collections.abc import Callable

from autoscale_ci.act.snapshot import read_runs
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.errors import ActionError
from autoscale_ci.inputs.github_event import PullRequest

# dbt Cloud starts its run a few seconds after GitHub tells it of the push; after this long it has not started one.
NATIVE_WAIT_SECONDS = 120.0
# Looked for this often: a few requests a minute, and the run found within seconds of its start.
LOOK_EVERY = 5.0
# Rendered when dbt Cloud started no run for the commit in time.
NO_NATIVE_RUN = (
    "native-trigger is true, but dbt Cloud started no run of job {job} for {pr} within {seconds:.0f} s, so there is "
    "nothing to report. Check that the job's own pull request trigger is on (its Triggers settings: Run on pull "
    "requests), that the job is typed ci, and that the project's repository is connected through dbt Cloud's git "
    "integration (GitHub app, GitLab or Azure DevOps), which is what sends dbt Cloud the push; or set "
    "native-trigger: false to let the action trigger the run."
)


def find_native_run(
    client: DbtCloudClient,
    runtime: Runtime,
    job_id: int,
    pr: PullRequest,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    wait_seconds: float = NATIVE_WAIT_SECONDS,
    every: float = LOOK_EVERY,
) -> Run:
    """The newest run of the job for this pull request and commit, as dbt Cloud's own trigger starts it; looked for
    until `wait_seconds` have passed (dbt Cloud's bad minutes included), then an ActionError that says what to check.
    Never a trigger, never a cancel."""
    deadline = clock() + wait_seconds
    while True:
        try:
            rows = client.recent_run_rows(job_id=job_id, attempts=2)
        except DbtCloudError as exc:
            if not exc.weather:
                raise
            runtime.log(f"Looking for dbt Cloud's run failed ({exc.message}); looking again.")
            rows = []
        mine = [run for run in read_runs(rows, job_id, runtime.debug) if _for(run, pr)]
        if mine:
            return max(mine, key=lambda run: run.id)
        if clock() >= deadline:
            raise ActionError(
                NO_NATIVE_RUN.format(job=job_id, pr=pr.label, seconds=wait_seconds), title="No dbt Cloud run"
            )
        sleep(min(every, max(deadline - clock(), 0.0)))


def _for(run: Run, pr: PullRequest) -> bool:
    return run.pr_number == pr.number and run.sha == pr.head_sha
