#!/usr/local/bin/python -u
"""Container entry point of the action's post step (runs.post-entrypoint)."""

from autoscale_ci.post import main

raise SystemExit(main())
