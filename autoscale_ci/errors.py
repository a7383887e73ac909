"""Failures the user can act on; `main` turns each into one `::error::` line and an exit code."""

from __future__ import annotations


class ActionError(Exception):
    """A failure with a message that names the cause and the fix."""

    exit_code = 1

    def __init__(self, message: str, *, title: str = "autoscale-dbt-ci") -> None:
        super().__init__(message)
        self.message = message
        self.title = title


class InputError(ActionError):
    """An action input (or runner variable) that cannot be used as given."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message, title=f"Invalid input: {name}")
        self.name = name


class EventError(ActionError):
    """The GitHub event does not describe a pull request the action can run for."""

    def __init__(self, message: str) -> None:
        super().__init__(message, title="Unsupported event")


class Aborted(BaseException):
    """The runner asked the step to stop (SIGINT or SIGTERM)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 plus the signal number, as shells report it."""
        return 128 + self.signum
