"""Container entry point of the action."""

from autoscale_ci.main import main

raise SystemExit(main())
