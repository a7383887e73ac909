"""`python -m autoscale_ci`."""

from autoscale_ci.cli import run

raise SystemExit(run())
