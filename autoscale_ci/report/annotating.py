"""The failed and warned nodes annotated on their files, after the verdict: as many as the CI keeps, one notice for
the rest, and under GitLab a Code Quality report of all of them. Optional: whatever fails here is a warning."""

from __future__ import annotations

from functools import partial

from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.report import workspace
from autoscale_ci.report.outcome import Outcome
from autoscale_ci.rules.annotations import PER_LEVEL, Annotation, capped, code_quality, placed


def annotate(outcome: Outcome, runtime: Runtime) -> None:
    """Annotate each failed or warned node on its file where the manifest (or the checked-out repository) placed
    it, at the line that names it when the workspace holds the file; never changes the verdict."""
    try:
        _annotate(outcome, runtime)
    except Exception as exc:
        runtime.warning(f"Could not annotate the failed nodes on their files ({type(exc).__name__}: {exc}).")


def _annotate(outcome: Outcome, runtime: Runtime) -> None:
    problems = outcome.results.problems if outcome.results else ()
    everything = placed(problems, outcome.node_files, partial(workspace.text, runtime.workspace))
    # GitHub keeps PER_LEVEL of each level a step, counting those the step wrote before (the verdict's among them).
    room = {
        level: PER_LEVEL - runtime.annotated.get(level, 0) if runtime.github else len(everything) for level in LEVELS
    }
    made, left_out = capped(everything, room)
    for annotation in made:
        write = runtime.error if annotation.level == "error" else runtime.warning
        write(annotation.message, title=annotation.title, place=annotation.place)
    if outcome.results is not None:
        _code_quality(runtime, everything)
    if left_out:
        runtime.notice(
            f"{left_out} more failed or warned node(s) are not annotated on their files: GitHub keeps {PER_LEVEL} "
            "annotations of each level a step. The job summary lists the failed nodes."
        )


LEVELS = ("error", "warning")


def _code_quality(runtime: Runtime, everything: list[Annotation]) -> None:
    """GitLab's report of every finding; an empty one too, so that GitLab shows the last ones as resolved."""
    try:
        written = runtime.write_code_quality(code_quality(everything))
    except OSError as exc:
        runtime.warning(f"Could not write the Code Quality report ({exc}).", title="Code Quality report")
        return
    if written is not None:
        runtime.log(f"Code Quality report: {written} (name it in `artifacts: reports: codequality:`).")
