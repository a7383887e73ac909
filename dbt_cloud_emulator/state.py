"""The account, its jobs, runs and env vars, and the scheduler that moves runs along, all under one lock."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import random
import re
import threading
from dataclasses import dataclass
from typing import TypeVar

from .clock import Clock, humanize, iso
from .config import EmulatorConfig, check_log_lines
from .envvars import ANSWER_SHAPES, ENVIRONMENT, JOB, PROJECT, EnvValue, EnvVarStore
from .fusion import CORE, ENGINES, FUSION
from .plans import holds_a_slot, pr_id, runs_beside
from .project import PACKAGE_ERROR, check_failing, check_selected, selection_for_failures
from .protocol import ApiError, JsonDict
from .validation import INVALID_REQUEST, TRIGGER_FIELDS, env_var_name_problem, missing_object

# The value of a per-job rule (State._job_rule).
Rule = TypeVar("Rule")

QUEUED, STARTING, RUNNING, SUCCESS, ERROR, CANCELLED = 1, 2, 3, 10, 20, 30
ACTIVE = (QUEUED, STARTING, RUNNING)
STATUS_NAMES = {
    QUEUED: "Queued",
    STARTING: "Starting",
    RUNNING: "Running",
    SUCCESS: "Success",
    ERROR: "Error",
    CANCELLED: "Cancelled",
}
# How a run can end, and the status each ends in; "deps_error" fails in `dbt deps`, before any dbt command,
# "check_error" in a check of dbt Fusion's, before any model of the failing command runs, "transient_error" as
# "error" but every failing node on a connection the database dropped, and "connect_error" in the last dbt command,
# on a connection the database refused, before any node runs.
OUTCOMES = {
    "success": SUCCESS,
    "error": ERROR,
    "deps_error": ERROR,
    "check_error": ERROR,
    "transient_error": ERROR,
    "connect_error": ERROR,
}
ACCOUNT_FIELDS = (
    "name",
    "plan",
    "run_slots",
    "locked",
    "lock_reason",
    "run_locked_until",
    "queue_limit",
    "state",
    "static_subdomain",
    "vanity_subdomain",
)
# NOTES.md: a failed run's `status_message` is often only this; the failing step's own lines say what failed.
ERROR_MESSAGE = "dbt command failed"
DEPS_ERROR_MESSAGE = f"Failed to install packages with `dbt deps`: {PACKAGE_ERROR}"
# A guess: a build a check failed says no more than one a model failed, nor does a command whose database dropped or
# refused its connection (NOTES.md: "often only" that).
STATUS_MESSAGES = {
    "error": ERROR_MESSAGE,
    "deps_error": DEPS_ERROR_MESSAGE,
    "check_error": ERROR_MESSAGE,
    "transient_error": ERROR_MESSAGE,
    "connect_error": ERROR_MESSAGE,
}
# Who triggers the runs of `churn`: other teams of a busy account.
CHURN_CAUSE = "Triggered by another team"
# The name a job cloned for a pull request carries, `<name> [autoscale <job id> PR #<n> <nonce>]`: the clone-naming
# convention of this repository's action (its clients' convention, not dbt Cloud's), read only to find a clone's source.
CLONE_NAME = re.compile(r" \[autoscale (\d+) PR #\d+(?: [0-9a-f]{1,16})?\]$")
TIMED_OUT = "This run timed out after running for {ran}, which exceeded the configured timeout of {limit} seconds."
# A second value of one name at one scope; the project's wording is what dbt Cloud answers (seen on its bulk endpoint).
DUPLICATE_ENV_VAR = {
    PROJECT: "An environment variable by this name already exists in this project and account",
    ENVIRONMENT: "An environment variable by this name already exists for this environment",
    JOB: "An environment variable by this name already exists for this job",
}


@dataclass
class Run:
    """One run; times are emulated epoch seconds."""

    id: int
    trigger_id: int
    job_id: int
    project_id: int
    environment_id: int
    trigger: JsonDict
    git_sha: str | None
    git_branch: str | None
    dbt_version: str
    created_at: float
    updated_at: float
    status: int = QUEUED
    status_message: str | None = None
    dequeued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    # When the current phase (starting or running) ends.
    due: float | None = None
    run_seconds: float = 0.0
    generate_docs: bool = False
    # The dbt commands the run invokes (the job's execute_steps, or the trigger's steps_override).
    commands: tuple[str, ...] = ()
    # Reached the end of its running time while held: it finishes once no hold matches it.
    overdue: bool = False
    # The job's execution timeout, or the trigger's override; 0 for none. A run that outlasts it is cancelled.
    timeout_seconds: int = 0
    timing_out: bool = False
    # A key of OUTCOMES once the run has ended; for a cancelled run, the one it was heading for (its logs show it).
    outcome: str | None = None
    # Set at the trigger from the job and the account's plan (plans.py): whether it runs beside its job's other
    # runs, and whether it takes a run slot.
    beside: bool = False
    holds_slot: bool = True
    # How many nodes its `dbt build`, `run` and `test` commands select, set as it leaves the queue from its job's
    # selection (Emulator.set_selected_nodes); None for the project's own nodes.
    selected: int | None = None
    # Set as it leaves the queue, like `selected`: how many nodes its failing command fails (Emulator.set_failing_nodes;
    # None: one model), which artifacts it did not produce (set_artifacts_missing), and the dbt engine it runs on with
    # how many nodes state-aware orchestration reused (set_engine).
    failing: int | None = None
    missing: tuple[str, ...] = ()
    engine: str = CORE
    reused: int = 0


@dataclass
class OutcomeRule:
    """How the runs a set_outcome rule matches end, and how many more runs it decides (None: until changed)."""

    outcome: str
    left: int | None = None


@dataclass(frozen=True)
class Hold:
    """Runs that may not finish while this stands; a field left None matches every run."""

    run_id: int | None = None
    git_sha: str | None = None
    job_id: int | None = None

    def matches(self, run: Run) -> bool:
        """Whether `run` is held by this rule."""
        return (
            (self.run_id is None or self.run_id == run.id)
            and (self.git_sha is None or self.git_sha == run.trigger.get("git_sha"))
            and (self.job_id is None or self.job_id == run.job_id)
        )


def _timeout(fields: JsonDict, job: JsonDict) -> int:
    override = fields.get("timeout_seconds_override")
    if override is not None:
        return int(override)
    # Read leniently: a job seeded as another team's may carry any shape.
    execution = job.get("execution")
    seconds = execution.get("timeout_seconds") if isinstance(execution, dict) else None
    return seconds if isinstance(seconds, int) and not isinstance(seconds, bool) else 0


def _commands(fields: JsonDict, job: JsonDict) -> tuple[str, ...]:
    steps = fields.get("steps_override") or job.get("execute_steps")
    return tuple(step for step in steps if isinstance(step, str)) if isinstance(steps, list) else ()


def job_defaults() -> JsonDict:
    """A job's response fields before the request's own are laid on top."""
    return {
        "description": "",
        "dbt_version": None,
        "raw_dbt_version": "latest",
        "execute_steps": ["dbt build"],
        "job_type": "other",
        "lifecycle_webhooks_url": None,
        "compare_changes_flags": "--select state:modified",
        "cost_optimization_features": [],
        "triggers_on_draft_pr": False,
        "deferring_environment_id": None,
        "deferring_job_definition_id": None,
        "generate_sources": False,
        "is_deferrable": False,
        "is_system": False,
        "run_failure_count": 0,
        "job_completion_trigger_condition": None,
        "schedule": {
            "cron": "0 * * * *",
            "date": {"type": "every_day", "days": None, "cron": None},
            "time": {"type": "every_hour", "interval": 1, "hours": None},
        },
    }


class State:
    """Everything the emulator knows; every public method takes the lock itself."""

    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.base_url = f"http://{config.host}:{config.port}"
        self.account: JsonDict = {
            "id": config.account_id,
            "name": config.account_name,
            "state": 1,
            "plan": config.plan,
            "run_slots": config.run_slots,
            "developer_seats": 5,
            "read_only_seats": 10,
            "locked": False,
            "lock_reason": None,
            "run_locked_until": None,
            "queue_limit": config.queue_limit,
            "unlocked_at": None,
            "pending_cancel": False,
            "docs_job_id": None,
            "freshness_job_id": None,
            # Further fields the spec requires of an account; the action reads none of them.
            "identifier": f"act{config.account_id}",
            "created_at": iso(clock.now()),
            "updated_at": iso(clock.now()),
            "account_migration_events": [],
            "agent_credit_locked": False,
            "analyst_seats": 0,
            "billing_email_address": None,
            "business_critical": False,
            "copilot_locked_until": None,
            "develop_pod_memory_request_mebibytes": None,
            "enterprise_login_slug": None,
            "explorer_seats": 0,
            "git_auth_level": "team",
            "groups": [],
            "it_seats": 0,
            "lock_cause": None,
            "pod_memory_request_mebibytes": None,
            "run_duration_limit_seconds": 86400,
            "starter_repo_url": None,
            "static_subdomain": None,
            "trial_end_date": None,
            "vanity_subdomain": None,
        }
        self.project_id = config.project_id
        self.environment_id = config.environment_id
        self.jobs: dict[int, JsonDict] = {}
        self.runs: dict[int, Run] = {}
        # Active runs in id order; dict order is insertion order and ids only grow.
        self._active: dict[int, Run] = {}
        self._next = {"job": 1001, "run": 100001, "trigger": 500001, "env_var": 700001}
        self.env_vars = EnvVarStore()
        self.env_answer_shape = "mapping"
        # What GET /api/v3/accounts/ lists; None for the account itself (a test lists several, or none).
        self.listed_accounts: list[JsonDict] | None = None
        self._default_timing = (config.start_seconds, config.run_seconds)
        self._timing: dict[int, tuple[float | None, float | None]] = {}
        self._outcomes: dict[tuple[str | None, int | None], OutcomeRule] = {}
        # The id of each job's latest run (ids only grow): a retry is only for it (NOTES.md).
        self._latest: dict[int, int] = {}
        # Whether a retry's run carries the failed run's trigger fields (set_retry_trigger). A guess either way:
        # NOTES.md says nothing documents it. Keeping them is what rerunning the same run suggests; the action reads
        # the new run's trigger and replaces a run that lost them, and tests set both.
        self.retry_keeps = True
        # The rules that shape a run's dbt output, by job id or None for every job without its own: nodes selected,
        # nodes failing, artifacts missing, and (engine, nodes reused).
        self._selected: dict[int | None, int] = {}
        self._failing: dict[int | None, int] = {}
        self._missing: dict[int | None, tuple[str, ...]] = {}
        self._engines: dict[int | None, tuple[str, int]] = {}
        # The seeded project's `dbt_project_subdirectory` (None: at the repository's root), and when it last changed.
        self.project_subdirectory: str | None = None
        # The least length of the project's manifest.json (set_project): 0 for the few nodes it has.
        self.manifest_bytes = 0
        self.project_created_at = self.project_updated_at = clock.now()
        self._holds: set[Hold] = set()
        self._error_rate = config.error_rate
        self._rng = random.Random(config.seed)  # noqa: S311 - reproducible outcomes, not secrets
        self._cursor = clock.now()
        self.log_lines = config.log_lines
        # (job id, runs per read): runs triggered before each runs list is answered, or None.
        self._churn: tuple[int, int] | None = None

    # -- time -------------------------------------------------------------------------------------------

    def now(self) -> float:
        """The emulated time the scheduler has reached."""
        with self.lock:
            return self._cursor

    def advance(self) -> None:
        """Play every transition due up to the clock's time, in time order, starting queued runs as slots free."""
        with self.lock:
            now = max(self.clock.now(), self._cursor)
            while True:
                self._dequeue(self._cursor)
                due = min((r.due for r in self._active.values() if r.due is not None), default=None)
                if due is None or due > now:
                    break
                self._cursor = max(due, self._cursor)
                for run in [r for r in self._active.values() if r.due is not None and r.due <= self._cursor]:
                    self._step(run, self._cursor)
            self._cursor = now

    def _dequeue(self, t: float) -> None:
        executing = [r for r in self._active.values() if r.status != QUEUED]
        free = int(self.account["run_slots"]) - sum(1 for r in executing if r.holds_slot)
        for run in list(self._active.values()):
            if run.status != QUEUED or (run.holds_slot and free <= 0):
                continue
            # A job runs one run at a time, except the concurrent CI runs of plans that have them (plans.py).
            if not run.beside and any(r.job_id == run.job_id for r in executing):
                continue
            start_s, run_s = self._timing_for(run.job_id)
            run.status = STARTING
            run.dequeued_at = run.updated_at = t
            run.due = t + start_s
            run.run_seconds = run_s
            run.git_sha = run.git_sha or hashlib.sha1(f"{run.job_id}:{run.id}".encode()).hexdigest()  # noqa: S324
            run.git_branch = run.git_branch or "main"
            self._shape(run)
            executing.append(run)
            if run.holds_slot:
                free -= 1

    def _step(self, run: Run, t: float) -> None:
        run.updated_at = t
        if run.status == STARTING:
            run.status = RUNNING
            run.started_at = t
            run.timing_out = 0 < run.timeout_seconds < run.run_seconds
            run.due = t + (run.timeout_seconds if run.timing_out else run.run_seconds)
            return
        if run.timing_out:
            # As dbt Cloud does: a run that outlasts its timeout ends cancelled, with a message that says why.
            self._cancel(run, TIMED_OUT.format(ran=humanize(t - (run.started_at or t)), limit=run.timeout_seconds))
            return
        if any(hold.matches(run) for hold in self._holds):
            # Held: it keeps running, whatever the clock says, until `release` lets it end.
            run.due, run.overdue = None, True
            return
        run.outcome = self._decide(run)
        run.status = OUTCOMES[run.outcome]
        run.status_message = STATUS_MESSAGES.get(run.outcome)
        self._finish(run, t)

    def _finish(self, run: Run, t: float) -> None:
        run.finished_at = run.updated_at = t
        run.due = None
        self._active.pop(run.id, None)

    def _decide(self, run: Run) -> str:
        key = self._rule_key(run)
        if key is not None:
            rule = self._outcomes[key]
            if rule.left is not None:
                # A rule for `times` runs: this run ends under it, one fewer is left, and the last one forgets it.
                rule.left -= 1
                if rule.left <= 0:
                    del self._outcomes[key]
            return rule.outcome
        if self._error_rate and self._rng.random() < self._error_rate:
            return "error"
        return "success"

    def _rule_key(self, run: Run) -> tuple[str | None, int | None] | None:
        sha = run.git_sha
        for key in ((sha, run.job_id), (sha, None), (None, run.job_id), (None, None)):
            if key in self._outcomes:
                return key
        return None

    def _rule(self, run: Run) -> str | None:
        key = self._rule_key(run)
        return None if key is None else self._outcomes[key].outcome

    def outcome_of(self, run: Run) -> str:
        """How a run ended, or how an active run will end as the rules stand ("success" if the error rate decides)."""
        with self.lock:
            return run.outcome or self._rule(run) or "success"

    def _shape(self, run: Run) -> None:
        """Give a run leaving the queue its job's rules: nodes selected and failing, artifacts missing, engine."""
        run.selected = self._job_rule(self._selected, run.job_id)
        run.failing = self._job_rule(self._failing, run.job_id)
        if run.failing is not None:
            # Enough nodes for that many to fail: a larger selection than the job's own if it allows fewer.
            run.selected = selection_for_failures(run.failing, run.selected)
        run.missing = self._job_rule(self._missing, run.job_id) or ()
        run.engine, run.reused = self._job_rule(self._engines, run.job_id) or (CORE, 0)

    def _job_rule(self, rules: dict[int | None, Rule], job_id: int) -> Rule | None:
        """A job's rule: its own, else its source's if it is a clone, else the default rule; None without one."""
        job = self.jobs.get(job_id) or {}
        found = CLONE_NAME.search(str(job.get("name") or ""))
        # A clone runs its source's commands on the same project, so it follows its source's rules.
        source = int(found.group(1)) if found else None
        for key in (job_id, source, None):
            if key in rules:
                return rules[key]
        return None

    def _timing_for(self, job_id: int) -> tuple[float, float]:
        default_start, default_run = self._default_timing
        start_s, run_s = self._timing.get(job_id, (None, None))
        return (default_start if start_s is None else start_s, default_run if run_s is None else run_s)

    def idle(self) -> bool:
        """True when no run is queued, starting or running."""
        with self.lock:
            self.advance()
            return not self._active

    # -- configuration ----------------------------------------------------------------------------------

    def set_outcome(
        self, outcome: str | None, git_sha: str | None, job_id: int | None, times: int | None = None
    ) -> None:
        """Decide how matching runs end, for the next `times` runs that end under the rule (None: until changed); the
        most specific rule wins, None removes the rule."""
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError(f"times must be an integer >= 1, or None for every run until changed, not {times!r}")
        with self.lock:
            if outcome is None:
                if times is not None:
                    raise ValueError("times needs an outcome: None forgets the rule")
                self._outcomes.pop((git_sha, job_id), None)
                return
            if outcome not in OUTCOMES:
                raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}")
            self._outcomes[(git_sha, job_id)] = OutcomeRule(outcome, times)

    def set_retry_trigger(self, keeps: bool) -> None:
        """Whether the run a retry queues carries the failed run's trigger fields (True) or its cause alone."""
        if not isinstance(keeps, bool):
            raise ValueError(f"keeps must be true or false, not {keeps!r}")
        with self.lock:
            self.retry_keeps = keeps

    def is_latest(self, run: Run) -> bool:
        """Whether no later run of the run's job exists, whatever its status."""
        with self.lock:
            return self._latest.get(run.job_id, run.id) <= run.id

    def set_log_lines(self, lines: int) -> None:
        """Pad every dbt command step's logs with this many more lines, from now on."""
        check_log_lines(lines)
        with self.lock:
            self.log_lines = lines

    def set_selected_nodes(self, count: int | None, job_id: int | None) -> None:
        """Make runs of a job (None: of every job without its own rule) dequeued from now on select `count` nodes in
        their `dbt build`, `run` and `test` commands; a count of None removes the rule."""
        if count is not None:
            check_selected(count)
        self._set_rule(self._selected, job_id, count)

    def set_failing_nodes(self, count: int | None, job_id: int | None) -> None:
        """Make runs of a job (None: of every job without its own rule) dequeued from now on fail `count` nodes in a
        failing command; a count of None removes the rule."""
        if count is not None:
            check_failing(count)
        self._set_rule(self._failing, job_id, count)

    def set_artifacts_missing(self, paths: list[str] | tuple[str, ...] | None, job_id: int | None) -> None:
        """Make runs of a job (None: of every job without its own rule) dequeued from now on lack these artifacts;
        None removes the rule."""
        if paths is not None and (
            isinstance(paths, str)
            or not isinstance(paths, list | tuple)
            or not all(isinstance(path, str) and path.strip() for path in paths)
        ):
            raise ValueError(f"artifacts must be a list of artifact paths such as 'manifest.json', not {paths!r}")
        self._set_rule(self._missing, job_id, None if paths is None else tuple(paths))

    def set_engine(self, engine: str | None, job_id: int | None, reused: int) -> None:
        """Run a job's runs (None: every job without its own rule) dequeued from now on on this dbt engine, with
        `reused` nodes of each command reused by state-aware orchestration (Fusion only); None removes the rule."""
        if engine is not None and engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, not {engine!r}")
        if isinstance(reused, bool) or not isinstance(reused, int) or reused < 0:
            raise ValueError(f"reused must be an integer >= 0, not {reused!r}")
        if reused and engine != FUSION:
            # State-aware orchestration, which reuses nodes, is a dbt Fusion feature.
            raise ValueError("only the fusion engine reuses nodes")
        self._set_rule(self._engines, job_id, None if engine is None else (engine, reused))

    def _set_rule(self, rules: dict[int | None, Rule], job_id: int | None, value: Rule | None) -> None:
        with self.lock:
            if value is None:
                rules.pop(job_id, None)
            else:
                rules[job_id] = value

    def set_project_subdirectory(self, subdirectory: str | None, manifest_bytes: int = 0) -> None:
        """Where the seeded project's dbt project sits in its repository (None for its root), and the least length of
        its runs' manifest.json."""
        if isinstance(manifest_bytes, bool) or not isinstance(manifest_bytes, int) or manifest_bytes < 0:
            raise ValueError(f"manifest_bytes must be an integer >= 0, not {manifest_bytes!r}")
        # The spec's ProjectRequest: a subdirectory has at least one character. That a blank one is refused too is a
        # guess.
        if subdirectory is not None and (not isinstance(subdirectory, str) or not subdirectory.strip()):
            raise ValueError(f"the subdirectory must be a non-blank string, or None for the root, not {subdirectory!r}")
        with self.lock:
            self.project_subdirectory = subdirectory
            self.manifest_bytes = manifest_bytes
            self.project_updated_at = self._cursor

    def hold(self, hold: Hold) -> None:
        """Keep matching runs, present and future, running past their end until the rule is released."""
        with self.lock:
            self.advance()
            self._holds.add(hold)

    def release(self, hold: Hold | None) -> None:
        """Drop one hold rule (None drops every rule); a held run past its end then finishes at once."""
        with self.lock:
            self.advance()
            if hold is None:
                self._holds.clear()
            else:
                self._holds.discard(hold)
            for run in self._active.values():
                if run.overdue and not any(rule.matches(run) for rule in self._holds):
                    run.overdue, run.due = False, self._cursor
            self.advance()

    def set_timing(self, job_id: int | None, start_seconds: float | None, run_seconds: float | None) -> None:
        """Phase durations for runs dequeued from now on, for one job or (job_id None) by default."""
        with self.lock:
            if job_id is not None:
                self._timing[job_id] = (start_seconds, run_seconds)
                return
            default_start, default_run = self._default_timing
            self._default_timing = (
                default_start if start_seconds is None else start_seconds,
                default_run if run_seconds is None else run_seconds,
            )

    def set_account(self, changes: JsonDict) -> JsonDict:
        """Change some account fields; a raised slot count lets queued runs start at once."""
        unknown = sorted(set(changes) - set(ACCOUNT_FIELDS))
        if unknown:
            raise ValueError(f"unknown account fields {unknown}; choose from {list(ACCOUNT_FIELDS)}")
        with self.lock:
            self.advance()
            self.account.update(copy.deepcopy(changes))
            self._dequeue(self._cursor)
            return copy.deepcopy(self.account)

    # -- jobs -------------------------------------------------------------------------------------------

    def job(self, job_id: int, *, deleted: bool = False) -> JsonDict:
        """The live job (or, with `deleted`, a soft-deleted one too), or a 404."""
        with self.lock:
            job = self.jobs.get(job_id)
            # A job of another account is as unknown under this account's path as one that never existed.
            if job is None or job.get("account_id") != self.account["id"]:
                raise ApiError(404, f"Job definition {job_id} not found.")
            # NOTES.md: a deleted job stays readable with `state: 2`. That it can no longer be run or changed (a 404)
            # is a guess.
            if job.get("state") != 1 and not (deleted and job.get("state") == 2):
                raise ApiError(404, f"Job definition {job_id} not found.")
            return job

    def create_job(self, fields: JsonDict, overlay: JsonDict | None = None) -> JsonDict:
        """Store a new job built from validated fields, then with `overlay` laid over it as given (unchecked)."""
        with self.lock:
            job_id = self._take_id("job")
            now = iso(self._cursor)
            job: JsonDict = {"id": job_id, **job_defaults(), "created_at": now, "updated_at": now}
            job.update(self._normalized(fields))
            job.update(copy.deepcopy(overlay or {}))
            self.jobs[job_id] = job
            return job

    def update_job(self, job_id: int, fields: JsonDict) -> JsonDict:
        """Replace a live job's writable fields; a state of 2 deletes it as `delete_job` does."""
        with self.lock:
            job = self.job(job_id)
            job.update(self._normalized(fields))
            job["updated_at"] = iso(self._cursor)
            if job["state"] != 1:
                job["deactivated_at"] = job["updated_at"]
                self._cancel_job_runs(job_id)
                self.env_vars.drop_job(job_id, self._cursor)
            return job

    def delete_job(self, job_id: int) -> JsonDict:
        """Soft-delete a job (state 2), cancel its active runs as dbt Cloud does, and drop its env var overrides;
        a job already deleted is returned as it is."""
        with self.lock:
            job = self.job(job_id, deleted=True)
            if job["state"] == 2:
                return job
            job["state"] = 2
            job["updated_at"] = job["deactivated_at"] = iso(self._cursor)
            self._cancel_job_runs(job_id)
            self.env_vars.drop_job(job_id, self._cursor)
            return job

    def _cancel_job_runs(self, job_id: int) -> None:
        for run in [r for r in self._active.values() if r.job_id == job_id]:
            self._cancel(run, "Cancelled because the job was deleted.")
        self._dequeue(self._cursor)

    def _normalized(self, fields: JsonDict) -> JsonDict:
        out = copy.deepcopy(fields)
        # The spec's defaults, less the deprecated `custom_branch_only` that a create refuses (NOTES.md): a job
        # fetched and posted back must pass. A guess: live answers no longer carry it.
        out["triggers"] = {
            "github_webhook": False,
            "schedule": False,
            "git_provider_webhook": None,
            "on_merge": None,
            **out["triggers"],
        }
        if out.get("schedule") is None:
            out.pop("schedule", None)
        else:
            out["schedule"].setdefault("cron", None)
        if out.get("dbt_version") is not None:
            out["raw_dbt_version"] = out["dbt_version"]
        return out

    def _take_id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value

    # -- runs -------------------------------------------------------------------------------------------

    def run(self, run_id: int) -> Run:
        """The run, or a 404."""
        with self.lock:
            run = self.runs.get(run_id)
            if run is None:
                raise ApiError(404, f"Run {run_id} not found.")
            return run

    def trigger(self, job_id: int, fields: JsonDict) -> Run:
        """Queue a run of a live job; refused while the account is locked."""
        return self.trigger_many(job_id, fields, 1)[0]

    def trigger_many(self, job_id: int, fields: JsonDict, count: int) -> list[Run]:
        """Queue `count` runs of a live job with the same trigger fields; refused while the account is locked."""
        with self.lock:
            self.advance()
            job = self.job(job_id)
            if self.account["locked"]:
                reason = self.account["lock_reason"] or "no reason given"
                raise ApiError(403, f"This account is locked ({reason}). Runs cannot be triggered.")
            return [self._new_run(job_id, job, fields) for _ in range(count)]

    def _new_run(self, job_id: int, job: JsonDict, fields: JsonDict, *, webhook: bool = False) -> Run:
        now = self._cursor
        trigger: JsonDict = {
            "id": self._take_id("trigger"),
            "job_definition_id": job_id,
            # A guess at the category of a run the job's own pull request trigger starts.
            "cause_category": "github_pull_request" if webhook else "api",
            "created_at": iso(now),
            **copy.deepcopy(fields),
        }
        docs = fields.get("generate_docs_override")
        run = Run(
            id=self._take_id("run"),
            trigger_id=trigger["id"],
            job_id=job_id,
            project_id=job["project_id"],
            environment_id=job["environment_id"],
            trigger=trigger,
            git_sha=fields.get("git_sha"),
            git_branch=fields.get("git_branch"),
            dbt_version=str(fields.get("dbt_version_override") or job.get("dbt_version") or "latest"),
            created_at=now,
            updated_at=now,
            generate_docs=bool(job.get("generate_docs") if docs is None else docs),
            commands=_commands(fields, job),
            timeout_seconds=_timeout(fields, job),
        )
        plan = str(self.account.get("plan") or "")
        run.beside = runs_beside(plan, job, trigger, webhook=webhook)
        run.holds_slot = holds_a_slot(plan, job.get("job_type"))
        if run.beside:
            # Smart cancellation: dbt cancels the pull request's older runs of the job (the wording is a guess).
            same_pr = [r for r in self._active.values() if r.job_id == job_id and pr_id(r.trigger) == pr_id(trigger)]
            for older in same_pr:
                self._cancel(older, "Cancelled because a newer commit of the pull request was pushed.")
        self.runs[run.id] = run
        self._latest[job_id] = run.id
        # dbt Cloud answers a trigger with the run still queued; the next tick dequeues it.
        self._active[run.id] = run
        return run

    def pull_request_pushed(self, job_id: int, pr: int, sha: str, branch: str) -> Run | None:
        """What dbt's own pull request trigger does for a push: a run of the job for the pull request's commit, in
        its `dbt_cloud_pr_<job>_<pr>` schema, when the job has that trigger on; else nothing."""
        with self.lock:
            self.advance()
            job = self.job(job_id)
            triggers = job.get("triggers") or {}
            if not (triggers.get("github_webhook") or triggers.get("git_provider_webhook")):
                return None
            # The cause's wording is a guess; the fields are those a CI run carries (NOTES.md, the spec's trigger).
            fields = {
                "cause": f"Triggered by pull request #{pr}",
                "git_sha": sha,
                "git_branch": branch,
                "github_pull_request_id": pr,
                "schema_override": f"dbt_cloud_pr_{job_id}_{pr}",
            }
            return self._new_run(job_id, job, fields, webhook=True)

    def set_churn(self, job_id: int | None, runs_per_read: int) -> None:
        """Trigger `runs_per_read` runs of a live job before each runs list is answered (None stops it)."""
        if job_id is None:
            with self.lock:
                self._churn = None
            return
        if isinstance(runs_per_read, bool) or not isinstance(runs_per_read, int) or runs_per_read < 1:
            raise ValueError(f"runs_per_read must be an integer >= 1, not {runs_per_read!r}")
        with self.lock:
            if job_id not in self.jobs or self.jobs[job_id].get("state") != 1:
                raise ValueError(f"job {job_id} is not a live job")
            self._churn = (job_id, runs_per_read)

    def churn(self) -> None:
        """Trigger the runs `set_churn` asked for, as other teams of a busy account do between two page reads."""
        with self.lock:
            if self._churn is None:
                return
            job_id, count = self._churn
            fields: JsonDict = {**dict.fromkeys(TRIGGER_FIELDS), "cause": CHURN_CAUSE}
            # Its job deleted or the account locked: the other teams cannot trigger either, and the list still answers.
            with contextlib.suppress(ApiError):
                self.trigger_many(job_id, fields, count)

    def cancel(self, run_id: int) -> Run:
        """Cancel an active run at once; a finished run is returned unchanged."""
        with self.lock:
            self.advance()
            run = self.run(run_id)
            if run.status in ACTIVE:
                self._cancel(run, "Cancelled by user.")
                self._dequeue(self._cursor)
            return run

    def _cancel(self, run: Run, message: str) -> None:
        run.status = CANCELLED
        run.status_message = message
        # The error rate is only drawn for a run that ends by itself, so a cancel never consumes it.
        run.outcome = self._rule(run) or "success"
        self._finish(run, self._cursor)

    def snapshot_account(self) -> JsonDict:
        """A copy of the account."""
        with self.lock:
            return copy.deepcopy(self.account)

    # -- environment variables (v3) ---------------------------------------------------------------------

    def project(self, project_id: int) -> None:
        """Nothing for a project the emulator knows (the seeded one, or one a job or variable names), else a 404."""
        with self.lock:
            known = {self.project_id, *(job["project_id"] for job in self.jobs.values())}
            known.update(value.project_id for value in self.env_vars.values.values())
            if project_id not in known:
                raise ApiError(404, f"Project {project_id} not found.")

    def environments(self, project_id: int) -> set[int]:
        """The environments of a project: the seeded one, and those its jobs or variables name."""
        with self.lock:
            known = {self.environment_id} if project_id == self.project_id else set()
            known.update(job["environment_id"] for job in self.jobs.values() if job["project_id"] == project_id)
            known.update(
                value.environment_id
                for value in self.env_vars.values.values()
                if value.project_id == project_id and value.environment_id is not None
            )
            return known

    def job_env_vars(self, project_id: int, job_id: int) -> dict[str, dict[str, EnvValue]]:
        """The project's variables with the values that apply to a live job of it; a 404 for an unknown job."""
        with self.lock:
            self.project(project_id)
            job = self.job(job_id)
            # A job of another project is as unknown under this project's path as one that never existed.
            if job["project_id"] != project_id:
                raise ApiError(404, f"Job definition {job_id} not found.")
            return self.env_vars.for_job(project_id, int(job["environment_id"]), job_id)

    def env_value(self, project_id: int, var_id: int) -> EnvValue:
        """A live value of the project's, or a 404."""
        with self.lock:
            value = self.env_vars.values.get(var_id)
            if value is None or value.state != 1 or value.project_id != project_id:
                raise ApiError(404, f"Environment variable {var_id} not found.")
            return value

    def update_env_var(self, project_id: int, var_id: int, fields: JsonDict) -> EnvValue:
        """Set a live value anew; its name and scope cannot change (a 400), an unknown id is a 404."""
        with self.lock:
            value = self.env_value(project_id, var_id)
            if (fields["name"], fields["type"]) != (value.name, value.type):
                raise ApiError(400, INVALID_REQUEST, {"reason": "The name and type of a variable cannot change"})
            value.value, value.updated_at = fields["raw_value"], self._cursor
            return value

    def delete_env_var(self, project_id: int, var_id: int) -> None:
        """Delete a live value (state 2); an unknown id is a 404."""
        with self.lock:
            value = self.env_value(project_id, var_id)
            value.state, value.updated_at = 2, self._cursor

    def create_env_var(self, project_id: int, fields: JsonDict) -> EnvValue:
        """Store a value from validated create fields; a 400 for an id that names nothing or a second value."""
        with self.lock:
            self.project(project_id)
            scope, name = fields["type"], fields["name"]
            environment_id: int | None = None
            job_id: int | None = None
            if scope == JOB:
                job_id = fields["job_definition_id"]
                job = self.jobs.get(job_id)
                if job is None or job["state"] != 1 or job["project_id"] != project_id:
                    raise ApiError(400, INVALID_REQUEST, {"job_definition_id": missing_object(job_id)})
            elif scope == ENVIRONMENT:
                environment_id = fields["environment_id"]
                if environment_id not in self.environments(project_id):
                    raise ApiError(400, INVALID_REQUEST, {"environment_id": missing_object(environment_id)})
            elif scope != PROJECT:
                # The emulator has no users, so every user id names nothing.
                raise ApiError(400, INVALID_REQUEST, {"user_id": missing_object(fields["user_id"])})
            if self.env_vars.find(project_id, name, scope, environment_id=environment_id, job_id=job_id) is not None:
                raise ApiError(400, INVALID_REQUEST, {"reason": DUPLICATE_ENV_VAR[scope]})
            value = self._new_env_value(
                name, project_id, scope, fields["raw_value"], environment_id=environment_id, job_id=job_id
            )
            value.state = fields.get("state") or 1
            return value

    def set_env_var(
        self,
        name: str,
        values: dict[str, str],
        *,
        project_id: int | None,
        environment_id: int | None,
        job_id: int | None,
    ) -> dict[str, int]:
        """Create or replace a variable's values at the scopes `values` names; each value's id by scope."""
        # A job override's project is the job's, and an environment value goes to the job's environment unless
        # `environment_id` says otherwise; without a job, the seeded project and environment are the defaults.
        why = env_var_name_problem(name)
        if why is not None:
            raise ValueError(why)
        if not values:
            raise ValueError("give at least one value: project, environment or job_value")
        for scope, value in values.items():
            if scope not in (PROJECT, ENVIRONMENT, JOB) or not isinstance(value, str) or not value.strip():
                raise ValueError(f"the {scope} value must be a non-blank string, not {value!r}")
        with self.lock:
            if job_id is not None:
                job = self.jobs.get(job_id)
                if job is None or job["state"] != 1:
                    raise ValueError(f"job {job_id} is not a live job")
                if project_id not in (None, job["project_id"]):
                    raise ValueError(f"job {job_id} belongs to project {job['project_id']}, not {project_id}")
                project_id = int(job["project_id"])
                environment_id = int(job["environment_id"]) if environment_id is None else environment_id
            project = self.project_id if project_id is None else project_id
            environment = self.environment_id if environment_id is None else environment_id
            ids: dict[str, int] = {}
            for scope, raw in values.items():
                where = {"environment_id": environment if scope == ENVIRONMENT else None}
                where["job_id"] = job_id if scope == JOB else None
                found = self.env_vars.find(project, name, scope, **where)
                if found is None:
                    found = self._new_env_value(name, project, scope, raw, **where)
                found.value, found.updated_at = raw, self._cursor
                ids[scope] = found.id
            return ids

    def _new_env_value(
        self, name: str, project_id: int, scope: str, raw: str, *, environment_id: int | None, job_id: int | None
    ) -> EnvValue:
        now = self._cursor
        value = EnvValue(self._take_id("env_var"), name, project_id, scope, raw, now, now, environment_id, job_id)
        return self.env_vars.add(value)

    def set_env_answer_shape(self, shape: str) -> None:
        """Shape the job overrides answer's `data` as the spec says ("mapping") or wrongly, for clients' tests."""
        if shape not in ANSWER_SHAPES:
            raise ValueError(f"unknown answer shape {shape!r}; choose from {list(ANSWER_SHAPES)}")
        with self.lock:
            self.env_answer_shape = shape

    def env_var_records(self) -> list[JsonDict]:
        """Every environment variable value, unmasked, deleted ones included (state 2), oldest first."""
        with self.lock:
            return self.env_vars.records()
