"""The record the main step keeps in GITHUB_STATE for the post step: what a killed main step would leave."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from autoscale_ci.ci.runtime import Runtime

RUN, CLONE, ACCOUNT = "run_id", "clone_job_id", "account_id"


class Leftovers:
    """What a killed main step would leave, kept in GITHUB_STATE for the post step (which reads it as `STATE_*`).

    A run or clone is saved the moment it exists and held while the plan is carried out (`recording`). When the
    step lets go of it, it is settled, and the post step leaves it alone: a run once it finished or was cancelled, or
    once the plan ended with it left running on purpose; a clone once deleted, or once the plan ended with it kept on
    purpose. A cancel or delete that failed, or an error out of the plan, leaves it to the post step."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._held: set[str] = set()
        self._stuck: set[str] = set()

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Around one plan carried out: what is still held when it ends without an error is settled."""
        yield
        for name in sorted(self._held - self._stuck):
            self._settle(name)

    def run_started(self, run_id: int) -> None:
        """The step's run exists: cancel it if the step dies."""
        self._hold(RUN, run_id)

    def clone_created(self, clone_id: int) -> None:
        """The step's clone exists: delete it if the step dies."""
        self._hold(CLONE, clone_id)

    def run_ended(self) -> None:
        """The step's run has finished: the verdict and the artifacts that follow need nothing of the post step."""
        self._settle(RUN)

    def run_cancelled(self, *, done: bool) -> None:
        """The step cancelled its run (`done`), which needs nothing more; or could not, so the post step tries."""
        self._let_go(RUN, done=done)

    def clone_deleted(self, *, done: bool) -> None:
        """The step deleted its clone (`done`); or could not, so the post step tries."""
        self._let_go(CLONE, done=done)

    def _hold(self, name: str, value: int) -> None:
        self._held.add(name)
        self._stuck.discard(name)
        self._runtime.save_state({name: str(value)})

    def _let_go(self, name: str, *, done: bool) -> None:
        if done:
            self._settle(name)
        elif name in self._held:
            self._stuck.add(name)

    def _settle(self, name: str) -> None:
        self._held.discard(name)
        self._runtime.save_state({name: ""})

    def account_found(self, account_id: int) -> None:
        """The account the step found for an empty account-id: the post step needs it too."""
        self._runtime.save_state({ACCOUNT: str(account_id)})

    @staticmethod
    def account(env: Mapping[str, str]) -> int:
        """The account the main step found, or 0 when it found none (account-id was given)."""
        found = env.get(f"STATE_{ACCOUNT}", "").strip()
        return int(found) if found.isdigit() else 0

    @staticmethod
    def read(env: Mapping[str, str]) -> tuple[int | None, int | None]:
        """The run to cancel and the clone to delete, as the runner hands them to the post step."""
        run_id, clone_id = (env.get(f"STATE_{name}", "").strip() for name in (RUN, CLONE))
        return (int(run_id) if run_id.isdigit() else None, int(clone_id) if clone_id.isdigit() else None)
