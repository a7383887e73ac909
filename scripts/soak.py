"""`make soak`: the long fault soak (SOAK_SCHEDULES schedules, default 1000; SOAK_SEED, default 1)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.soak import soak  # noqa: E402


def main() -> int:
    """Run the schedules, print the counts and every violation; exit 1 if there was one."""
    count = int(os.environ.get("SOAK_SCHEDULES", "1000"))
    seed = int(os.environ.get("SOAK_SEED", "1"))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autoscale-soak-") as tmp:
        tally = soak(count=count, seed=seed, workdir=Path(tmp))
    print(tally.report())
    print(f"seed {seed}, {time.monotonic() - started:.0f} s")
    for violation in tally.violations:
        print(f"VIOLATION: {violation}")
    return 1 if tally.violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
