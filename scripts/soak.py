"""`make soak`: the long fault soak (SOAK_SCHEDULES schedules, default 1000) and the weather soak (WEATHER_SCHEDULES,
default 300): outages, rate limits and a slow newer trigger while the step waits; SOAK_SEED, default 1."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.soak import soak  # noqa: E402
from tests.weather_soak import weather_soak  # noqa: E402


def main() -> int:
    """Run the schedules, print the counts and every violation; exit 1 if there was one."""
    count = int(os.environ.get("SOAK_SCHEDULES", "1000"))
    weather = int(os.environ.get("WEATHER_SCHEDULES", "300"))
    seed = int(os.environ.get("SOAK_SEED", "1"))
    violations = []
    for name, run, schedules in (("fault", soak, count), ("weather", weather_soak, weather)):
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"autoscale-{name}-soak-") as tmp:
            tally = run(count=schedules, seed=seed, workdir=Path(tmp))
        print(f"== {name} soak ==")
        print(tally.report())
        print(f"seed {seed}, {time.monotonic() - started:.0f} s")
        violations += tally.violations
    for violation in violations:
        print(f"VIOLATION: {violation}")
    return 1 if violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
