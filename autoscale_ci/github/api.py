"""The GitHub REST API, for what the action asks of GitHub itself: a pull request's state and head, and the
comments on it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_API_URL = "https://api.github.com"
TIMEOUT_SECONDS = 10.0
# A pull request with more comments than this is searched no further: 100 a page.
COMMENT_PAGES = 30
# GitHub's compare lists at most this many changed files, for the whole comparison, on its first page.
FILES_LISTED = 300


class GitHubApiError(Exception):
    """GitHub could not be asked, or would not say; `write` when it refused a change, `busy` when it was rate
    limiting."""

    def __init__(
        self, message: str, status_code: int | None = None, *, write: bool = False, busy: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.write = write
        self.busy = busy


@dataclass(frozen=True)
class GitHubAccess:
    """How to ask GitHub about the repository's pull requests; None fields where this CI cannot."""

    api_url: str
    repository: str | None
    token: str | None


@dataclass(frozen=True)
class PullRequestHead:
    """A pull request as GitHub has it now."""

    state: str
    head_sha: str | None


@dataclass(frozen=True)
class Comparison:
    """What a branch has that a commit lacks: how many commits, and the files they changed since the two parted
    (GitHub lists at most `FILES_LISTED` of them: `files_cut` says the list may be longer)."""

    commits: int
    files: tuple[str, ...]
    files_cut: bool = False


@dataclass(frozen=True)
class Comment:
    """A comment on a pull request, and who wrote it."""

    id: int
    body: str
    url: str
    author: str = ""
    by_bot: bool = False


def api_url(env: Mapping[str, str]) -> str:
    """The REST API root: GITHUB_API_URL (set by the runner, also on GitHub Enterprise Server) or api.github.com."""
    return (env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL).rstrip("/")


class GitHubApi:
    """One repository's pull requests and their comments, through one connection pool."""

    def __init__(
        self,
        base_url: str,
        token: str,
        repository: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = TIMEOUT_SECONDS,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.repository = repository
        # Every request must be answered by then (on `clock`), whatever the pages or retries it takes.
        self._deadline = deadline
        self._clock = clock
        self._timeout = timeout
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        # Never followed: a redirect could carry the token to another host.
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False, headers=headers)

    def __enter__(self) -> GitHubApi:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.close()

    def _send(self, method: str, url: str, what: str, *, expect: int = 200, **kwargs: Any) -> httpx.Response:
        timeout = self._timeout
        if self._deadline is not None:
            timeout = min(timeout, self._deadline - self._clock())
            if timeout <= 0:
                raise GitHubApiError(f"GitHub at {self.base_url} took too long")
        try:
            response = self._http.request(method, url, timeout=timeout, **kwargs)
        except httpx.HTTPError as exc:
            raise GitHubApiError(f"could not reach GitHub at {self.base_url} ({type(exc).__name__})") from None
        if response.status_code != expect:
            busy = response.status_code == 429 or (
                response.status_code == 403 and response.headers.get("x-ratelimit-remaining") == "0"
            )
            raise GitHubApiError(
                f"GitHub answered {response.status_code} {what}",
                response.status_code,
                write=method in ("POST", "PATCH"),
                busy=busy,
            )
        return response

    @staticmethod
    def _object(response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise GitHubApiError(f"GitHub's answer {what} was not an object")
        return data

    def pull_request(self, number: int) -> PullRequestHead:
        """The pull request's state (`open` or `closed`) and head commit."""
        url = f"{self.base_url}/repos/{self.repository}/pulls/{number}"
        try:
            response = self._send("GET", url, f"for pull request #{number}")
        except GitHubApiError as exc:
            if exc.status_code == 404:
                raise GitHubApiError(f"GitHub has no pull request #{number} in {self.repository}", 404) from None
            raise
        try:
            data = self._object(response, f"for pull request #{number}")
        except GitHubApiError:
            data = {}
        state = data.get("state")
        if state not in ("open", "closed"):
            raise GitHubApiError(f"GitHub's answer for pull request #{number} had no state")
        head = data.get("head")
        sha = head.get("sha") if isinstance(head, dict) else None
        return PullRequestHead(str(state), sha if isinstance(sha, str) else None)

    def compare(self, head: str, base: str) -> Comparison:
        """What `base` (a branch) has that `head` (a commit) lacks: `head...base`, the commits of `base` since the
        two parted and the files they changed. One page of one commit: the count and the files are all it needs."""
        # A branch name may hold `#` or `%`: quoted, it stays one path segment's text.
        url = f"{self.base_url}/repos/{self.repository}/compare/{head}...{quote(base, safe='/')}"
        what = f"comparing {base} with {head[:7]}"
        data = self._object(self._send("GET", url, what, params={"per_page": 1}), what)
        count = data.get("ahead_by")
        if not isinstance(count, int) or isinstance(count, bool):
            raise GitHubApiError(f"GitHub's answer {what} had no commit count")
        rows = data.get("files")
        files = (
            tuple(
                str(row["filename"]) for row in rows if isinstance(row, dict) and isinstance(row.get("filename"), str)
            )
            if isinstance(rows, list)
            else ()
        )
        return Comparison(count, files, files_cut=len(files) >= FILES_LISTED)

    def comments(self, number: int) -> list[Comment]:
        """The pull request's comments, oldest first, up to COMMENT_PAGES pages."""
        url: str | None = f"{self.base_url}/repos/{self.repository}/issues/{number}/comments"
        params: dict[str, Any] | None = {"per_page": 100}
        found: list[Comment] = []
        for _ in range(COMMENT_PAGES):
            if url is None:
                break
            response = self._send("GET", url, f"listing the comments of #{number}", params=params)
            try:
                rows = response.json()
            except ValueError:
                rows = None
            if not isinstance(rows, list):
                raise GitHubApiError(f"GitHub's list of the comments of #{number} was not a list")
            found += [comment for row in rows if (comment := _comment(row)) is not None]
            following = response.links.get("next", {}).get("url")
            # The next page's link carries its own query; one on another host is not followed with the token.
            url = following if following and following.startswith(f"{self.base_url}/") else None
            params = None
        return found

    def login(self) -> str | None:
        """Whom the token acts for, or None when GitHub does not say (the workflow's token cannot ask)."""
        try:
            response = self._send("GET", f"{self.base_url}/user", "for the token's user")
            login = self._object(response, "for the token's user").get("login")
        except GitHubApiError:
            return None
        return login if isinstance(login, str) else None

    def create_comment(self, number: int, body: str) -> Comment:
        """A new comment on the pull request."""
        url = f"{self.base_url}/repos/{self.repository}/issues/{number}/comments"
        response = self._send("POST", url, f"to a new comment on #{number}", expect=201, json={"body": body})
        return self._written(response, "the new comment")

    def update_comment(self, comment_id: int, body: str) -> Comment:
        """The comment, edited to say `body`."""
        url = f"{self.base_url}/repos/{self.repository}/issues/comments/{comment_id}"
        response = self._send("PATCH", url, f"to an edit of comment {comment_id}", json={"body": body})
        return self._written(response, f"comment {comment_id}")

    def _written(self, response: httpx.Response, what: str) -> Comment:
        comment = _comment(self._object(response, f"for {what}"))
        if comment is None:
            raise GitHubApiError(f"GitHub's answer for {what} had no id")
        return comment


def _comment(row: Any) -> Comment | None:
    if not isinstance(row, dict) or not isinstance(row.get("id"), int):
        return None
    user = row.get("user")
    if not isinstance(user, dict):
        user = {}
    login = str(user.get("login") or "")
    return Comment(
        row["id"],
        str(row.get("body") or ""),
        str(row.get("html_url") or ""),
        author=login,
        by_bot=user.get("type") == "Bot" or login.endswith("[bot]"),
    )


def pull_request_state(
    base_url: str, token: str, repository: str, number: int, *, transport: httpx.BaseTransport | None = None
) -> str:
    """`open` or `closed`, as GitHub has it now; a GitHubApiError when GitHub cannot say."""
    with GitHubApi(base_url, token, repository, transport=transport) as api:
        return api.pull_request(number).state
