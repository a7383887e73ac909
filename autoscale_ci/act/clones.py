"""A clone to trigger for a Clone plan: made from the job's own definition (or an idle clone updated for reuse) and
given the job's environment-variable overrides; or, with one warning, the job itself when dbt Cloud refuses the clone
or the clone would build with other settings than the job."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial

from autoscale_ci.act import signals
from autoscale_ci.act.leftovers import Leftovers
from autoscale_ci.act.threads import in_background
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError
from autoscale_ci.dbt_cloud.models import Job, Override
from autoscale_ci.rules.clone_body import clone_definition
from autoscale_ci.rules.decide import Clone, Trigger, without_clone

# How dbt Cloud refuses a token that may not create jobs: 403, and often 404 ("... check that you have the proper
# permissions").
PERMISSION_REFUSALS = (403, 404)
# dbt Cloud's words when it will not make a clone of a job with state-aware orchestration (a 405, NOTES.md).
STATE_AWARE = "state aware orchestration"
# Rendered when the job has a secret job-level override: the API shows its value masked, so no clone can have it.
MASKED_OVERRIDE = (
    "Job {job} has the secret environment-variable override(s) {names}: dbt Cloud shows a secret's value masked, so "
    "a clone cannot be given it, and a run on a clone would build without it. Job {job} is triggered instead, and "
    "dbt Cloud queues the run behind the one in flight. To let busy pull requests run on clones, set the secret at "
    "the environment level (the environment's Environment variables), where every job of the environment reads it."
)


def refuses_the_clone(error: DbtCloudError) -> bool:
    """Whether dbt Cloud said no to the clone itself (a 4xx: its permission, its body, its job's settings), so that
    triggering the job is the way on; a rate limit or a server error is weather, not an answer about the clone."""
    return error.status_code is not None and 400 <= error.status_code < 500 and error.status_code != 429


def clone_refused(error: DbtCloudError, job_id: int) -> tuple[str, str]:
    """The warning for a clone dbt Cloud refused, with dbt Cloud's own words and what to change; and its title."""
    code = error.status_code
    said = f' ("{error.said}")' if error.said else ""
    if code in PERMISSION_REFUSALS:
        title = "Clone not allowed"
        change = "give the token the Job Admin permission set (or Job Creator, on Enterprise) for the job's project" + (
            " (dbt Cloud answers 404 for a missing permission too)" if code == 404 else ""
        )
    elif STATE_AWARE in error.said.lower():
        title = "Clone refused"
        change = (
            f"switch off state-aware orchestration (dbt State, the job's cost optimization features) in job {job_id}'s "
            "settings: dbt Cloud does not allow it on CI and merge jobs, so no clone of the job can be made"
        )
    else:
        title = "Clone refused"
        change = f"check job {job_id}'s settings in dbt Cloud, and report this warning if they look right"
    message = (
        f"dbt Cloud answered {code} when asked to {error.operation}{said}. Job {job_id} is triggered instead, and dbt "
        f"Cloud queues the run behind the one in flight. To let the action clone a busy job, {change}; to stop it "
        "trying, set clone: false."
    )
    return message, title


@dataclass(frozen=True)
class Target:
    """What to trigger: the plan as it stands now (a Trigger of the job once the clone was refused), the job to
    trigger, and the idle clone reused for it (None for a clone made now, or for the job itself)."""

    plan: Trigger | Clone
    job_id: int
    reused: int | None = None


class Clones:
    """Provides the clone a Clone plan triggers. `created` is the clone this step made, set the moment it exists, so
    that a signal right after cannot leave it behind; `delete` removes it, past any signal, when it is not used."""

    def __init__(
        self,
        client: DbtCloudClient,
        runtime: Runtime,
        leftovers: Leftovers,
        *,
        job_id: int,
        delete_clone: bool,
        delete: Callable[[int], object],
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.leftovers = leftovers
        self.job_id = job_id
        self.delete_clone = delete_clone
        self._delete = delete
        self.created: int | None = None

    def provide(self, plan: Clone, job: Job | None, pr_number: int) -> Target:
        """Make (or update) the clone and give it the job's overrides; the job itself, with a warning, when the clone
        may not be made or would differ from the job."""
        if job is None:
            raise ValueError("a Clone plan needs the job's definition")
        # Read while the clone is made: a job without overrides pays no round trip for them.
        reading = in_background(self.client.job_overrides, job.project_id, job.id)
        try:
            reused = self._prepare(plan, job, pr_number)
            target = reused or self.created or self.job_id
            found, why_not = self._job_overrides(reading)
            if why_not is None:
                self._copy_overrides(job.project_id, target, found, reused=reused is not None)
                return Target(plan, target, reused)
        except DbtCloudError as refused:
            if not refuses_the_clone(refused):
                raise
            why_not = f"answered {refused.status_code}"
            self.runtime.warning(*clone_refused(refused, self.job_id))
        # The clone made meanwhile goes at once; a reused one stays, idle, for a later step.
        if self.created is not None:
            self._delete(self.created)
            self.created = None
        return Target(without_clone(plan, why_not), self.job_id)

    def _prepare(self, plan: Clone, job: Job, pr_number: int) -> int | None:
        """The idle clone updated for reuse, or None with the clone created in `created`."""
        body = clone_definition(job.definition(), self.job_id, pr_number, secrets.token_hex(3))
        if plan.reuse_clone_id is not None:
            try:
                self.client.update_job(plan.reuse_clone_id, body)
            except DbtCloudError as gone:
                if gone.status_code != 404:
                    raise
                # dbt Cloud answers 404 for a missing permission too: only a clone that reads back deleted is gone.
                found = self.client.find_job(plan.reuse_clone_id)
                if found is not None and not found.deleted:
                    raise
                # Deleted since it was listed (a cleanup sweep, say): a fresh clone takes its place.
                self.runtime.log(f"Idle clone job {plan.reuse_clone_id} is gone; creating a new clone.")
            else:
                self.runtime.log(f"Updated idle clone job {plan.reuse_clone_id} from job {self.job_id}.")
                return plan.reuse_clone_id
        with signals.shielded():
            clone = self.client.create_job(body)
            self.created = clone.id
            if self.delete_clone:
                self.leftovers.clone_created(clone.id)
        self.runtime.log(f"Created clone job {clone.id} '{clone.name}' (every trigger and the schedule off).")
        return None

    def _job_overrides(self, reading: Future[dict[str, Override]]) -> tuple[dict[str, Override], str | None]:
        """The job's overrides, which its clone must get; and why not to clone (a secret, or overrides that could not
        be read), said in a warning."""
        try:
            found = reading.result()
        except DbtCloudError as exc:
            self.runtime.warning(
                f"Could not read the environment-variable overrides of job {self.job_id} ({exc.message}), so a clone "
                "might build with other settings than the job: the job is triggered instead, and dbt Cloud queues the "
                "run.",
                title="Clone skipped",
            )
            return {}, "its environment-variable overrides could not be read"
        masked = sorted(name for name, override in found.items() if override.secret)
        if not masked:
            return found, None
        self.runtime.warning(MASKED_OVERRIDE.format(job=self.job_id, names=", ".join(masked)), title="Clone skipped")
        return found, f"its secret override {masked[0]} cannot be copied to a clone"

    def _copy_overrides(self, project_id: int, clone_id: int, wanted: dict[str, Override], *, reused: bool) -> None:
        """Give the clone exactly the job's overrides, all at once, before its run is triggered."""
        have = self.client.job_overrides(project_id, clone_id) if reused else {}
        writes: list[Future[None]] = []
        for name, override in wanted.items():
            current = have.get(name)
            if current is not None and current.value == override.value:
                continue
            changing = current.id if current is not None else None
            value = override.value or ""
            set_it = partial(self.client.set_job_override, project_id, clone_id, name, value, override_id=changing)
            writes.append(in_background(set_it))
        for name, current in have.items():
            if name not in wanted and current.id is not None:
                writes.append(in_background(self.client.delete_job_override, project_id, current.id))
        for write in writes:
            write.result()
        if writes:
            self.runtime.log(f"Clone job {clone_id} has the {len(wanted)} override(s) of job {self.job_id} now.")
