from __future__ import annotations

import httpx
import pytest
import respx

from autoscale_ci.github.api import DEFAULT_API_URL, GitHubApi, GitHubApiError, api_url, pull_request_state

GHES = "https://github.example.com/api/v3"


def test_the_api_root_honours_github_api_url() -> None:
    assert api_url({}) == DEFAULT_API_URL
    assert api_url({"GITHUB_API_URL": f"{GHES}/"}) == GHES


@pytest.mark.parametrize("state", ["open", "closed"])
def test_the_state_is_read_with_the_token(state: str) -> None:
    with respx.mock(base_url=GHES, assert_all_mocked=True) as api:
        route = api.get("/repos/acme/analytics/pulls/5").respond(json={"number": 5, "state": state})
        assert pull_request_state(GHES, "ghs_x", "acme/analytics", 5) == state
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer ghs_x"
    assert sent.headers["X-GitHub-Api-Version"] == "2022-11-28"


@pytest.mark.parametrize(
    ("answer", "status", "said"),
    [
        (httpx.Response(404, json={"message": "Not Found"}), 404, "GitHub has no pull request #5 in acme/analytics"),
        (httpx.Response(403, json={"message": "Forbidden"}), 403, "GitHub answered 403"),
        (httpx.Response(301, headers={"Location": "https://elsewhere.example/"}), 301, "GitHub answered 301"),
        (httpx.Response(200, text="<html>"), None, "had no state"),
        (httpx.Response(200, json={"state": "merged?"}), None, "had no state"),
        (httpx.ConnectError("refused"), None, "could not reach GitHub at https://github.example.com/api/v3"),
    ],
)
def test_github_that_cannot_say_is_an_error_that_says_why(
    answer: httpx.Response | Exception, status: int | None, said: str
) -> None:
    with respx.mock(base_url=GHES, assert_all_mocked=True) as api:
        route = api.get("/repos/acme/analytics/pulls/5")
        route.mock(side_effect=answer) if isinstance(answer, Exception) else route.mock(return_value=answer)
        with pytest.raises(GitHubApiError) as raised:
            pull_request_state(GHES, "ghs_x", "acme/analytics", 5)
    assert raised.value.status_code == status
    assert said in raised.value.message
    assert "ghs_x" not in raised.value.message


def test_comments_are_read_page_by_page_on_the_same_host_only() -> None:
    first = f"{GHES}/repos/acme/analytics/issues/5/comments"
    with respx.mock(assert_all_mocked=True) as api:
        api.get(first, params={"per_page": "100"}).respond(
            json=[{"id": 1, "body": "a", "html_url": "u1"}, {"body": "no id"}],
            headers={"Link": f'<{first}?page=2>; rel="next"'},
        )
        api.get(first, params={"page": "2"}).respond(
            json=[{"id": 2, "body": "b", "html_url": "u2"}],
            headers={"Link": '<https://elsewhere.example/x?page=3>; rel="next"'},
        )
        with GitHubApi(GHES, "ghs_x", "acme/analytics") as github:
            found = github.comments(5)
    assert [(c.id, c.body) for c in found] == [(1, "a"), (2, "b")]


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (httpx.Response(200, json={"rows": []}), "was not a list"),
        (httpx.Response(200, text="<html>"), "was not a list"),
        (httpx.Response(403, json={"message": "no"}), "GitHub answered 403 listing the comments of #5"),
    ],
)
def test_a_comment_list_github_cannot_give_is_an_error(answer: httpx.Response, said: str) -> None:
    with respx.mock(base_url=GHES, assert_all_mocked=True) as api:
        api.get("/repos/acme/analytics/issues/5/comments").mock(return_value=answer)
        with GitHubApi(GHES, "ghs_x", "acme/analytics") as github, pytest.raises(GitHubApiError) as raised:
            github.comments(5)
    assert said in raised.value.message


def test_a_written_comment_without_an_id_is_an_error() -> None:
    with respx.mock(base_url=GHES, assert_all_mocked=True) as api:
        api.post("/repos/acme/analytics/issues/5/comments").respond(201, json={"body": "x"})
        api.patch("/repos/acme/analytics/issues/comments/9").respond(200, json=[1])
        with GitHubApi(GHES, "ghs_x", "acme/analytics") as github:
            with pytest.raises(GitHubApiError, match="had no id"):
                github.create_comment(5, "x")
            with pytest.raises(GitHubApiError, match="was not an object"):
                github.update_comment(9, "x")


def test_a_comparison_asks_one_commit_and_reads_the_count_and_the_files() -> None:
    files = [{"filename": f"models/m{k}.sql", "status": "modified"} for k in range(300)] + [{"status": "removed"}]
    with respx.mock(base_url=GHES, assert_all_mocked=True) as api:
        route = api.get(f"/repos/acme/analytics/compare/{'a' * 40}...main").respond(
            json={"status": "diverged", "ahead_by": 40, "behind_by": 2, "commits": [{"sha": "c" * 40}], "files": files}
        )
        with GitHubApi(GHES, "ghs_x", "acme/analytics") as github:
            compared = github.compare("a" * 40, "main")
    assert route.calls.last.request.url.params["per_page"] == "1"
    assert (compared.commits, len(compared.files), compared.files_cut) == (40, 300, True)
    assert compared.files[0] == "models/m0.sql"


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (httpx.Response(200, json={"status": "identical"}), "had no commit count"),
        (httpx.Response(200, json={"ahead_by": True}), "had no commit count"),
        (httpx.Response(404, json={"message": "Not Found"}), "GitHub answered 404 comparing main with aaaaaaa"),
    ],
)
def test_a_comparison_github_cannot_give_is_an_error(answer: httpx.Response, said: str) -> None:
    with respx.mock(base_url=GHES, assert_all_mocked=True) as api:
        api.get(f"/repos/acme/analytics/compare/{'a' * 40}...main").mock(return_value=answer)
        with GitHubApi(GHES, "ghs_x", "acme/analytics") as github, pytest.raises(GitHubApiError) as raised:
            github.compare("a" * 40, "main")
    assert said in raised.value.message


def test_a_comparison_without_files_is_nothing_changed() -> None:
    with respx.mock(base_url=GHES, assert_all_mocked=True) as api:
        api.get(f"/repos/acme/analytics/compare/{'a' * 40}...main").respond(json={"ahead_by": 0, "files": None})
        with GitHubApi(GHES, "ghs_x", "acme/analytics") as github:
            assert github.compare("a" * 40, "main").files == ()
