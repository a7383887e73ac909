from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime

import httpx
import pytest

from autoscale_ci.act.threads import in_background
from autoscale_ci.ci.runtime import Runtime
from autoscale_ci.dbt_cloud.models import Run
from autoscale_ci.github.api import GitHubAccess
from autoscale_ci.inputs.github_event import PullRequest
from autoscale_ci.report import commenter as commenter_module
from autoscale_ci.report.comment import Marker, Mode
from autoscale_ci.report.commenter import Commenter, Target
from autoscale_ci.report.outcome import Outcome
from autoscale_ci.rules.decide import Skip, Trigger
from autoscale_ci.rules.verdict import RunStatus
from tests.harness import wait_for

SHA = "a" * 40
PR = PullRequest(number=7, head_sha=SHA, updated_at=datetime(2026, 11, 25, tzinfo=UTC))
RUN = Run(id=11, job_definition_id=5, status=3)
API = "https://github.example/api/v3"
BOT = {"login": "github-actions[bot]", "type": "Bot"}
FAILED = Outcome(Trigger("idle"), PR, RunStatus.ERROR, run=RUN, exit_code=1, message="failed")


class GitHub:
    """Pull request 7 at SHA, its comments, and every request seen; `fail` answers each request with it (each
    write, with `writes_only`)."""

    def __init__(
        self, fail: Exception | int | None = None, *, writes_only: bool = False, headers: dict[str, str] | None = None
    ) -> None:
        self.fail = fail
        self.writes_only = writes_only
        self.headers = headers or {}
        self.bodies: dict[int, str] = {}
        self.authors: dict[int, dict[str, str]] = {}
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path.removeprefix('/api/v3')}")
        failing = not self.writes_only or request.method in ("POST", "PATCH")
        if isinstance(self.fail, Exception) and failing:
            raise self.fail
        if isinstance(self.fail, int) and failing:
            return httpx.Response(self.fail, json={"message": "no"}, headers=self.headers)
        if request.url.path.endswith("/user"):
            return httpx.Response(200, json={"login": "release-bot-person"})
        if request.method == "GET" and request.url.path.endswith("/pulls/7"):
            return httpx.Response(200, json={"state": "open", "head": {"sha": SHA}})
        if request.method == "GET":
            rows = [
                {"id": key, "body": body, "html_url": f"u{key}", "user": self.authors.get(key, BOT)}
                for key, body in self.bodies.items()
            ]
            return httpx.Response(200, json=rows)
        comment_id = len(self.bodies) + 1 if request.method == "POST" else int(request.url.path.rsplit("/", 1)[1])
        self.bodies[comment_id] = json.loads(request.content)["body"]
        return httpx.Response(
            201 if request.method == "POST" else 200, json={"id": comment_id, "html_url": f"u{comment_id}"}
        )


def commenter(github: GitHub, out: io.StringIO, mode: Mode = "always", token: str | None = "ghs_x") -> Commenter:
    target = Target(GitHubAccess(API, "acme/analytics", token), PR, 5)
    return Commenter(Runtime({"GITHUB_ACTIONS": "true"}, out), mode, target, transport=httpx.MockTransport(github))


def test_the_verdict_edits_the_in_flight_comment_after_it_is_written() -> None:
    github, out = GitHub(), io.StringIO()
    writer = commenter(github, out)
    writer.in_flight(Trigger("idle"), RUN, None)
    assert writer.finished(FAILED) == "u1"
    assert [s for s in github.seen if not s.startswith("GET")] == [
        "POST /repos/acme/analytics/issues/7/comments",
        "PATCH /repos/acme/analytics/issues/comments/1",
    ]
    assert "dbt Cloud CI: error" in github.bodies[1]
    assert "::warning" not in out.getvalue()


def test_github_that_times_out_is_one_warning_for_both_writes() -> None:
    github, out = GitHub(fail=httpx.ReadTimeout("slow")), io.StringIO()
    writer = commenter(github, out)
    writer.in_flight(Trigger("idle"), RUN, None)
    assert writer.finished(FAILED) == ""
    assert len(github.seen) == 1
    assert out.getvalue().count("::warning") == 1 and "ReadTimeout" in out.getvalue()


def test_a_refused_write_names_the_permission() -> None:
    out = io.StringIO()
    assert commenter(GitHub(fail=403, writes_only=True), out).finished(FAILED) == ""
    assert "pull-requests: write" in out.getvalue() and out.getvalue().count("::warning") == 1


@pytest.mark.parametrize(
    ("github", "said"),
    [
        (GitHub(fail=403, headers={"x-ratelimit-remaining": "0"}), "rate limiting"),
        (GitHub(fail=429), "rate limiting"),
        (GitHub(fail=401), "does not take the github-token"),
        (GitHub(fail=404), "GitHub has no pull request #7"),
    ],
)
def test_each_refusal_says_what_it_is(github: GitHub, said: str) -> None:
    out = io.StringIO()
    commenter(github, out).finished(FAILED)
    assert said in out.getvalue() and out.getvalue().count("::warning") == 1
    assert "pull-requests: write" not in out.getvalue()


def test_a_marker_that_a_person_wrote_is_not_edited() -> None:
    github, out = GitHub(), io.StringIO()
    github.bodies[1] = Marker(5, SHA).line() + "\nall good, trust me"
    github.authors[1] = {"login": "mallory", "type": "User"}
    commenter(github, out).finished(FAILED)
    assert github.bodies[1].endswith("all good, trust me")
    assert "dbt Cloud CI: error" in github.bodies[2]
    assert "GET /user" in github.seen  # the token's own person may have written it


def test_a_marker_the_tokens_person_wrote_is_edited() -> None:
    github = GitHub()
    github.bodies[1] = Marker(5, SHA).line() + "\nrunning"
    github.authors[1] = {"login": "release-bot-person", "type": "User"}
    commenter(github, io.StringIO()).finished(FAILED)
    assert list(github.bodies) == [1] and "dbt Cloud CI: error" in github.bodies[1]


def test_a_comment_deleted_since_this_step_wrote_it_is_written_anew() -> None:
    github = GitHub()
    writer = commenter(github, io.StringIO())
    writer.in_flight(Trigger("idle"), RUN, None)
    assert writer._pending is not None
    writer._pending.result(timeout=30)
    del github.bodies[1]
    real = github.__call__

    def gone(request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            return httpx.Response(404, json={"message": "Not Found"})
        return real(request)

    writer._transport = httpx.MockTransport(gone)
    assert writer.finished(FAILED) == "u1"
    assert "dbt Cloud CI: error" in github.bodies[1]


def test_a_step_that_failed_before_its_verdict_says_so_in_the_comment() -> None:
    github = GitHub()
    writer = commenter(github, io.StringIO(), mode="on-failure")
    writer.in_flight(Trigger("idle"), RUN, None)  # nothing yet: on-failure, no comment to keep current
    writer.failed("dbt Cloud answered 500 for run 11.")
    assert "### ❌ dbt Cloud CI: failed" in github.bodies[1] and "answered 500 for run 11" in github.bodies[1]


def test_the_verdict_waits_for_a_slow_in_flight_write_and_lands_after_it() -> None:
    github, out = GitHub(), io.StringIO()
    release = threading.Event()
    sent: list[str] = []

    def slow(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            sent.append("in flight")
            release.wait(timeout=30)
        return github(request)

    target = Target(GitHubAccess(API, "acme/analytics", "ghs_x"), PR, 5)
    writer = Commenter(Runtime({"GITHUB_ACTIONS": "true"}, out), "always", target, transport=httpx.MockTransport(slow))
    writer.in_flight(Trigger("idle"), RUN, None)
    wait_for(lambda: sent == ["in flight"], what="the in-flight write on its way to GitHub")
    verdict = in_background(writer.finished, FAILED)
    # However slow GitHub is with the in-flight write, the verdict goes after it, never before.
    assert not verdict.done()
    release.set()
    assert verdict.result(timeout=30) == "u1"
    assert "dbt Cloud CI: error" in github.bodies[1]
    assert "::warning" not in out.getvalue()


def test_an_in_flight_write_not_yet_made_when_the_verdict_comes_is_never_made() -> None:
    github = GitHub()
    target = Target(GitHubAccess(API, "acme/analytics", "ghs_x"), PR, 5)
    writer = Commenter(
        Runtime({"GITHUB_ACTIONS": "true"}, io.StringIO()), "always", target, transport=httpx.MockTransport(github)
    )
    writer._final = True  # as finished() marks it before its own write
    writer._write("running", False, True)
    assert github.bodies == {}


def test_a_render_that_breaks_never_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> str:
        raise KeyError("x")

    monkeypatch.setattr(commenter_module, "finished", broken)
    monkeypatch.setattr(commenter_module, "in_flight", broken)
    out = io.StringIO()
    writer = commenter(GitHub(), out)
    writer.in_flight(Trigger("idle"), RUN, None)
    assert writer.finished(FAILED) == ""
    assert out.getvalue().count("::warning") == 1 and "(KeyError)" in out.getvalue()


def test_an_answer_that_breaks_the_writer_is_a_warning_too() -> None:
    out = io.StringIO()
    assert commenter(GitHub(fail=RuntimeError("bug")), out).finished(FAILED) == ""
    assert "Could not write the pull request comment (RuntimeError)" in out.getvalue()


def test_a_skipped_step_writes_nothing() -> None:
    github = GitHub()
    commenter(github, io.StringIO()).finished(Outcome(Skip("draft"), PR, RunStatus.SKIPPED))
    assert github.seen == []


def test_without_a_token_only_a_comment_that_would_be_written_warns() -> None:
    passed = Outcome(Trigger("idle"), PR, RunStatus.SUCCESS, run=RUN)
    quiet, loud = io.StringIO(), io.StringIO()
    commenter(GitHub(), quiet, mode="on-failure", token=None).finished(passed)
    assert quiet.getvalue() == ""
    commenter(GitHub(), loud, mode="on-failure", token=None).finished(FAILED)
    assert loud.getvalue().count("::warning") == 1 and "no github-token" in loud.getvalue()


def test_a_verdict_waits_for_a_slow_in_flight_write_so_it_lands_last() -> None:
    github, out = GitHub(), io.StringIO()
    gate = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert gate.wait(timeout=30)
        return github(request)

    target = Target(GitHubAccess(API, "acme/analytics", "ghs_x"), PR, 5)
    writer = Commenter(Runtime({"GITHUB_ACTIONS": "true"}, out), "always", target, transport=httpx.MockTransport(slow))
    writer.in_flight(Trigger("idle"), RUN, None)
    finishing = threading.Thread(target=writer.finished, args=(FAILED,))
    finishing.start()
    gate.set()
    finishing.join(timeout=30)
    assert "dbt Cloud CI: error" in github.bodies[1] and len(github.bodies) == 1
