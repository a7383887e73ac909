"""The Emulator: owns the state, the HTTP server and its threads, and the knobs tests turn."""

from __future__ import annotations

import copy
import threading
import time
from types import TracebackType
from typing import Any

from . import admin
from .clock import Clock, iso
from .config import EmulatorConfig
from .faults import STATUS, Fault, FaultPlan, fault_of_kind
from .protocol import ApiError, JsonDict
from .requestlog import RequestLog
from .server import EmulatorHTTPServer, Service
from .state import Hold, State, job_defaults
from .validation import JOB_FLAGS, job_fields, trigger_fields

# NOTES.md: over the rate limit, dbt Cloud answers 429 for five minutes.
RATE_LIMIT_COOLDOWN = 300.0


class Emulator:
    """A local, stateful dbt Cloud Admin API v2 for one account, with v3's job-level env var overrides."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        cfg = self.config
        self.clock = Clock(cfg.speed)
        self.state = State(cfg, self.clock)
        self.faults = FaultPlan(
            rate=cfg.fault_rate,
            kinds=cfg.fault_kinds,
            seed=cfg.seed,
            retry_after=cfg.retry_after_seconds,
            slow_seconds=cfg.slow_seconds,
            now=self.clock.now,
        )
        self.log = RequestLog(cfg.request_log_limit, cfg.log_path)
        tokens = dict(cfg.tokens)
        if cfg.readonly_token:
            tokens[cfg.readonly_token] = "readonly"
        tokens[cfg.token] = "admin"
        self.service = Service(
            state=self.state,
            tokens=tokens,
            faults=self.faults,
            log=self.log,
            latency=cfg.latency_seconds,
            admin=lambda req: admin.handle(self, req),
            refusal_status=cfg.refusal_status,
        )
        self._server: EmulatorHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        # A deploy job used for CI (seed_job's default type), as on Starter or with a job not typed `ci`: dbt runs its
        # runs one at a time, and they hold run slots, on every plan.
        self.ci_job_id: int | None = self.seed_job() if cfg.seed_ci_job else None

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Listen on the configured host and port (0 picks a free one) and start the scheduler ticker."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._server = EmulatorHTTPServer((self.config.host, self.config.port), self.service)
        self.state.base_url = self.url
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._server.serve_forever, args=(0.02,), name="emulator-http", daemon=True),
            threading.Thread(target=self._tick, name="emulator-ticker", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and ticking; safe to call twice."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None
        self.log.close()

    def __enter__(self) -> Emulator:
        return self.start() if self._server is None else self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _tick(self) -> None:
        while not self._stopping.wait(self.config.tick_seconds):
            self.state.advance()

    # -- identity ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL such as `http://127.0.0.1:PORT`; the API lives under `/api/v2/accounts/{id}/` (and v3's)."""
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token(self) -> str:
        """The admin service token."""
        return self.config.token

    @property
    def readonly_token(self) -> str | None:
        """A token that may read but not write."""
        return self.config.readonly_token

    @property
    def account_id(self) -> int:
        """The seeded account's id."""
        return self.config.account_id

    @property
    def project_id(self) -> int:
        """The seeded project's id."""
        return self.config.project_id

    @property
    def environment_id(self) -> int:
        """The seeded environment's id."""
        return self.config.environment_id

    # -- seeding and knobs ------------------------------------------------------------------------------

    def seed_job(
        self,
        name: str = "CI",
        *,
        project_id: int | None = None,
        environment_id: int | None = None,
        job_type: str = "other",
        triggers: dict[str, Any] | None = None,
        execute_steps: list[str] | None = None,
        start_seconds: float | None = None,
        run_seconds: float | None = None,
        **fields: Any,
    ) -> int:
        """Create a job as the API would (PR trigger and schedule off unless `triggers` says otherwise).

        The body is checked as a create is, but not refused for what only the endpoint refuses: a `ci` job with
        `cost_optimization_features=["dbt_state"]` can be seeded, as a job made before that rule.
        """
        fields = {
            "project_id": self.project_id if project_id is None else project_id,
            "environment_id": self.environment_id if environment_id is None else environment_id,
            "job_type": job_type,
            "triggers": triggers
            or {"github_webhook": False, "schedule": False, "git_provider_webhook": False, "on_merge": False},
            "execute_steps": execute_steps or ["dbt build --select state:modified+"],
            **fields,
        }
        job_id = int(self.state.create_job(self._valid_job(name, fields))["id"])
        if start_seconds is not None or run_seconds is not None:
            self.set_timing(job_id=job_id, start_seconds=start_seconds, run_seconds=run_seconds)
        return job_id

    def seed_foreign_job(self, name: str = "Other team's job", **fields: Any) -> int:
        """Store another team's job AS GIVEN: `fields` laid unchecked over a valid job (`settings=None`,
        `job_type="adaptive"`, triggers all null...). Runs of it are triggered through the API as usual.

        NOTES.md: "Trigger flags come back null in live job lists ... A run of another team's job may carry any
        shape"; a client must read such a job leniently, and the emulator answers it as stored.
        """
        if "id" in fields:
            raise ValueError("a seeded job gets its id from the emulator")
        base = self._valid_job("Other team's job", {})
        return int(self.state.create_job(base, overlay={"name": name, **fields})["id"])

    def _valid_job(self, name: str, fields: dict[str, Any]) -> JsonDict:
        """The checked fields of a create body for a job of the seeded project and environment, with `fields` laid
        over its defaults; a ValueError if a create would refuse it."""
        body: JsonDict = {
            # As the clients that run against the live API send it (NOTES.md): `"id": null` and a schedule.
            "id": None,
            "schedule": job_defaults()["schedule"],
            "account_id": self.account_id,
            "project_id": self.project_id,
            "environment_id": self.environment_id,
            "name": name,
            "state": 1,
            "job_type": "other",
            "execution": {"timeout_seconds": 0},
            "settings": {"threads": 4, "target_name": "ci"},
            "triggers": {"github_webhook": False, "schedule": False, "git_provider_webhook": False, "on_merge": False},
            "execute_steps": ["dbt build"],
            **{flag: flag == "errors_on_lint_failure" for flag in JOB_FLAGS},
            **fields,
        }
        try:
            return job_fields(body, self.account_id, create=True)
        except ApiError as exc:
            raise ValueError(f"invalid job: {exc.data}") from exc

    def seed_runs(self, job_id: int, count: int, **trigger: Any) -> list[int]:
        """Queue `count` runs of a live job straight through the state (fast: thousands at once), each with these
        trigger fields (`cause` defaults to "Seeded"); their ids, oldest first."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be an integer >= 0, not {count!r}")
        try:
            fields = trigger_fields({"cause": "Seeded", **trigger})
            runs = self.state.trigger_many(job_id, fields, count)
        except ApiError as exc:
            raise ValueError(f"cannot trigger job {job_id}: {exc.data or exc.message}") from exc
        return [run.id for run in runs]

    def pull_request_pushed(
        self, pr: int, sha: str, *, job_id: int | None = None, branch: str = "feature"
    ) -> int | None:
        """A push to pull request `pr`, as dbt's own pull request trigger sees it: a run of the job (the seeded CI job
        by default) for `sha`, when the job has that trigger on; the run's id, or None."""
        run = self.state.pull_request_pushed(job_id if job_id is not None else self.ci_job_id or 0, pr, sha, branch)
        return None if run is None else run.id

    def churn(self, job_id: int | None, runs_per_read: int = 1) -> None:
        """Before answering each `GET /runs/` list, trigger `runs_per_read` new runs of this live job (None stops).

        A busy account: other teams' runs land between two page reads, so offset pages repeat rows (NOTES.md).
        """
        self.state.set_churn(job_id, runs_per_read)

    def set_refusal_status(self, status: int) -> None:
        """Refuse a write the token's role may not make with 403, or 404 as dbt Cloud often does (NOTES.md)."""
        self.service.set_refusal_status(status)

    def set_role(self, token: str, role: str) -> None:
        """Give one of the emulator's tokens another role ("admin", "runner", "readonly") while serving: a
        permission granted or revoked mid-run."""
        self.service.set_role(token, role)

    def add_token(self, token: str, role: str) -> None:
        """Let another token in, with a role: a service token (dbtc_...) or a personal access token (dbtu_...) of its
        own, for tests of what each kind may do."""
        self.service.set_role(token, role, new=True)

    def set_account(self, **changes: Any) -> JsonDict:
        """Change account fields (locked, lock_reason, run_slots, run_locked_until, queue_limit, plan, name, state,
        static_subdomain, vanity_subdomain)."""
        return self.state.set_account(changes)

    def set_listed_accounts(self, accounts: list[JsonDict] | None) -> None:
        """What `GET /api/v3/accounts/` lists for any token: these accounts, or (None) the emulated one."""
        with self.state.lock:
            self.state.listed_accounts = None if accounts is None else copy.deepcopy(accounts)

    def set_outcome(
        self,
        outcome: str | None,
        *,
        git_sha: str | None = None,
        job_id: int | None = None,
        times: int | None = None,
    ) -> None:
        """Make runs matching `git_sha` and/or `job_id` end "success", "error", "deps_error", "check_error",
        "transient_error" or "connect_error" (None forgets the rule), for the next `times` runs that end under the rule
        (then it is forgotten; None: until changed). A transient failure is weather: it need not recur on the next run.

        "error" fails the job's last dbt command; "deps_error" fails `dbt deps`, the run's last step, with no artifacts;
        "check_error" fails the last command in a check of dbt Fusion's before any of its models runs, when that is a
        `dbt build` of a run on Fusion (set_engine), and as "error" does otherwise. "transient_error" fails as "error"
        does, but every failing node lost its database connection: it errors (a test that would fail too) with libpq's
        "server closed the connection unexpectedly". "connect_error" fails the last dbt command before any node runs,
        on libpq's "Connection refused": that step has no run_results.json nor manifest.json, so the run cannot be
        retried (RETRY_NO_RUN_RESULTS). A cancelled run does not count towards `times`.
        """
        self.state.set_outcome(outcome, git_sha, job_id, times)

    def set_retry_trigger(self, keeps: bool) -> None:
        """Whether the run `POST /runs/{id}/retry/` queues carries the failed run's trigger fields (git_sha,
        git_branch, the pull request's id, schema_override, every *_override) as by default, or (False) only its
        cause: the retry takes no body, and nothing documents that the new run keeps them (NOTES.md)."""
        self.state.set_retry_trigger(keeps)

    def set_log_lines(self, n: int) -> None:
        """Pad every dbt command step's `logs` and `debug_logs` with `n` more debug lines before its summary."""
        self.state.set_log_lines(n)

    def set_selected_nodes(self, count: int | None, *, job_id: int | None = None) -> None:
        """Make the `dbt build`, `run` and `test` steps of a job's runs select `count` nodes (None: the project's own).

        Each such step's log numbers its nodes `k of {count}` as the step's time passes, and its run_results.json
        holds `count` results. A clone of the job (a job named `<name> [autoscale <job_id> PR #<n> ...]`) selects
        as many unless it has a rule of its own. `job_id` None sets the rule of every job without one; a count of
        None removes the rule of `job_id`. Runs take their selection as they leave the queue, as `set_timing`'s.
        """
        self.state.set_selected_nodes(count, job_id)

    def set_failing_nodes(self, count: int | None, *, job_id: int | None = None) -> None:
        """Make a failing run of a job (outcome "error") fail `count` nodes of its failing command, instead of its one
        model: models error with a database error, tests fail with dbt's "Got N results, configured to fail if != 0",
        in run_results.json and in the step's log lines, each in dbt's own words with the file it is defined in.

        A job whose selection (set_selected_nodes, or the project's own five nodes) allows fewer failures selects as
        many nodes as `count` needs, whatever its runs' outcome. `job_id` None sets the rule of every job without one,
        a clone follows its source's, and runs take it as they leave the queue; a count of None removes the rule of
        `job_id`.
        """
        self.state.set_failing_nodes(count, job_id)

    def set_artifacts_missing(self, paths: list[str] | None, *, job_id: int | None = None) -> None:
        """Make a job's runs lack these artifacts (such as ["manifest.json"]), as dbt Cloud lacks one a run did not
        produce: unlisted, and a 404 when asked for. `job_id` None sets the rule of every job without one, a clone
        follows its source's, and runs take it as they leave the queue; None removes the rule of `job_id`."""
        self.state.set_artifacts_missing(paths, job_id)

    def set_engine(self, engine: str | None, *, job_id: int | None = None, reused: int = 0) -> None:
        """Run a job's runs on dbt "core" (as by default) or "fusion" (dbt v2), whose runs report as Fusion does:
        dbt_version 2.x in their artifacts, the project's checks (check.<project>.<name>, files under checks/) that a
        `dbt build` runs first and that fail it under the outcome "check_error", Fusion's fields and messages on each
        result, and Fusion's console lines for nodes. `reused` of each command's nodes that would have passed are
        reused by state-aware orchestration instead (status "reused"). `job_id` None sets the rule of every job without
        one, a clone follows its source's, and runs take it as they leave the queue; None removes the rule of `job_id`.
        """
        self.state.set_engine(engine, job_id, reused)

    def set_project(self, subdirectory: str | None, *, manifest_bytes: int = 0) -> None:
        """Where the seeded project's dbt project sits in its repository (`dbt_project_subdirectory` of
        `GET /projects/{id}/`), such as "transform"; None for the repository's root, as a new project has it. With
        `manifest_bytes`, every manifest.json its runs write is at least that long, as a large project's is."""
        self.state.set_project_subdirectory(subdirectory, manifest_bytes)

    def set_timing(
        self, *, job_id: int | None = None, start_seconds: float | None = None, run_seconds: float | None = None
    ) -> None:
        """Phase durations in emulated seconds for runs dequeued from now on, per job or by default."""
        self.state.set_timing(job_id, start_seconds, run_seconds)

    def hold(self, *, run_id: int | None = None, git_sha: str | None = None, job_id: int | None = None) -> None:
        """Keep matching runs (by id, trigger `git_sha` and/or job; none given: every run) running past their end.

        A held run stays active, on any clock and however slow its callers are, until `release` with the same
        filters; it can still be cancelled or have its job deleted. This is how tests keep a run in flight.
        """
        self.state.hold(Hold(run_id, git_sha, job_id))

    def release(
        self, *, run_id: int | None = None, git_sha: str | None = None, job_id: int | None = None, every: bool = False
    ) -> None:
        """Lift the hold of the same filters (or `every` hold); a run already past its end finishes at once."""
        self.state.release(None if every else Hold(run_id, git_sha, job_id))

    def set_env_var(
        self,
        name: str,
        *,
        project: str | None = None,
        environment: str | None = None,
        job_id: int | None = None,
        job_value: str | None = None,
        project_id: int | None = None,
        environment_id: int | None = None,
    ) -> dict[str, int]:
        """Create or replace a variable's project value, environment value and/or job override; ids by scope."""
        # With a job, its project and environment are the defaults, else the seeded ones; the override goes when
        # the job is deleted. Names starting DBT_ENV_SECRET are answered masked ("**********").
        if (job_id is None) != (job_value is None):
            raise ValueError("give job_id and job_value together")
        values = {"project": project, "environment": environment, "job": job_value}
        given = {scope: value for scope, value in values.items() if value is not None}
        return self.state.set_env_var(name, given, project_id=project_id, environment_id=environment_id, job_id=job_id)

    def set_env_answer_shape(self, shape: str) -> None:
        """Shape the job overrides answer's `data`: "mapping", "list", "null", "null_scopes" or "null_values"."""
        # "mapping" is the spec's; the others are for clients' bad-input tests: "null_scopes" sends a scope a
        # variable lacks as null, "null_values" every value as null; views.job_env_vars_view builds each.
        self.state.set_env_answer_shape(shape)

    def inject(
        self,
        status: int | None = None,
        count: int = 1,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        *,
        kind: str | None = None,
        delay_seconds: float | None = None,
    ) -> None:
        """Fail the next `count` requests matching `method` and the `path` regex.

        Give `status` for an error answer, or `kind`: "drop" (close before processing), "drop_after"
        (process, then close), "slow" (wait `delay_seconds`, then answer), or a `fault_kinds` label.
        """
        delay = self.config.slow_seconds if delay_seconds is None else delay_seconds
        if kind in (None, STATUS):
            if status is None:
                raise ValueError("give a status or a kind")
            fault = Fault(STATUS, status, retry_after)
        else:
            fault = fault_of_kind(kind, self.config.retry_after_seconds if retry_after is None else retry_after, delay)
        self.faults.add(fault, count=count, method=method, path=path)

    def outage(
        self,
        seconds: float,
        status: int | None = 503,
        *,
        kind: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Fail every request matching `method` and the `path` regex for the next `seconds` of emulated time: with
        `status` (a gateway's HTML page for 502-504), or a `kind` ("drop" closes the connection unanswered). Move
        the clock with `advance` to end it sooner than real time would."""
        if kind in (None, STATUS):
            if status is None:
                raise ValueError("give a status or a kind")
            fault = Fault(STATUS, status, retry_after)
        else:
            fault = fault_of_kind(kind, self.config.retry_after_seconds if retry_after is None else retry_after, 0.0)
        self.faults.add_window(fault, seconds=seconds, method=method, path=path)

    def rate_limit(self, seconds: float = RATE_LIMIT_COOLDOWN) -> None:
        """The account went over dbt Cloud's rate limit: every request answers 429, without Retry-After, until the
        cooldown has passed on the emulated clock."""
        # NOTES.md: 5,000 requests a minute per account; over it, 429 and a five-minute cooldown, and this API does
        # not promise a Retry-After header.
        self.outage(seconds, 429)

    def set_fault_rate(self, rate: float, kinds: tuple[str, ...] | list[str] | None = None) -> None:
        """Inject a random fault (seeded) into that share of API requests."""
        self.faults.set_rate(rate, None if kinds is None else tuple(kinds))

    def clear_faults(self) -> None:
        """Forget scripted faults and the random rate."""
        self.faults.clear()

    def advance(self, seconds: float) -> None:
        """Move emulated time forward and play what falls due (the only way time moves at speed 0)."""
        self.clock.advance(seconds)
        self.state.advance()

    # -- reading state ----------------------------------------------------------------------------------

    def now(self) -> float:
        """Emulated time in epoch seconds."""
        self.state.advance()
        return self.state.now()

    def runs(self) -> list[JsonDict]:
        """Every run as the API shows it, with its trigger, oldest first."""
        with self.state.lock:
            self.state.advance()
            return [self.service.api.view_run(run, {"trigger"}) for run in self.state.runs.values()]

    def jobs(self) -> list[JsonDict]:
        """Every job, deleted ones included (state 2)."""
        with self.state.lock:
            return copy.deepcopy(list(self.state.jobs.values()))

    def env_vars(self) -> list[JsonDict]:
        """Every environment variable value, unmasked, deleted ones included (state 2), oldest first."""
        return self.state.env_var_records()

    def account(self) -> JsonDict:
        """The account."""
        return self.state.snapshot_account()

    def requests(self) -> list[JsonDict]:
        """The request log, oldest first."""
        return self.log.entries()

    def snapshot(self) -> JsonDict:
        """Everything at once, as `GET /_emulator/state` answers it."""
        with self.state.lock:
            return {
                "now": iso(self.now()),
                "idle": self.state.idle(),
                "account": self.account(),
                "jobs": self.jobs(),
                "env_vars": self.env_vars(),
                "runs": self.runs(),
                "requests": self.requests(),
                "pending_faults": self.faults.pending(),
            }

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no run is queued, starting or running; False if `timeout` real seconds pass first."""
        deadline = time.monotonic() + timeout
        while not self.state.idle():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True
