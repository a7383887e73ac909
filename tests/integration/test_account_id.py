"""account-id left empty end to end: the token's one account is used (the post step too); several or none is one
error that lists what was found, with nothing changed in dbt Cloud."""

from __future__ import annotations

from dbt_cloud_emulator import Emulator
from tests.harness import wait_for
from tests.integration.conftest import StepFactory, writes_of

SHA_A = "a" * 40


def test_an_empty_account_id_is_the_tokens_one_account(emu: Emulator, step: StepFactory) -> None:
    action = step(7, SHA_A, **{"account-id": ""})
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert f"account-id is empty: the token's account is {emu.account_id} (Emulated Account)." in done.stdout
    assert writes_of(emu, action) == [f"POST /jobs/{emu.ci_job_id}/run/"]
    assert done.state.get("account_id") == str(emu.account_id)  # for the post step


def test_the_post_step_uses_the_account_the_main_step_found(emu: Emulator, step: StepFactory) -> None:
    emu.hold(git_sha=SHA_A)
    action = step(7, SHA_A, **{"account-id": ""}).start()
    wait_for(lambda: any(r["trigger"]["git_sha"] == SHA_A for r in emu.runs()), what="the step's run")
    wait_for(lambda: "run_id" in (action.workdir / "state").read_text(encoding="utf-8"), what="the saved run")
    action.signal(9)  # killed: only the post step can cancel the run
    action.wait()
    post = action.post()
    assert post.returncode == 0, post.stdout
    assert [r["status"] for r in emu.runs() if r["trigger"]["git_sha"] == SHA_A] == [30]


def test_a_token_of_several_accounts_is_one_error_listing_them(emu: Emulator, step: StepFactory) -> None:
    emu.set_listed_accounts([{"id": 11, "name": "Analytics"}, {"id": 12, "name": "Finance"}])
    action = step(7, SHA_A, **{"account-id": ""})
    done = action.run()
    assert done.returncode != 0
    errors = done.lines("::error")
    assert len(errors) == 1
    assert "2 accounts: 11 (Analytics), 12 (Finance)" in errors[0] and "set account-id" in errors[0]
    assert writes_of(emu, action) == [] and emu.runs() == []


def test_a_token_of_no_account_is_one_error(emu: Emulator, step: StepFactory) -> None:
    emu.set_listed_accounts([])
    action = step(7, SHA_A, **{"account-id": ""})
    done = action.run()
    assert done.returncode != 0
    errors = done.lines("::error")
    assert len(errors) == 1 and "can use no account" in errors[0]
    assert emu.runs() == []
