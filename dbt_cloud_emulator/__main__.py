"""`python -m dbt_cloud_emulator`: serve until SIGINT or SIGTERM, after printing one JSON line."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from .config import DEFAULT_FAULT_KINDS, FAULT_KINDS, REFUSAL_STATUSES, EmulatorConfig
from .emulator import Emulator
from .plans import PLANS


def parse_args(argv: list[str] | None = None) -> EmulatorConfig:
    """Build the configuration from command-line flags."""
    parser = argparse.ArgumentParser(
        prog="python -m dbt_cloud_emulator",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    defaults = EmulatorConfig()
    parser.add_argument("--host", default=defaults.host, help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--token", default=defaults.token, help="admin service token")
    parser.add_argument("--readonly-token", default=defaults.readonly_token, help="a token that may only read")
    parser.add_argument("--account-id", type=int, default=defaults.account_id, help="the one account served")
    parser.add_argument("--run-slots", type=int, default=defaults.run_slots, help="the account's run slots")
    parser.add_argument(
        "--plan",
        default=defaults.plan,
        choices=PLANS,
        metavar="PLAN",
        help=f"the account's plan, of: {', '.join(PLANS)}",
    )
    parser.add_argument("--start-seconds", type=float, default=1.0, help="emulated seconds a run spends starting")
    parser.add_argument("--run-seconds", type=float, default=5.0, help="emulated seconds a run spends running")
    parser.add_argument("--speed", type=float, default=1.0, help="emulated seconds per real second")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every API answer")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of API requests failed, 0..1")
    parser.add_argument(
        "--fault-kinds",
        default=",".join(DEFAULT_FAULT_KINDS),
        help=f"comma-separated, of: {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of runs that end in error")
    parser.add_argument(
        "--refusal-status",
        type=int,
        choices=REFUSAL_STATUSES,
        default=defaults.refusal_status,
        help="status of a write the token's role may not make: 403, or 404 as dbt Cloud often answers",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="of the random faults and outcomes")
    parser.add_argument("--log", dest="log_path", default=None, help="append the request log here as JSON lines")
    parser.add_argument("--no-ci-job", action="store_true", help="do not seed the CI job")
    args = parser.parse_args(argv)
    try:
        return EmulatorConfig(
            host=args.host,
            port=args.port,
            token=args.token,
            readonly_token=args.readonly_token or None,
            account_id=args.account_id,
            run_slots=args.run_slots,
            plan=args.plan,
            start_seconds=args.start_seconds,
            run_seconds=args.run_seconds,
            speed=args.speed,
            latency_seconds=args.latency_ms / 1000,
            fault_rate=args.fault_rate,
            fault_kinds=tuple(kind for kind in args.fault_kinds.split(",") if kind),
            error_rate=args.error_rate,
            seed=args.seed,
            refusal_status=args.refusal_status,
            log_path=args.log_path,
            seed_ci_job=not args.no_ci_job,
        )
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: list[str] | None = None) -> int:
    """Serve until told to stop; the first stdout line is JSON with url, token, account_id and job_id."""
    config = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _serve(config, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _serve(config: EmulatorConfig, stop: threading.Event) -> None:
    with Emulator(config) as emu:
        line = {
            "url": emu.url,
            "token": emu.token,
            "readonly_token": emu.readonly_token,
            "account_id": emu.account_id,
            "project_id": emu.project_id,
            "environment_id": emu.environment_id,
            "job_id": emu.ci_job_id,
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not stop.is_set():
            stop.wait(0.2)


if __name__ == "__main__":  # pragma: no cover - run as a subprocess in the tests
    sys.exit(main())
