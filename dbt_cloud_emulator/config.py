"""Settings of one emulator instance."""

from __future__ import annotations

from dataclasses import dataclass, field

# Labels accepted in `fault_kinds` and by `Emulator.inject(kind=...)`.
FAULT_KINDS: tuple[str, ...] = (
    "429",
    "429_no_retry_after",
    "500",
    "502",
    "503",
    "drop",
    "drop_after",
    "slow",
)

# A random fault that applies the change would surprise tests that only ask for "flaky", so it is opt-in.
DEFAULT_FAULT_KINDS: tuple[str, ...] = ("429", "500", "502", "503", "drop")
# How a write the token's role may not make is refused: 403, or 404 as dbt Cloud often answers (NOTES.md).
REFUSAL_STATUSES = (403, 404)


@dataclass
class EmulatorConfig:
    """How the emulator listens, schedules runs and misbehaves; every duration is in seconds."""

    host: str = "127.0.0.1"
    port: int = 0
    token: str = "dbtc_emulator_admin_token"
    readonly_token: str | None = "dbtc_emulator_readonly_token"
    # Further tokens and their role: "admin" (Job Admin), "runner" (Job Runner: trigger and cancel) or "readonly".
    tokens: dict[str, str] = field(default_factory=dict)

    account_id: int = 1234
    account_name: str = "Emulated Account"
    # The account's plan decides what dbt's scheduler does for CI jobs (plans.py): Starter, whose API-triggered CI
    # runs one at a time, as the action's users' do (its seeded CI job is a deploy job used for CI).
    plan: str = "starter_2025"
    project_id: int = 5678
    environment_id: int = 9012
    run_slots: int = 2
    queue_limit: int = 50
    seed_ci_job: bool = True

    # Emulated seconds: a run spends `start_seconds` starting, then `run_seconds` running.
    start_seconds: float = 0.05
    run_seconds: float = 0.5
    # Emulated seconds per real second; 0 freezes time until `Emulator.advance` moves it.
    speed: float = 1.0
    tick_seconds: float = 0.02
    seed: int = 0
    error_rate: float = 0.0

    # Real seconds added before every API answer.
    latency_seconds: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS
    retry_after_seconds: float = 1.0
    slow_seconds: float = 1.0

    log_path: str | None = None
    request_log_limit: int = 100_000
    # Extra debug lines in every dbt command step's logs, for clients that must cope with logs of megabytes.
    log_lines: int = 0
    # The status of a write refused for a missing permission: 403, or 404 with dbt Cloud's "not found ... check that
    # you have the proper permissions" (NOTES.md: "A missing permission often comes back as 404").
    refusal_status: int = 403

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.fault_kinds if kind not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; choose from {list(FAULT_KINDS)}")
        if not 0.0 <= self.fault_rate <= 1.0 or not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("fault_rate and error_rate must be within 0..1")
        if self.run_slots < 0 or self.start_seconds < 0 or self.run_seconds < 0:
            raise ValueError("run_slots and durations must be >= 0")
        if self.speed < 0 or self.latency_seconds < 0:
            raise ValueError("speed and latency_seconds must be >= 0")
        check_log_lines(self.log_lines)
        check_refusal_status(self.refusal_status)


def check_refusal_status(status: object) -> None:
    """Refuse a refusal status other than 403 or 404."""
    if isinstance(status, bool) or status not in REFUSAL_STATUSES:
        raise ValueError(f"refusal status must be one of {list(REFUSAL_STATUSES)}, not {status!r}")


def check_log_lines(lines: object) -> None:
    """Refuse a log padding that is not a whole number >= 0."""
    if isinstance(lines, bool) or not isinstance(lines, int) or lines < 0:
        raise ValueError(f"log lines must be an integer >= 0, not {lines!r}")
