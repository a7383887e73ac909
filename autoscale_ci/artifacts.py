"""After a run: its run_results.json for the summary, and the artifacts later steps asked for, on disk."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.github import Runtime
from autoscale_ci.models import ERROR, SUCCESS, Run, RunStep
from autoscale_ci.results import RunResults, summarize

RUN_RESULTS = "run_results.json"
# A step is named "Invoke dbt with `dbt build --select ...`"; these commands leave no run results of the build.
_COMMAND = re.compile(r"`dbt\s+([\w-]+)")
_NOT_THE_BUILD = frozenset({"deps", "docs", "source", "clean", "debug"})


def results_step(steps: Sequence[RunStep]) -> int | None:
    """The step whose run_results.json reports what the job built and tested: the last dbt command that is not
    docs generation (or deps, source freshness...) and that ran; None when no step says."""
    building = [
        step
        for step in sorted(steps, key=lambda s: s.index)
        if (found := _COMMAND.search(step.name)) is not None and found.group(1) not in _NOT_THE_BUILD
    ]
    # A command after one that failed never ran and left nothing; the failed one holds the results.
    ran = [step for step in building if step.status in (SUCCESS, ERROR)]
    chosen = ran or building
    return chosen[-1].index if chosen else None


def _build_step(client: DbtCloudClient, runtime: Runtime, run: Run) -> int | None:
    # With docs generated on the run, its last step is `dbt docs generate`, whose run_results.json marks every
    # node a success: the build's results are in an earlier step.
    if not run.has_docs_generated:
        return None
    try:
        step = results_step(client.get_run(run.id, related='["run_steps"]').run_steps or [])
    except DbtCloudError as exc:
        runtime.log(f"Could not read the steps of run {run.id} ({exc.message}); reading its last step's results.")
        return None
    if step is not None:
        runtime.log(f"Run {run.id} generated docs last, so its results come from step {step}.")
    return step


def collect(
    client: DbtCloudClient, runtime: Runtime, run: Run, wanted: tuple[str, ...], folder: Path
) -> RunResults | None:
    """Download the wanted artifacts into `folder` (a failure is a warning, never a failed step) and read
    run_results.json; returns the run's results when there are any."""
    results = None
    step = _build_step(client, runtime, run)
    for name in dict.fromkeys((*wanted, RUN_RESULTS)):
        try:
            data = client.get_artifact(run.id, name, step=step if name == RUN_RESULTS else None)
        except DbtCloudError as exc:
            if name in wanted:
                runtime.warning(
                    f"Could not download artifact {name} of run {run.id}: {exc.message} Later steps will not find "
                    f"{folder / name}.",
                    title="Artifact missing",
                )
            continue
        if name in wanted:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            runtime.log(f"Saved {name} of run {run.id} to {target}.")
        if name == RUN_RESULTS:
            try:
                results = summarize(json.loads(data))
            except ValueError:
                results = None
    return results
