"""What each input of the action does and its default, as action.yml says: the command line's help, which has no
action.yml beside it in the image or the wheel. Generated from action.yml by scripts/gen_inputs.py: do not edit it by
hand, edit action.yml and run `python scripts/gen_inputs.py`."""

from __future__ import annotations

# name -> (description, default), in action.yml's order.
INPUTS: dict[str, tuple[str, str]] = {
    "mode": (
        "`run` triggers CI for the pull request; `cleanup` deletes this job's clones that no run uses and that are "
        'older than `clone-max-age-minutes`, or belong to the closed pull request of the event (see "Cleanup" in the '
        "README).",
        "run",
    ),
    "dbt-cloud-token": (
        "dbt Cloud API token, from a secret: a service token (`dbtc_`) on Enterprise, Enterprise+ and legacy Team, a "
        "personal access token (`dbtu_`) on Starter and Developer, whose service tokens cannot run jobs. Job Admin "
        "(or Job Creator) to clone; with Job Runner a busy job's run queues on the job. See \"Setting up the dbt "
        'Cloud job" in the README.',
        "",
    ),
    "account-id": (
        "dbt Cloud account id (the number after `/accounts/` in the dbt Cloud URL). Empty: the one account the token "
        "belongs to, found with one request (Admin API v3 `GET /api/v3/accounts/`); a token of several accounts, or "
        "of none, is one error listing what it found.",
        "",
    ),
    "job-id": (
        "The dbt Cloud CI job to trigger (the number after `/jobs/`). Its own PR trigger should be off.",
        "",
    ),
    "dbt-cloud-host": (
        "Your account's access URL, as dbt Cloud shows it under Account settings > Access URLs: a cell host like "
        "`https://ab123.us1.dbt.com`, or `https://emea.dbt.com`, `https://au.dbt.com`. Set it: the default, the "
        "legacy host, stops serving integrations on 2027-02-03, and a step on it warns until then. https only; http "
        "is accepted for loopback addresses.",
        "https://cloud.getdbt.com",
    ),
    "clone": (
        "Clone the job when it is busy with another pull request and a run slot is free. With `false` the job is "
        "always triggered itself and dbt Cloud queues the run, leaving run slots to other jobs (production, say); a "
        "Job Runner token is then enough.",
        "true",
    ),
    "delete-clone": (
        "Delete a clone once its run has finished (the step then waits on the clone path even if `wait` is false). "
        "With `false`, clones stay and idle ones are reused by later runs.",
        "true",
    ),
    "max-run-slots": (
        "Most runs of this job and its clones to have in flight at once, besides the account's own run slot limit; "
        "empty for no cap but the account's.",
        "",
    ),
    "native-concurrency": (
        "Whether dbt Cloud itself runs this job's CI runs for different pull requests side by side, so that a busy "
        "job is no reason to clone: `auto` (yes for a job typed `ci` on Enterprise, Enterprise+ and legacy Team "
        "plans), `true` or `false`.",
        "auto",
    ),
    "native-trigger": (
        "Trigger nothing: follow and report the run dbt Cloud's own pull request trigger starts for this commit (the "
        'job\'s "Run on pull requests" on), never cancelling one. See "dbt\'s own CI run" in the README.',
        "false",
    ),
    "wait": (
        "Wait for the run to finish and fail the step if it fails.",
        "true",
    ),
    "poll-interval": (
        "Longest wait in seconds between run status checks (greater than 0, at most 3600). Checks get denser towards "
        "the end predicted from the job's recent run times (down to every 1.5 s) and thin out again after it: a run "
        "is noticed within seconds of its end for a few requests a minute. A run still queued is looked at again "
        "after 2 s, then less often the longer the queue lasts.",
        "30",
    ),
    "timeout-minutes": (
        "Longest the step waits for the run; on expiry it fails, and cancels the run it started (`cancel-on-timeout`).",
        "60",
    ),
    "cancel-on-timeout": (
        "Cancel the run this step started when `timeout-minutes` runs out (`false` leaves it, and its clone, running).",
        "true",
    ),
    "cancel-on-abort": (
        "Cancel the run this step started when the workflow is cancelled.",
        "true",
    ),
    "stale-base": (
        "Whether to check, before triggering, that the pull request's branch has the commits of its base branch that "
        "change dbt files of the job's project (under the project's subdirectory in dbt Cloud): `state:modified+` "
        "compares with production, so each such file counts as modified and is rebuilt until the branch is updated. "
        "`warn` says how far behind and which files in the log, the summary and the pull request comment; `fail` ends "
        "the step first, with nothing triggered or cancelled; `off` does not ask. Asks GitHub with `github-token` "
        '(needs `contents: read`); see "Guards against a costly run" in the README.',
        "warn",
    ),
    "max-nodes": (
        "Most nodes a run may select, as the running step's log says it (dbt's `1 of M START` lines); empty for no "
        "limit. What happens past it is `on-max-nodes`.",
        "",
    ),
    "on-max-nodes": (
        "When a run selects more than `max-nodes` nodes: `warn` as soon as its log says so, or `cancel` the run and "
        "fail the step.",
        "warn",
    ),
    "annotations": (
        "Annotate each node that failed or warned on its file (the run's manifest.json, under the dbt project's "
        "subdirectory), at the line that names it when the workflow checked the repository out, else line 1: GitHub "
        "shows them in the pull request's diff. Under GitHub, at most 10 of each level with the verdict's own (GitHub "
        "keeps no more), and one notice for the rest.",
        "true",
    ),
    "retry-transient": (
        "How many more attempts a run gets that failed on what looks transient (a dropped connection, an expired "
        "session, a warehouse briefly unavailable; never a SQL error or a failing test): dbt Cloud's retry from the "
        "point of failure when it allows one, else a fresh trigger of the same payload. `0` retries nothing; at most "
        "`5`. `timeout-minutes` bounds all attempts together; with `wait: false` nothing is waited on, so nothing is "
        "retried.",
        "1",
    ),
    "run-on-draft": (
        "Run for draft pull requests too.",
        "false",
    ),
    "merge-queue": (
        "On the `merge_group` event (GitHub's merge queue): `run` runs the job for each queue entry, the pull request "
        "merged onto its base and the entries ahead of it, as for a push to the pull request (its schema; a later "
        "entry of the same pull request cancels an earlier one's run); `skip` passes the check at once with a notice "
        'and asks dbt Cloud nothing, for teams whose pull request check already tested the change. See "Merge queues" '
        "in the README.",
        "run",
    ),
    "cause": (
        "Cause shown in dbt Cloud (default `Autoscaling Slim CI: PR #<n> @ <sha7>`); ` [pushed <time>]` is appended.",
        "",
    ),
    "schema-override": (
        "Schema for the run (default `dbt_cloud_pr_<job-id>_<pr>`), as dbt Cloud's own CI names it. Another name gets "
        "a warning: cleanup mode drops only that one.",
        "",
    ),
    "steps-override": (
        "dbt commands to run instead of the job's, one a line, each starting with `dbt `.",
        "",
    ),
    "dbt-version-override": (
        "dbt version for this run instead of the job's.",
        "",
    ),
    "threads-override": (
        "Number of threads for this run.",
        "",
    ),
    "target-name-override": (
        "`target.name` for this run.",
        "",
    ),
    "timeout-seconds-override": (
        "dbt Cloud run timeout in seconds for this run (0 for none).",
        "",
    ),
    "generate-docs-override": (
        "Whether this run generates docs (`true` or `false`).",
        "",
    ),
    "git-branch": (
        "Git branch dbt Cloud checks out, in addition to the commit.",
        "",
    ),
    "artifacts": (
        "Artifacts of the finished run to download for later steps, separated by spaces (for example "
        "`run_results.json manifest.json`); downloaded after failed runs too. A missing one is a warning, never a "
        "failed step.",
        "",
    ),
    "artifacts-path": (
        "Folder in the workspace to save the artifacts in.",
        "target",
    ),
    "drop-schema": (
        "In cleanup mode for a closed pull request, also drop its schema (`dbt_cloud_pr_<job>_<pr>`) through dbt "
        'Cloud, with the macro in `dbt/macros/drop_pr_schema.sql` copied into your dbt project (see "A closed PR '
        'leaves nothing behind" in the README).',
        "true",
    ),
    "drop-schema-macro": (
        "Name of the macro that drops the schema.",
        "drop_pr_schema",
    ),
    "drop-schema-command": (
        "The dbt command that drops the schema, with the placeholders `{macro}`, `{schema}`, `{pr}` and `{job}` "
        "(default `dbt run-operation {macro} --args '{{schema: {schema}, pr: {pr}}}'`).",
        "",
    ),
    "clone-max-age-minutes": (
        "In cleanup mode, how old an idle clone must be before it is deleted.",
        "60",
    ),
    "git-provider": (
        "Where the pull request lives, which decides the trigger field dbt Cloud reads its id from: `auto` (detected "
        "from the CI's variables: Azure's `BUILD_REPOSITORY_PROVIDER`, GitLab's external pull request pipelines; "
        "GitHub in a terminal), `github`, `gitlab`, `azure` or `other`.",
        "auto",
    ),
    "github-token": (
        "Token for the GitHub REST API: it writes the pull request comment (needs `pull-requests: write`), and "
        "cleanup mode uses it to check that a pull request named by hand (`pr-number`) is closed before it touches "
        "anything (needs `pull-requests: read`).",
        "${{ github.token }}",
    ),
    "dry-run": (
        "Read and decide, print the plan a real run would carry out (the runs it would cancel and why, whether it "
        "would clone or reuse a clone, the slot arithmetic, the trigger body), set the `decision` output "
        "(`run-status` is `dry-run`) and write the summary, but write nothing to dbt Cloud (and no pull request "
        "comment). `run` mode only.",
        "false",
    ),
    "pr-comment": (
        'The pull request comment, one per PR and job, edited in place on every push (see "The pull request comment" '
        "in the README): `always`, `on-failure` (a comment when a run fails, kept current from then on, so it never "
        "shows a failure a later commit fixed) or `never`.",
        "on-failure",
    ),
    "confirm-closed": (
        "For cleanup of a pull request named by hand where GitHub cannot be asked whether it is closed (another CI, "
        "no token): `true` says you checked that it is closed. An open pull request is refused whatever this says.",
        "false",
    ),
    "pr-number": (
        "Pull request number, for `workflow_dispatch` runs (or the workflow input of the same name); on `merge_group` "
        "it takes the place of the number the queue branch names.",
        "",
    ),
    "pushed-at": (
        "When the push happened (ISO 8601 with a time zone), as your CI's webhook says, for CIs whose variables do "
        "not say: it orders a late workflow for an older commit behind a newer one. Never a commit's date. GitHub's "
        "event and GitLab's pipeline id give the order themselves.",
        "",
    ),
    "git-sha": (
        "Full commit SHA to run, for `workflow_dispatch` runs (or the workflow input of the same name).",
        "",
    ),
}
