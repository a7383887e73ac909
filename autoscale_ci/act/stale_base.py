"""Whether the pull request's branch lacks commits of its base that change dbt files, asked beside the first dbt
Cloud reads: GitHub's comparison of the base with the head, then, only when the base changed files, where the job's
dbt project sits (its dbt Cloud project's subdirectory). Never a reason to trigger anything else: GitHub unable to
say is at most one warning."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as NotYet
from dataclasses import dataclass

from autoscale_ci.act.threads import in_background
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud import DbtCloudClient
from autoscale_ci.errors import ActionError
from autoscale_ci.github.api import TIMEOUT_SECONDS, GitHubAccess, GitHubApi, GitHubApiError
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.rules.stale_base import StaleBase, dbt_files, stale_base_message

# The answers that mean the token may not read the repository's commits: a permission to give, not weather.
REFUSED = (401, 403, 404)
# How long the check may still take once the decision is made: a warning waits little, a failure as long as GitHub may.
GRACE_SECONDS = 2.0
# A failure waits for GitHub's answer and then the project's read, each bounded by its own client.
FAIL_WAIT_SECONDS = 3 * TIMEOUT_SECONDS
TITLE, UNCHECKED = "Stale base", "Stale base not checked"
PERMISSION_FIX = (
    "give github-token `contents: read` (a workflow's `permissions:` may leave it out), or set stale-base: off"
)


@dataclass(frozen=True)
class Checked:
    """The check's finding: `stale` when the base changed dbt files; else `trouble`, why GitHub could not say
    (`refused` when it would not, for the token's permissions)."""

    stale: StaleBase | None = None
    trouble: str | None = None
    refused: bool = False


class BaseCheck:
    """Started at once on a thread of its own; `result` waits for it, at most as long as it is given."""

    def __init__(
        self,
        github: GitHubAccess,
        pr: PullRequest,
        client: DbtCloudClient,
        project_id: Callable[[], int],
        debug: Callable[[str], None],
    ) -> None:
        self.pr = pr
        self.base = pr.base_ref or ""
        self._github = github
        self._client = client
        self._project_id = project_id
        self._debug = debug
        self._found: Future[Checked] = in_background(self._check)

    def result(self, wait: float) -> Checked | None:
        """The finding, or None when it is not in after `wait` seconds."""
        try:
            return self._found.result(timeout=wait)
        except NotYet:
            return None
        except Exception as exc:  # a check, never a reason to fail the step
            return Checked(trouble=f"{type(exc).__name__}: {exc}")

    def before_trigger(self, runtime: Runtime, *, failing: bool) -> tuple[str, ...]:
        """The note on a branch behind its base, said as a warning, or raised as the error when `failing`; () when
        there is nothing to say. GitHub unable to say is one warning at most, and never fails the step."""
        found = self.result(FAIL_WAIT_SECONDS if failing else GRACE_SECONDS)
        branch = f"{self.pr.name}'s branch"
        if found is None or found.trouble is not None:
            why = found.trouble if found is not None else "GitHub did not answer in time"
            unchecked = f"Could not compare {branch} with {self.base} ({why})"
            if found is not None and found.refused:
                runtime.warning(f"{unchecked}: {PERMISSION_FIX}. The run is triggered unchecked.", title=UNCHECKED)
            elif failing:
                runtime.warning(f"{unchecked}: the run is triggered unchecked.", title=UNCHECKED)
            else:
                runtime.log(f"{unchecked}; the run is triggered without that check.")
            return ()
        if found.stale is None:
            runtime.debug(f"{branch} has every commit of {self.base} that changes a dbt file of the project.")
            return ()
        message = stale_base_message(found.stale, branch)
        if failing:
            raise ActionError(f"{message} Nothing was triggered or cancelled (stale-base: fail).", title=TITLE)
        runtime.warning(message, title=TITLE)
        return (message,)

    def _check(self) -> Checked:
        access = self._github
        if access.repository is None or access.token is None:
            return Checked(trouble="no repository or token to ask GitHub with")
        try:
            with GitHubApi(access.api_url, access.token, access.repository) as api:
                compared = api.compare(self.pr.head_sha, self.base)
        except GitHubApiError as exc:
            # A rate limit answers 403 too: weather, not a permission to give.
            return Checked(trouble=exc.message, refused=exc.status_code in REFUSED and not exc.busy)
        if not compared.commits or not compared.files:
            return Checked()
        files = dbt_files(compared.files, self._subdirectory())
        if not files:
            if compared.files_cut:
                self._debug(
                    f"GitHub listed only its first {len(compared.files)} files changed on {self.base}, none a dbt file."
                )
            return Checked()
        return Checked(StaleBase(self.base, compared.commits, files, at_least=compared.files_cut))

    def _subdirectory(self) -> str | None:
        """Where the job's dbt project sits in the repository; its root when dbt Cloud will not say."""
        try:
            project_id = self._project_id()
            return self._client.get_project(project_id).dbt_project_subdirectory
        except ActionError as exc:
            self._debug(f"The job's project could not be read ({exc.message}); taking the repository's root.")
            return None
