"""Container entry point of the action."""

from autoscale_ci.run import main

raise SystemExit(main())
