"""Reads while the step waits: the run looked at again until it ends, and the later runs a verdict needs, each read
through dbt Cloud's bad minutes (weather never costs a run) and paced by the job's recent run times."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import TypeVar

from autoscale_ci.act.snapshot import as_active, read_runs
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.dbt_cloud.models import RUNNING, Run, parse_timestamp, status_name
from autoscale_ci.dbt_cloud.runs import RELATED, RELATED_WITH_STEPS
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.rules.markers import clone_marker_prefix, clone_pr, clone_source
from autoscale_ci.rules.polling import expected_duration, next_check, parse_duration, weather_wait
from autoscale_ci.rules.verdict import FinishedRun, superseded_by

# A read while waiting gets one quick retry (a connection reset, a lone 502); longer weather is paced by the waiting.
READ_ATTEMPTS = 2
_T = TypeVar("_T")


def _cause(error: DbtCloudError) -> str:
    """What a read got instead of an answer."""
    return f"HTTP {error.status_code}" if error.status_code is not None else "no answer"


class Waiting:
    """Waits on one job's runs until `deadline` (on `clock`), checking at most every `poll_interval` seconds."""

    def __init__(
        self,
        client: DbtCloudClient,
        runtime: Runtime,
        *,
        job_id: int,
        poll_interval: float,
        deadline: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        elapsed: Callable[[], str],
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.job_id = job_id
        self.poll_interval = poll_interval
        self.deadline = deadline
        self._clock = clock
        self._sleep = sleep
        self._elapsed = elapsed

    def wait(self, run: Run, watch: Callable[[Run], bool] | None = None) -> Run:
        """The run once it has ended, or as last read when timeout-minutes passed first, or when `watch`, told of each
        read (which then carries the run's steps), says to stop."""
        last = run.status
        self.runtime.log(f"[{self._elapsed()}] run {run.id}: {status_name(last)}")
        expected = self._expected_duration() if run.is_active else None
        began = self._clock()
        while run.is_active:
            remaining = self.deadline - self._clock()
            if remaining <= 0:
                return run
            running_for = parse_duration(run.run_duration) if run.status == RUNNING else None
            wait = next_check(running_for, expected, self.poll_interval, self._clock() - began)
            self._sleep(min(wait, remaining))
            related = RELATED if watch is None else RELATED_WITH_STEPS
            read = partial(self.client.get_run, run.id, related=related, attempts=READ_ATTEMPTS)
            fresh = self.through_weather(read, f"the read of run {run.id}")
            if fresh is None:
                return run  # timeout-minutes passed while dbt Cloud did not answer
            run = fresh
            if watch is not None and watch(run):
                return run
            if run.status != last:
                last = run.status
                self.runtime.log(f"[{self._elapsed()}] run {run.id}: {status_name(last)}")
        return run

    def through_weather(self, read: Callable[[], _T], what: str) -> _T | None:
        """`read()`'s answer, tried again through dbt Cloud's bad minutes (a 5xx, a 429, no answer at all), paced so
        that an outage costs a few requests a minute, until timeout-minutes (then None). Only a definite answer (the
        run is gone, the token no longer works) is raised: weather never costs a run. One warning a streak."""
        streak, began = 0, self._clock()
        while True:
            try:
                answer = read()
            except DbtCloudError as exc:
                if not exc.weather:
                    raise
                streak += 1
                remaining = self.deadline - self._clock()
                wait = weather_wait(self.poll_interval, streak, exc.status_code, exc.retry_after)
                if streak == 1:
                    again = f"looking again in {max(min(wait, remaining), 0):.0f} s"
                    self.runtime.log(
                        f"{what[0].upper()}{what[1:]} failed ({_cause(exc)}); {again}, the run left alone."
                    )
                if remaining <= 0:
                    self._weathered(what, streak, began, exc, over=False)
                    return None
                self._sleep(min(wait, remaining))
                continue
            if streak:
                self._weathered(what, streak, began, None, over=True)
            return answer

    def _weathered(self, what: str, streak: int, began: float, last: DbtCloudError | None, *, over: bool) -> None:
        seconds = int(self._clock() - began)
        how = f"{streak} tries in {seconds // 60}m{seconds % 60:02d}s"
        if over:
            message = f"dbt Cloud did not answer {what} for {how}, then answered again: the step waited on."
        else:
            cause = f" (last: {_cause(last)})" if last is not None else ""
            message = f"dbt Cloud did not answer {what} for {how}{cause}, until timeout-minutes."
        self.runtime.warning(f"{message} The run was never touched because of it.", title="dbt Cloud did not answer")

    def superseding(self, run: FinishedRun, pr: PullRequest, created_at: str | None) -> str | None:
        """The newer commit whose run took over from `run`: looked for among the job's newest runs, then among those
        of the clones made or reused for this pull request since `run` was created (a newer run may be on one, its
        clone deleted already); one page each, however many runs the account made meanwhile."""
        for target in self._supersede_targets(pr.number, parse_timestamp(created_at)):
            read = partial(self.client.recent_run_rows, job_id=target, id_gt=run.id, attempts=READ_ATTEMPTS)
            rows = self.through_weather(read, f"the read of the runs after run {run.id}")
            if rows is None:
                return None
            later = [as_active(newer) for newer in read_runs(rows, self.job_id, self.runtime.debug)]
            found = superseded_by(run, self.job_id, pr.number, pr.order, later)
            if found is not None:
                return found
        return None

    def _supersede_targets(self, pr_number: int, since: datetime | None) -> Iterator[int]:
        """The job, then (read only when needed) this pull request's clones changed since `since`."""
        job_id = self.job_id
        yield job_id
        named = f"{clone_marker_prefix(job_id)}{pr_number}"
        read = partial(self.client.list_jobs, named, deleted=True)
        clones = self.through_weather(read, f"the read of the clones of job {job_id} for PR #{pr_number}") or []
        for clone in sorted(clones, key=lambda job: job.id, reverse=True):
            if clone_source(clone.name) != job_id or clone_pr(clone.name) != pr_number:
                continue
            stamps = [parse_timestamp(clone.definition().get(key)) for key in ("created_at", "updated_at")]
            changed = max((stamp for stamp in stamps if stamp is not None), default=None)
            if since is None or changed is None or changed >= since:
                yield clone.id

    def _expected_duration(self) -> float | None:
        """The job's typical run time, so that checks can cluster around the likely end; a guess, never fatal."""
        try:
            return expected_duration(self.client.recent_durations(self.job_id))
        except DbtCloudError:
            return None
