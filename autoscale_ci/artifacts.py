"""After a run: its run_results.json for the summary, and the artifacts later steps asked for, on disk."""

from __future__ import annotations

import json
from pathlib import Path

from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.github import Runtime
from autoscale_ci.results import RunResults, summarize

RUN_RESULTS = "run_results.json"


def collect(
    client: DbtCloudClient, runtime: Runtime, run_id: int, wanted: tuple[str, ...], folder: Path
) -> RunResults | None:
    """Download the wanted artifacts into `folder` (a failure is a warning, never a failed step) and read
    run_results.json; returns the run's results when there are any."""
    results = None
    for name in dict.fromkeys((*wanted, RUN_RESULTS)):
        try:
            data = client.get_artifact(run_id, name)
        except DbtCloudError as exc:
            if name in wanted:
                runtime.warning(
                    f"Could not download artifact {name} of run {run_id}: {exc.message} Later steps will not find "
                    f"{folder / name}.",
                    title="Artifact missing",
                )
            continue
        if name in wanted:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            runtime.log(f"Saved {name} of run {run_id} to {target}.")
        if name == RUN_RESULTS:
            try:
                results = summarize(json.loads(data))
            except ValueError:
                results = None
    return results
