"""`make bench`: measure the action against dbtc's `trigger_autoscaling_ci_job` and write the results.

Run from the repository root with the project's virtualenv: `.venv/bin/python bench/run.py [--repeats N]`.
Writes bench/results.json and bench/RESULTS.md and prints the targets with PASS/FAIL. Exits 0 when the
measurements ran (whatever they show); with --strict, exits 1 when a target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import long_wait, report, simulate, situations, startup  # noqa: E402
from bench.common import BENCH, dbtc_version, ensure_dbtc_venv, log, utc_now  # noqa: E402
from bench.waiting import Waiting  # noqa: E402


def main() -> int:
    """Run every measurement; the timing-sensitive ones while nothing else runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11, help="runs per tool and situation (default 11)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument(
        "--only-waiting",
        action="store_true",
        help="re-measure only the waiting on the emulator's hand-moved clock (seconds, and independent of the "
        "machine's load) into the existing results",
    )
    args = parser.parse_args()
    if args.only_waiting:
        return _only_waiting(args.strict)
    began = time.monotonic()
    ensure_dbtc_venv()
    results: dict[str, object] = {
        "meta": {
            "date": utc_now(),
            "python": platform.python_version(),
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
            "dbtc_version": dbtc_version(),
        }
    }
    log("Waiting: runs of 30-60 s in real time, both tools at once ...")
    waiting = Waiting().start()
    # These do not depend on timing, so they share the waiting time.
    sizes = startup.sizes()
    log("Policy simulation ...")
    results["simulation"] = simulate.run()
    log("Behaviour checks ...")
    results["behaviours"] = situations.behaviours()
    results["waiting"] = waiting.finish()
    log("Waiting through 10-minute runs on the emulator's clock ...")
    results["long_wait"] = long_wait.measure()
    log(f"Situations, {args.repeats} runs per tool each ...")
    results["situations"] = situations.measure(args.repeats)
    log("Import times ...")
    results["startup"] = {"imports": startup.imports(), "sizes": sizes}
    rows = report.targets(results)
    results["targets"] = rows
    results["meta"]["seconds"] = round(time.monotonic() - began, 1)  # type: ignore[index]
    (BENCH / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    (BENCH / "RESULTS.md").write_text(report.markdown(results, rows), encoding="utf-8")
    print(report.console(rows))
    print(f"\nWrote bench/results.json and bench/RESULTS.md in {time.monotonic() - began:.0f} s.")
    return 1 if args.strict and not all(row["pass"] for row in rows) else 0


def _only_waiting(strict: bool) -> int:
    """Re-measure the clock-driven waiting into the last full results, and say so in them."""
    results = json.loads((BENCH / "results.json").read_text(encoding="utf-8"))
    results["long_wait"] = long_wait.measure()
    results["meta"]["waiting_remeasured"] = utc_now()
    rows = report.targets(results)
    results["targets"] = rows
    (BENCH / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    (BENCH / "RESULTS.md").write_text(report.markdown(results, rows), encoding="utf-8")
    print(report.console(rows))
    return 1 if strict and not all(row["pass"] for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
