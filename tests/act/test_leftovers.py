from __future__ import annotations

from pathlib import Path

import pytest

from autoscale_ci.act.leftovers import Leftovers
from autoscale_ci.ci.runtime import Runtime
from tests.conftest import read_outputs


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def leftovers(state: Path) -> Leftovers:
    return Leftovers(Runtime({"GITHUB_ACTIONS": "true", "GITHUB_STATE": str(state)}))


def post_step_sees(state: Path) -> tuple[int | None, int | None]:
    """The run and the clone the post step would clean up, read as the runner hands them over."""
    return Leftovers.read({f"STATE_{name}": value for name, value in read_outputs(state).items()})


def test_what_the_plan_still_holds_when_it_ends_is_settled(state: Path) -> None:
    record = leftovers(state)
    with record.recording():
        record.clone_created(900)
        record.run_started(11)
        assert post_step_sees(state) == (11, 900)  # a kill now leaves both to the post step
    assert post_step_sees(state) == (None, None)


def test_an_error_out_of_the_plan_leaves_what_is_held_to_the_post_step(state: Path) -> None:
    record = leftovers(state)
    with pytest.raises(RuntimeError), record.recording():
        record.clone_created(900)
        record.run_started(11)
        record.clone_deleted(done=True)
        raise RuntimeError("a definite answer while waiting")
    assert post_step_sees(state) == (11, None)


def test_a_cancel_or_delete_that_failed_stays_for_the_post_step(state: Path) -> None:
    record = leftovers(state)
    with record.recording():
        record.clone_created(900)
        record.run_started(11)
        record.run_cancelled(done=False)
        record.clone_deleted(done=False)
    assert post_step_sees(state) == (11, 900)


def test_a_finished_run_is_settled_at_once_and_its_clone_when_deleted(state: Path) -> None:
    record = leftovers(state)
    with pytest.raises(KeyboardInterrupt), record.recording():
        record.clone_created(900)
        record.run_started(11)
        record.run_ended()
        assert post_step_sees(state) == (None, 900)
        raise KeyboardInterrupt  # stopped while the artifacts are read: only the clone is left
    assert post_step_sees(state) == (None, 900)


def test_the_account_found_reaches_the_post_step(state: Path) -> None:
    leftovers(state).account_found(1234)
    assert Leftovers.account({f"STATE_{k}": v for k, v in read_outputs(state).items()}) == 1234
    assert Leftovers.account({}) == 0
