"""After a run: its run_results.json for the summary, and the artifacts later steps asked for, on disk."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autoscale_ci.act.threads import in_background
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.dbt_cloud.models import ERROR, SUCCESS, Run, RunStep, project_prefix
from autoscale_ci.report import workspace
from autoscale_ci.report.failed_step import FailedStep, describe, failed_step
from autoscale_ci.report.results import Node, RunResults, summarize
from autoscale_ci.rules.annotations import NodeFile, found_files, node_files

RUN_RESULTS = "run_results.json"
MANIFEST = "manifest.json"
# The largest manifest.json read for annotations: a project of tens of thousands of nodes writes more, and the step
# would hold it all in memory for a warning's file names.
MANIFEST_LIMIT = 50_000_000
# The longest the manifest may take to arrive: a body that trickles in must not hold the verdict back.
DOWNLOAD_SECONDS = 120
# A step is named "Invoke dbt with `dbt build --select ...`"; these commands leave no run results of the build.
_COMMAND = re.compile(r"`dbt\s+([\w-]+)")
_NOT_THE_BUILD = frozenset({"deps", "docs", "source", "clean", "debug", "run-operation"})


def builds(step: RunStep) -> bool:
    """Whether the step is a dbt command whose run_results.json reports the build (not deps, docs, freshness...)."""
    found = _COMMAND.search(step.name)
    return found is not None and found.group(1) not in _NOT_THE_BUILD


def results_step(steps: Sequence[RunStep]) -> int | None:
    """The step whose run_results.json reports what the job built and tested: the last dbt command that is not
    docs generation (or deps, source freshness...) and that ran; None when no step says."""
    building = [step for step in sorted(steps, key=lambda s: s.index) if builds(step)]
    # A command after one that failed never ran and left nothing; the failed one holds the results.
    ran = [step for step in building if step.status in (SUCCESS, ERROR)]
    chosen = ran or building
    return chosen[-1].index if chosen else None


@dataclass(frozen=True)
class Findings:
    """What a finished run left to report: its results, the step it failed in, and the files of its nodes."""

    results: RunResults | None = None
    failed_step: FailedStep | None = None
    files: Mapping[str, NodeFile] = field(default_factory=dict)


def _steps(client: DbtCloudClient, runtime: Runtime, run: Run) -> list[RunStep] | None:
    try:
        return client.get_run(run.id, related='["run_steps"]').run_steps or []
    except DbtCloudError as exc:
        runtime.log(f"Could not read the steps of run {run.id} ({exc.message}); reading its last step's results.")
        return None


def _results_step(runtime: Runtime, run: Run, steps: list[RunStep], failed: RunStep | None) -> int | None:
    """The step to read run_results.json from; None for the run's last."""
    if failed is not None and builds(failed):
        runtime.log(f"Run {run.id} failed in step {failed.index} ({failed.name}); its results come from there.")
        return failed.index
    # With docs generated on the run, its last step is `dbt docs generate`, whose run_results.json marks every
    # node a success: the build's results are in an earlier step. So are they when the run failed in another step.
    step = results_step(steps) if run.has_docs_generated or failed is not None else None
    if step is not None:
        runtime.log(f"Run {run.id} generated docs last, so its results come from step {step}.")
    return step


def _save(runtime: Runtime, run_id: int, name: str, data: bytes, target: Path) -> None:
    """Write an artifact where later steps look for it; a path that cannot be written is a warning, never a verdict."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as exc:
        runtime.warning(
            f"Could not save artifact {name} of run {run_id} to {target} ({exc.strerror or exc}): later steps will "
            "not find it. Set artifacts-path to a directory the step may write.",
            title="Artifact not saved",
        )
        return
    runtime.log(f"Saved {name} of run {run_id} to {target}.")


def collect(  # noqa: PLR0917 - what the executor knows of the run, handed on
    client: DbtCloudClient, runtime: Runtime, run: Run, wanted: tuple[str, ...], folder: Path, annotate: bool = False
) -> Findings:
    """Download the wanted artifacts into `folder` (a failure is a warning, never a failed step), read
    run_results.json and, for a failed run, find the step it failed in; with `annotate`, the files of the nodes
    that failed or warned."""
    steps = _steps(client, runtime, run) if run.has_docs_generated or run.status == ERROR else None
    failed = failed_step(steps or []) if run.status == ERROR else None
    step = _results_step(runtime, run, steps, failed) if steps is not None else None
    results = None
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
            _save(runtime, run.id, name, data, folder / name)
        if name == RUN_RESULTS:
            try:
                results = summarize(json.loads(data))
            except ValueError:
                results = None
    failure = describe(failed, runtime.redact) if failed is not None else None
    problems = results.problems if results is not None else ()
    files = _files_of(client, runtime, run, step, problems) if annotate and problems else {}
    return Findings(results, failure, files)


def _files_of(
    client: DbtCloudClient, runtime: Runtime, run: Run, step: int | None, problems: Sequence[Node]
) -> dict[str, NodeFile]:
    """The nodes' files, for annotations only: whatever goes wrong is a line in the log, never the step's verdict."""
    try:
        return _node_files(client, runtime, run, step, problems)
    except Exception as exc:
        runtime.log(f"Could not read where the nodes of run {run.id} are declared ({type(exc).__name__}: {exc}).")
        return {}


def _node_files(
    client: DbtCloudClient, runtime: Runtime, run: Run, step: int | None, problems: Sequence[Node]
) -> dict[str, NodeFile]:
    """The files of the nodes that failed or warned: from the results step's manifest.json, under the dbt project's
    subdirectory; from the checked-out repository by the nodes' names when the manifest is too big; none (said in
    the log) when it is missing or unreadable."""
    # The project is read beside the manifest's download, not after it.
    project = in_background(_subdirectory, client, runtime, run)
    try:
        data = client.get_artifact_within(run.id, MANIFEST, MANIFEST_LIMIT, step=step, seconds=DOWNLOAD_SECONDS)
    except DbtCloudError as exc:
        runtime.log(f"No {MANIFEST} of run {run.id} ({exc.message}): no failure is annotated on a file.")
        return {}
    subdirectory = project.result()
    if data is None:
        return _from_workspace(runtime, run, subdirectory, problems)
    try:
        manifest = json.loads(data)
    except ValueError:
        runtime.log(f"The {MANIFEST} of run {run.id} is not JSON: no failure is annotated on a file.")
        return {}
    return node_files(manifest, subdirectory)


def _subdirectory(client: DbtCloudClient, runtime: Runtime, run: Run) -> str | None:
    if run.project_id is None:
        return None
    try:
        return client.get_project(run.project_id).dbt_project_subdirectory
    except DbtCloudError as exc:
        runtime.log(f"Could not read project {run.project_id} ({exc.message}): paths start at the repository's root.")
        return None


def _from_workspace(
    runtime: Runtime, run: Run, subdirectory: str | None, problems: Sequence[Node]
) -> dict[str, NodeFile]:
    """The nodes' files found in the checked-out repository by their names, for a manifest too big to read."""
    prefix = project_prefix(subdirectory)
    paths = workspace.listing(runtime.workspace, prefix)
    found = found_files([node.unique_id for node in problems], paths, prefix)
    where = f"{len(found)} of {len(problems)} failed or warned node(s) found by name in the checked-out repository"
    runtime.notice(
        f"The {MANIFEST} of run {run.id} is over the {MANIFEST_LIMIT // 1_000_000} MB the action reads: {where}"
        f"{'' if paths else ' (none is checked out: add actions/checkout before this step)'}."
    )
    return found
