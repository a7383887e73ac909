"""Every rule, pure: no I/O, no environment, no clock."""
