"""The GitHub REST API, for what the action asks of GitHub itself: whether a pull request is closed."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

DEFAULT_API_URL = "https://api.github.com"
TIMEOUT_SECONDS = 10.0


class GitHubApiError(Exception):
    """GitHub could not be asked, or would not say."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def api_url(env: Mapping[str, str]) -> str:
    """The REST API root: GITHUB_API_URL (set by the runner, also on GitHub Enterprise Server) or api.github.com."""
    return (env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL).rstrip("/")


def pull_request_state(
    base_url: str, token: str, repository: str, number: int, *, transport: httpx.BaseTransport | None = None
) -> str:
    """`open` or `closed`, as GitHub has it now; a GitHubApiError when GitHub cannot say."""
    url = f"{base_url}/repos/{repository}/pulls/{number}"
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport, follow_redirects=False) as client:
            response = client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise GitHubApiError(f"could not reach GitHub at {base_url} ({type(exc).__name__})") from None
    if response.status_code == 404:
        raise GitHubApiError(f"GitHub has no pull request #{number} in {repository}", 404)
    if response.status_code != 200:
        raise GitHubApiError(f"GitHub answered {response.status_code} for pull request #{number}", response.status_code)
    try:
        state = response.json().get("state")
    except (ValueError, AttributeError):
        state = None
    if state not in ("open", "closed"):
        raise GitHubApiError(f"GitHub's answer for pull request #{number} had no state")
    return str(state)
