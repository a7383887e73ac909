"""Failures the user can act on; `main` turns each into `::error::` lines and an exit code, in one place.

    BaseException
    +-- Aborted              the runner cancelled the step (SIGINT, SIGTERM): exit 128 + the signal, after cleanup
    Exception
    +-- ActionError          cause and fix in one message: exit 1
        +-- InputError       one action input (or runner variable) that cannot be used as given
        +-- InvalidInputs    every bad input at once (settings.py), an InputError each
        +-- EventError       the event is not about a pull request the action can run for
        +-- DbtCloudError    dbt Cloud refused a request or could not be reached (dbt_cloud.py)

dbt_cloud.py also has AmbiguousWriteError, internal: a write that may or may not have reached dbt Cloud.
"""

from __future__ import annotations


class ActionError(Exception):
    """A failure with a message that names the cause and the fix."""

    exit_code = 1

    def __init__(self, message: str, *, title: str = "autoscale-dbt-ci") -> None:
        super().__init__(message)
        self.message = message
        self.title = title

    def errors(self) -> list[ActionError]:
        """The failures to report, one `::error::` line each."""
        return [self]


class InputError(ActionError):
    """An action input (or runner variable) that cannot be used as given."""

    def __init__(self, name: str, message: str, *, naming: str = "input") -> None:
        # The message names the input; the title does not repeat it.
        super().__init__(message, title="Invalid flag" if naming == "flag" else "Invalid input")
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
