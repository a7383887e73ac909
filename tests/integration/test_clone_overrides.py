"""A clone behaves like its job end to end: the job's environment-variable overrides are copied onto it before
its run, a secret one keeps the run on the job, and an answer the action cannot read never makes a clone."""

from __future__ import annotations

import httpx

from dbt_cloud_emulator import Emulator
from tests.integration.conftest import StepFactory, trigger, writes_of

SHA_A, SHA_B = "a" * 40, "b" * 40


def overrides_of(emu: Emulator, job_id: int) -> dict[str, str]:
    return {
        v["name"]: v["value"]
        for v in emu.env_vars()
        if v["type"] == "job" and v["job_definition_id"] == job_id and v["state"] == 1
    }


def busy(emu: Emulator) -> None:
    emu.hold(git_sha=SHA_B)
    trigger(emu, 8, SHA_B)  # another PR keeps the job busy, with a run slot free


def test_a_clone_gets_every_override_of_its_job_before_its_run(emu: Emulator, step: StepFactory) -> None:
    job = emu.ci_job_id or 0
    emu.set_env_var("DBT_TARGET_SUFFIX", project="prod", job_id=job, job_value="ci")
    emu.set_env_var("DBT_THREADS", project="4", job_id=job, job_value="8")
    emu.set_env_var("DBT_PROJECT_ONLY", project="kept by the project")
    busy(emu)
    emu.hold(git_sha=SHA_A)
    action = step(7, SHA_A, **{"delete-clone": "false", "wait": "false"})
    done = action.run()
    assert done.returncode == 0, done.stdout
    clone = int(done.outputs["cloned-job-id"])
    assert overrides_of(emu, clone) == {"DBT_TARGET_SUFFIX": "ci", "DBT_THREADS": "8"}
    writes = writes_of(emu, action)
    run_at = writes.index(f"POST /jobs/{clone}/run/")
    copies = [w for w in writes if "environment-variables" in w]
    assert len(copies) == 2 and all(writes.index(w) < run_at for w in copies)  # copied before the run
    emu.release(every=True)


def test_a_reused_clone_gets_the_jobs_current_overrides(emu: Emulator, step: StepFactory) -> None:
    job = emu.ci_job_id or 0
    emu.set_env_var("DBT_KEEP", project="x", job_id=job, job_value="1")
    emu.set_env_var("DBT_CHANGE", project="x", job_id=job, job_value="old")
    emu.set_env_var("DBT_DROP", project="x", job_id=job, job_value="gone soon")
    busy(emu)
    first = step(7, SHA_A, **{"delete-clone": "false"}).run()
    assert first.returncode == 0, first.stdout
    clone = int(first.outputs["cloned-job-id"])
    assert overrides_of(emu, clone) == {"DBT_KEEP": "1", "DBT_CHANGE": "old", "DBT_DROP": "gone soon"}
    emu.set_env_var("DBT_CHANGE", project="x", job_id=job, job_value="new")
    emu.set_env_var("DBT_ADD", project="x", job_id=job, job_value="added")
    dropped = next(v["id"] for v in emu.env_vars() if v["name"] == "DBT_DROP" and v["job_definition_id"] == job)
    url = f"{emu.url}/api/v3/accounts/{emu.account_id}/projects/{emu.project_id}/environment-variables/{dropped}/"
    httpx.delete(url, headers={"Authorization": f"Token {emu.token}"}).raise_for_status()  # the job no longer has it
    second = step(9, "c" * 40, **{"delete-clone": "false"}).run()
    assert second.returncode == 0, second.stdout
    assert second.outputs["cloned-job-id"] == str(clone)  # the idle clone was reused
    assert overrides_of(emu, clone) == {"DBT_KEEP": "1", "DBT_CHANGE": "new", "DBT_ADD": "added"}
    emu.release(every=True)


def test_a_secret_override_keeps_the_run_on_the_job_with_one_warning(emu: Emulator, step: StepFactory) -> None:
    job = emu.ci_job_id or 0
    emu.set_env_var("DBT_ENV_SECRET_WAREHOUSE_KEY", project="p", job_id=job, job_value="s3cr3t-value")
    busy(emu)
    action = step(7, SHA_A, wait="false")
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert done.outputs["decision"] == "plain-trigger" and done.outputs["cloned-job-id"] == ""
    made = [j["id"] for j in emu.jobs() if j["id"] != job]
    # The clone made while the overrides were read is deleted before anything runs on it.
    assert writes_of(emu, action) == ["POST /jobs/", f"DELETE /jobs/{made[0]}/", f"POST /jobs/{job}/run/"]
    assert [j["state"] for j in emu.jobs() if j["id"] != job] == [2]
    warnings = [line for line in done.lines("::warning") if "Clone skipped" in line]
    assert len(warnings) == 1
    assert "DBT_ENV_SECRET_WAREHOUSE_KEY" in warnings[0] and "environment level" in warnings[0]
    assert "s3cr3t-value" not in done.stdout
    emu.release(every=True)


def test_an_overrides_answer_that_is_not_a_mapping_makes_no_clone(emu: Emulator, step: StepFactory) -> None:
    job = emu.ci_job_id or 0
    emu.set_env_var("DBT_TARGET_SUFFIX", project="prod", job_id=job, job_value="ci")
    emu.set_env_answer_shape("list")
    busy(emu)
    action = step(7, SHA_A, wait="false")
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert writes_of(emu, action)[-1] == f"POST /jobs/{job}/run/"
    assert all(j["state"] == 2 for j in emu.jobs() if j["id"] != job)  # no clone is left
    warnings = [line for line in done.lines("::warning") if "Clone skipped" in line]
    assert len(warnings) == 1 and "was not a mapping of variables" in warnings[0]
    emu.release(every=True)


def test_a_job_without_overrides_clones_with_no_write_for_them(emu: Emulator, step: StepFactory) -> None:
    busy(emu)
    action = step(7, SHA_A, wait="false")
    done = action.run()
    assert done.returncode == 0, done.stdout
    clone = int(done.outputs["cloned-job-id"])
    assert writes_of(emu, action) == ["POST /jobs/", f"POST /jobs/{clone}/run/", f"DELETE /jobs/{clone}/"]
    emu.release(every=True)
