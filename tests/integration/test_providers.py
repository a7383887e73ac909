"""The real command under the variables of each CI, against the emulator: the token is printed and written nowhere
except into the CI's own masking command (GitHub's `::add-mask::`, Azure's `##vso[task.setsecret]`), no GitHub
workflow command appears outside GitHub Actions, and groups, errors, outputs and the summary come in each CI's form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dbt_cloud_emulator import Emulator
from tests.harness import ROOT, parse_file_commands, pr_event

SHA = "d" * 40
PR = 21
WRONG_TOKEN = "dbtc_wrong_SUPERSECRET123"

# What each CI sets for a pull request pipeline; the plain shell passes the PR on the command line instead.
PROVIDERS: dict[str, dict[str, str]] = {
    "github": {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request"},
    "gitlab": {
        "GITLAB_CI": "true",
        "CI_MERGE_REQUEST_IID": str(PR),
        "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": SHA,
    },
    "azure": {
        "TF_BUILD": "True",
        "SYSTEM_PULLREQUEST_PULLREQUESTID": str(PR),
        "SYSTEM_PULLREQUEST_SOURCECOMMITID": SHA,
    },
    "bitbucket": {"BITBUCKET_BUILD_NUMBER": "7", "BITBUCKET_PR_ID": str(PR), "BITBUCKET_COMMIT": SHA},
    "shell": {},
}
# The trigger field dbt Cloud reads the pull request from; a plain shell is taken for GitHub unless told.
PR_FIELD = {
    "github": "github_pull_request_id",
    "gitlab": "gitlab_merge_request_id",
    "azure": "azure_pull_request_id",
    "bitbucket": "non_native_pull_request_id",
    "shell": "github_pull_request_id",
}


# The lines each CI reads: a group's opening, an output, an error's start, and the one line allowed to hold the token
# (the CI's own masking command, which the CI consumes before anything is shown).
ESC = "\x1b"
FORMS: dict[str, dict[str, str | None]] = {
    "github": {
        "group": "::group::Decide",
        "output": None,
        "error": "::error",
        "warning": "::warning::",
        "mask": "::add-mask::",
    },
    "gitlab": {
        "group": f"{ESC}[0Ksection_start:",
        "output": "output decision=plain-trigger",
        "error": f"{ESC}[31;1merror: ",
        "warning": f"{ESC}[33;1mwarning: ",
        "mask": None,
    },
    "azure": {
        "group": "##[group]Decide",
        "output": "##vso[task.setvariable variable=decision;isOutput=true]plain-trigger",
        "error": "##vso[task.logissue type=error]",
        "warning": "##vso[task.logissue type=warning]",
        "mask": "##vso[task.setsecret]",
    },
    "bitbucket": {
        "group": "== Decide ==",
        "output": "output decision=plain-trigger",
        "error": "error: ",
        "warning": "warning: ",
        "mask": None,
    },
    "shell": {
        "group": "== Decide ==",
        "output": "output decision=plain-trigger",
        "error": "error: ",
        "warning": "warning: ",
        "mask": None,
    },
}
# Bitbucket keeps the summary and outputs only when asked; GitLab and Azure have a place for them by default.
ASKED = {"bitbucket": ["--summary-file", "summary.md", "--outputs-file", "outputs.env"]}


def run_cli(
    emu: Emulator, workdir: Path, provider: str, token: str, *extra: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """`autoscale-dbt-ci run` as that CI would run it, `extra` flags last; also returns every file the run left,
    concatenated."""
    workdir.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_", "STATE_"))}
    for variables in PROVIDERS.values():
        for key in variables:
            env.pop(key, None)
    env.update({"DBT_CLOUD_TOKEN": token, "PYTHONPATH": str(ROOT), **PROVIDERS[provider]})
    args = ["--account-id", str(emu.account_id), "--job-id", str(emu.ci_job_id), "--dbt-cloud-host", emu.url]
    args += ["--poll-interval", "0.1", "--artifacts", "run_results.json", "--artifacts-path", "dbt"]
    args += [*ASKED.get(provider, []), *extra]
    if provider == "github":
        (workdir / "event.json").write_text(json.dumps(pr_event(PR, SHA)), encoding="utf-8")
        env["GITHUB_EVENT_PATH"] = str(workdir / "event.json")
        for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE"):
            (workdir / name).write_text("", encoding="utf-8")
            env[name] = str(workdir / name)
    if provider == "azure":
        (workdir / "agent-temp").mkdir()
        env["AGENT_TEMPDIRECTORY"] = str(workdir / "agent-temp")
    if provider == "shell":
        args += ["--pr-number", str(PR), "--git-sha", SHA]
    result = subprocess.run(
        [sys.executable, "-m", "autoscale_ci", "run", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=workdir,
    )  # fmt: skip
    written = "".join(path.read_text(encoding="utf-8") for path in sorted(workdir.rglob("*")) if path.is_file())
    return result, written


def the_token_shows_only_in_the_masking_command(provider: str, printed: str, token: str) -> None:
    """The token is in no line, but in the one that hands it to the CI's masking."""
    mask = FORMS[provider]["mask"]
    assert [line for line in printed.splitlines() if token in line] == ([f"{mask}{token}"] if mask else [])
    if provider != "github":
        assert [line for line in printed.splitlines() if line.startswith("::")] == []


def summary_and_outputs(provider: str, workdir: Path) -> tuple[str, str]:
    """The summary and the outputs as the CI keeps them: its own files, or the ones asked for; none in a shell."""
    files = {
        "github": ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"),
        "gitlab": ("autoscale-dbt-ci-summary.md", "autoscale-dbt-ci.env"),
        "azure": ("agent-temp/autoscale-dbt-ci-summary.md", ""),
        "bitbucket": ("summary.md", "outputs.env"),
    }
    if provider not in files:
        assert sorted(path.name for path in workdir.iterdir()) == ["dbt"]  # the artifacts asked for, and nothing more
        return "", ""
    summary, outputs = (workdir / name if name else None for name in files[provider])
    return (summary.read_text(encoding="utf-8") if summary else ""), (
        outputs.read_text(encoding="utf-8") if outputs else ""
    )


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_run_prints_the_token_nowhere_and_speaks_the_ci_s_language(
    emu: Emulator, tmp_path: Path, provider: str
) -> None:
    result, written = run_cli(emu, tmp_path / "ok", provider, emu.token)
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    run = emu.runs()[-1]
    assert run["git_sha"] == SHA
    assert {field: run["trigger"][field] for field in set(PR_FIELD.values())} == {
        field: PR if field == PR_FIELD[provider] else None for field in set(PR_FIELD.values())
    }
    assert emu.token not in written
    the_token_shows_only_in_the_masking_command(provider, printed, emu.token)
    lines = printed.splitlines()
    forms = FORMS[provider]
    assert any(line.startswith(str(forms["group"])) for line in lines), printed
    if forms["output"] is not None:
        assert forms["output"] in lines
    summary, outputs = summary_and_outputs(provider, tmp_path / "ok")
    if provider == "github":
        assert parse_file_commands(outputs)["decision"] == "plain-trigger"
    elif outputs:
        assert "AUTOSCALE_DBT_CI_OUTPUT_DECISION=plain-trigger" in outputs.splitlines()
    if summary:
        assert "### ✅ dbt Cloud CI: success" in summary
    if provider == "azure":
        assert f"##vso[task.uploadsummary]{tmp_path / 'ok' / 'agent-temp' / 'autoscale-dbt-ci-summary.md'}" in lines
    if provider != "github":
        assert any(line.startswith("notice: dbt Cloud run ") for line in lines)
    assert (tmp_path / "ok" / "dbt" / "run_results.json").exists()  # artifacts are the user's files, everywhere


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_refused_token_is_one_error_that_never_shows_the_token(emu: Emulator, tmp_path: Path, provider: str) -> None:
    workdir = tmp_path / "refused"
    # A summary file that cannot be written: one warning, in the CI's form, and the verdict unchanged.
    unwritable = Path(os.devnull) / "summary.md"
    result, written = run_cli(emu, workdir, provider, WRONG_TOKEN, "--summary-file", str(unwritable))
    printed = result.stdout + result.stderr
    assert result.returncode == 1, printed
    assert WRONG_TOKEN not in written
    the_token_shows_only_in_the_masking_command(provider, printed, WRONG_TOKEN)
    errors = [line for line in printed.splitlines() if line.startswith(str(FORMS[provider]["error"]))]
    assert len(errors) == 1, printed
    assert "401" in errors[0]
    warnings = [line for line in printed.splitlines() if line.startswith(str(FORMS[provider]["warning"]))]
    assert len(warnings) == 1, printed
    assert f"Could not write {unwritable}" in warnings[0]
    assert emu.runs() == []  # nothing changed in dbt Cloud


def cli(emu: Emulator, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in a plain shell, with no DBT_CLOUD_TOKEN: a token reaches it only through `args`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_", "STATE_"))}
    env.pop("DBT_CLOUD_TOKEN", None)
    env["PYTHONPATH"] = str(ROOT)
    base = ["--account-id", str(emu.account_id), "--job-id", str(emu.ci_job_id), "--dbt-cloud-host", emu.url]
    return subprocess.run(
        [sys.executable, "-m", "autoscale_ci", *args, *base, "--poll-interval", "0.1"],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip


def test_the_command_takes_every_input_as_a_flag_and_never_echoes_the_token(emu: Emulator, tmp_path: Path) -> None:
    done = cli(emu, tmp_path, "--mode", "cleanup", "--dbt-cloud-token", emu.token)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "output decision=cleanup" in done.stdout.splitlines()
    assert emu.token not in done.stdout + done.stderr


def test_the_command_without_a_token_names_the_variable_to_set(emu: Emulator, tmp_path: Path) -> None:
    done = cli(emu, tmp_path, "run", "--pr-number", "3", "--git-sha", SHA)
    assert done.returncode == 1
    errors = [line for line in done.stdout.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stdout
    assert "set the environment variable DBT_CLOUD_TOKEN" in errors[0]
    assert "secrets.DBT_CLOUD_TOKEN" not in errors[0]  # the workflow's `with:` is not where it goes here
    assert emu.requests() == []


def test_without_a_push_time_no_commit_is_called_older(emu: Emulator, tmp_path: Path) -> None:
    emu.hold(git_sha="e" * 40)
    stale = httpx.post(
        f"{emu.url}/api/v2/accounts/{emu.account_id}/jobs/{emu.ci_job_id}/run/",
        json={"cause": "a run of another commit", "git_sha": "e" * 40, "non_native_pull_request_id": PR},
        headers={"Authorization": f"Token {emu.token}"},
    ).json()["data"]
    # The command in a plain shell, as for Bitbucket: no push time anywhere.
    done = cli(emu, tmp_path, "run", "--git-provider", "other", "--pr-number", str(PR), "--git-sha", SHA,
               "--dbt-cloud-token", emu.token)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Cancelled run {stale['id']} of job {emu.ci_job_id} at another commit eeeeeee." in done.stdout
    assert "older" not in done.stdout
    pushed = cli(emu, tmp_path, "run", "--git-provider", "other", "--pr-number", str(PR), "--git-sha", "f" * 40,
                 "--dbt-cloud-token", emu.token, "--pushed-at", "2026-12-01T12:00:00Z")  # fmt: skip
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert emu.runs()[-1]["trigger"]["cause"].endswith("[pushed 2026-12-01T12:00:00Z]")


def test_a_host_that_does_not_answer_is_retried_aloud_and_named_with_the_url_tried(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_", "STATE_"))}
    env.update({"DBT_CLOUD_TOKEN": WRONG_TOKEN, "PYTHONPATH": str(ROOT)})
    done = subprocess.run(
        [sys.executable, "-m", "autoscale_ci", "run", "--account-id", "1", "--job-id", "2", "--pr-number", "3",
         "--git-sha", SHA, "--dbt-cloud-host", "127.0.0.1:9", "--timeout-minutes", "0.1"],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    retries = [line for line in lines if "failed (ConnectError); trying again in" in line]
    assert retries, done.stdout  # nothing listens there: refused at once, so the first retry falls well in time
    assert all(line.startswith("dbt Cloud at https://127.0.0.1:9: GET /") for line in retries)  # whole lines
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1
    assert "Could not reach dbt Cloud at https://127.0.0.1:9/api/v2/accounts/1/" in errors[0]  # the URL tried
    assert "a host given without one is taken as https://" in errors[0]
    assert WRONG_TOKEN not in done.stdout + done.stderr


def test_the_command_takes_every_input_from_a_variable_too(emu: Emulator, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_", "STATE_"))}
    env.pop("DBT_CLOUD_TOKEN", None)
    env.update({"PYTHONPATH": str(ROOT), **PROVIDERS["gitlab"]})
    env.update(
        {
            "AUTOSCALE_DBT_CI_DBT_CLOUD_TOKEN": emu.token,
            "AUTOSCALE_DBT_CI_JOB_ID": str(emu.ci_job_id),
            "AUTOSCALE_DBT_CI_DBT_CLOUD_HOST": emu.url,
            "AUTOSCALE_DBT_CI_POLL_INTERVAL": "0.1",
            "AUTOSCALE_DBT_CI_DRY_RUN": "true",
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "autoscale_ci", "run"],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "output run-status=dry-run" in done.stdout.splitlines()  # every input arrived, account-id found
    assert emu.token not in done.stdout + done.stderr


GITHUB_REPOSITORY_BUILT_BY = {
    "azure": {
        "TF_BUILD": "True",
        "BUILD_REPOSITORY_PROVIDER": "GitHub",
        "SYSTEM_PULLREQUEST_PULLREQUESTID": "1234567890",  # Azure's own id: over 2^31, and no GitHub number
        "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER": str(PR),
        "SYSTEM_PULLREQUEST_SOURCECOMMITID": SHA,
    },
    "gitlab": {
        "GITLAB_CI": "true",
        "CI_PIPELINE_SOURCE": "external_pull_request_event",
        "CI_EXTERNAL_PULL_REQUEST_IID": str(PR),
        "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA": SHA,
        "CI_PIPELINE_ID": "777",
    },
}


@pytest.mark.parametrize("ci", sorted(GITHUB_REPOSITORY_BUILT_BY))
def test_a_github_repository_built_by_another_ci_sends_the_github_pull_request(
    emu: Emulator, tmp_path: Path, ci: str
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("INPUT_", "GITHUB_", "STATE_"))}
    for variables in (*PROVIDERS.values(), *GITHUB_REPOSITORY_BUILT_BY.values()):
        for key in variables:
            env.pop(key, None)
    env.update({"DBT_CLOUD_TOKEN": emu.token, "PYTHONPATH": str(ROOT), **GITHUB_REPOSITORY_BUILT_BY[ci]})
    done = subprocess.run(
        [sys.executable, "-m", "autoscale_ci", "run", "--account-id", str(emu.account_id), "--job-id",
         str(emu.ci_job_id), "--dbt-cloud-host", emu.url, "--poll-interval", "0.1"],
        env=env, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    trigger = emu.runs()[-1]["trigger"]
    assert trigger["github_pull_request_id"] == PR
    assert trigger["azure_pull_request_id"] is None and trigger["gitlab_merge_request_id"] is None
    assert trigger["schema_override"] == f"dbt_cloud_pr_{emu.ci_job_id}_{PR}"


@pytest.mark.parametrize(
    ("ci", "said"),
    [("shell", "export DBT_CLOUD_TOKEN="), ("gitlab", "masked CI/CD variable"), ("azure", "env: {DBT_CLOUD_TOKEN:")],
)
def test_a_missing_token_is_named_as_a_flag_with_the_syntax_of_the_ci_in_use(
    emu: Emulator, tmp_path: Path, ci: str, said: str
) -> None:
    done, _ = run_cli(emu, tmp_path / ci, ci, "")
    assert done.returncode == 1
    errors = [line for line in done.stdout.splitlines() if "required" in line]
    assert len(errors) == 1, done.stdout
    assert "Flag --dbt-cloud-token is required" in errors[0] and said in errors[0]
    assert emu.requests() == []


def test_a_bad_flag_exits_2_and_a_bad_value_is_named_as_a_flag(emu: Emulator, tmp_path: Path) -> None:
    wrong = cli(emu, tmp_path, "run", "--no-such-flag", "1")
    assert wrong.returncode == 2 and "unrecognized arguments: --no-such-flag" in wrong.stderr
    bad = cli(
        emu, tmp_path, "run", "--pr-number", "3", "--git-sha", SHA, "--dbt-cloud-token", emu.token, "--wait", "yes"
    )
    assert bad.returncode == 1
    (error,) = [line for line in bad.stdout.splitlines() if line.startswith("error: ")]
    assert error == "error: Invalid flag: Flag --wait must be true or false (got 'yes'): set true or false."
    assert emu.requests() == []
