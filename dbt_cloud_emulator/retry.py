"""Retrying a failed run: whether a run can be retried (`can_retry`, `retry_not_supported_reason`) and
`POST /runs/{id}/retry/`, which queues a new run of its job."""

from __future__ import annotations

import copy

from .protocol import ApiError, JsonDict
from .state import ERROR, Run, State
from .validation import TRIGGER_FIELDS

# The spec's RetryNotSupportedReasonEnum. The emulator never answers its other two reasons, RETRY_UNSUPPORTED_CMD and
# RETRY_UNSUPPORTED_VERSION: nothing documents which commands or dbt versions they refuse.
NOT_FAILED_RUN = "RETRY_NOT_FAILED_RUN"
NO_RUN_RESULTS = "RETRY_NO_RUN_RESULTS"
NOT_LATEST_RUN = "RETRY_NOT_LATEST_RUN"
# NOTES.md: "A failure before any node ran has no results to retry from": a run that failed in `dbt deps`, or whose
# last dbt command could not connect to its database, left no run_results.json.
NO_RESULTS_OUTCOMES = frozenset({"deps_error", "connect_error"})
# A guess at the wording of the 400 a run that cannot be retried gets; that it is a 400 in the usual envelope is a
# guess too (the spec documents only the 200).
REFUSED = "Run {run_id} cannot be retried: {reason}."
# A guess at the cause dbt Cloud gives the run a retry queues.
CAUSE = "Retry of run {run_id}"


def not_supported_reason(run: Run, *, latest: bool) -> str | None:
    """Why a run cannot be retried (the spec's RetryNotSupportedReasonEnum), or None if it can; `latest` says that no
    later run of its job exists.

    NOTES.md: a retry reruns a failed run from the point of failure, needs the run's results, and is only for the
    job's latest run. The order the reasons are checked in, when several apply, is a guess.
    """
    if run.status != ERROR:
        return NOT_FAILED_RUN
    # A run missing its run_results.json (Emulator.set_artifacts_missing) left none either.
    if run.outcome in NO_RESULTS_OUTCOMES or "run_results.json" in run.missing:
        return NO_RUN_RESULTS
    if not latest:
        return NOT_LATEST_RUN
    return None


def trigger_fields(run: Run, *, keeps: bool) -> JsonDict:
    """The trigger fields of the run a retry of `run` queues: its cause, and (`keeps`) the failed run's other fields
    (git_sha, git_branch, the pull request's id, schema_override, every *_override), or (not `keeps`) none of them.

    NOTES.md: the retry takes no body, and nothing documents that the new run keeps `schema_override` and the PR id;
    Emulator.set_retry_trigger(False) makes a client that relies on them find out.
    """
    fields: JsonDict = dict.fromkeys(TRIGGER_FIELDS)
    if keeps:
        fields.update({name: copy.deepcopy(run.trigger.get(name)) for name in TRIGGER_FIELDS})
    fields["cause"] = CAUSE.format(run_id=run.id)
    return fields


def retry(state: State, run_id: int) -> Run:
    """Queue a new run of a failed run's job, as `POST /runs/{id}/retry/` does: a 404 for an unknown run, a 400 for one
    that cannot be retried, then refused as a trigger of its job would be (a deleted job, a locked account).

    The new run is an ordinary run of the job from then on: outcome rules by commit and job apply to it, and its steps
    are the job's (or its trigger's steps_override, when it keeps the failed run's). A guess: dbt Cloud's rerun from
    the point of failure (`dbt retry`) is not modelled, nor does the failed run change: its `retrying_run_id` stays
    null, as nothing documents what that field holds.
    """
    with state.lock:
        state.advance()
        run = state.run(run_id)
        reason = not_supported_reason(run, latest=state.is_latest(run))
        if reason is not None:
            raise ApiError(400, REFUSED.format(run_id=run.id, reason=reason))
        return state.trigger(run.job_id, trigger_fields(run, keeps=state.retry_keeps))
