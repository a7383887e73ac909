from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from autoscale_ci import USER_AGENT
from autoscale_ci.dbt_cloud import DbtCloudClient, DbtCloudError, retry_after_seconds
from autoscale_ci.errors import Aborted
from tests.builders import ACCOUNT, HOST, JOB, SHA_A, TOKEN, account, envelope, failure, job, run

BODY = {"cause": "c", "git_sha": SHA_A, "github_pull_request_id": 7, "schema_override": "s"}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(sleeps: Sleeps) -> DbtCloudClient:
    return DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=sleeps, max_attempts=4, user_agent=USER_AGENT)


def test_requests_carry_auth_user_agent_and_timeout(api: respx.MockRouter, client: DbtCloudClient) -> None:
    route = api.get("/").respond(json=envelope(account()))
    assert client.get_account().run_slots == 3
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Token {TOKEN}"
    assert request.headers["User-Agent"] == USER_AGENT
    # Until the host has answered once, short timeouts: a host that answers nothing is told in seconds.
    assert request.extensions["timeout"] == {"connect": 5.0, "read": 10.0, "write": 10.0, "pool": 10.0}
    client.get_account()
    assert route.calls.last.request.extensions["timeout"] == {
        "connect": 10.0,
        "read": 30.0,
        "write": 30.0,
        "pool": 30.0,
    }


def test_a_host_that_never_answered_gets_two_tries_one_that_has_answered_gets_them_all(
    api: respx.MockRouter, client: DbtCloudClient
) -> None:
    route = api.get("/runs/9/")
    route.side_effect = httpx.ReadTimeout("nothing")
    with pytest.raises(DbtCloudError, match=r"answered nothing within \d+ s \(ReadTimeout, 2 tries\)") as raised:
        client.get_run(9)
    assert raised.value.message.startswith(f"dbt Cloud at {HOST}/api/v2/accounts/{ACCOUNT}/runs/9/ answered nothing")
    assert route.call_count == 2
    api.get("/").respond(json=envelope(account()))
    client.get_account()  # it answers now
    route.reset()
    with pytest.raises(DbtCloudError, match=r"\(ReadTimeout, 4 tries\)"):  # the client's max_attempts
        client.get_run(9)
    assert route.call_count == 4


def test_runs_are_read_across_every_page(api: respx.MockRouter, client: DbtCloudClient) -> None:
    runs = [run(i, pr=i) for i in range(1, 251)]
    route = api.get("/runs/").mock(side_effect=keyed_pages(lambda: runs))
    found = client.active_run_rows()
    assert [r["id"] for r in found] == list(range(1, 251))
    assert [call.request.url.params.get("id__gt") for call in route.calls] == [None, "100", "200"]
    params = route.calls[0].request.url.params
    assert params["status__in"] == "[1,2,3]"
    assert (params["limit"], params["offset"], params["order_by"]) == ("100", "0", "id")
    assert json.loads(params["include_related"]) == ["trigger", "job"]


def keyed_pages(rows: Callable[[], list[dict[str, Any]]]) -> Callable[[httpx.Request], httpx.Response]:
    """Answer a runs list as dbt Cloud does for `order_by=id`, `id__gt` and `limit`, from the rows as they are now."""

    def page(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params.get("id__gt", 0))
        limit = int(request.url.params["limit"])
        matching = [row for row in rows() if row["id"] > after]
        return httpx.Response(200, json=envelope(matching[:limit], total=len(matching)))

    return page


def test_a_run_that_ends_or_starts_between_two_page_reads_is_neither_skipped_nor_read_twice(
    api: respx.MockRouter, client: DbtCloudClient
) -> None:
    active = [run(i) for i in range(1, 151)]
    reads = 0

    def now() -> list[dict[str, Any]]:
        nonlocal reads
        reads += 1
        if reads == 2:  # between the two reads, run 20 ends and run 151 starts
            active.remove(next(row for row in active if row["id"] == 20))
            active.append(run(151))
        return active

    api.get("/runs/").mock(side_effect=keyed_pages(now))
    assert [row["id"] for row in client.active_run_rows()] == list(range(1, 152))  # 20 was read while active


def test_a_row_repeated_by_a_list_that_moved_is_kept_once(api: respx.MockRouter, client: DbtCloudClient) -> None:
    # Offset pages (the jobs list): a job created between the two reads pushes row 100 onto page 2 again.
    first = [job(i, name=f"J{i}") for i in range(1, 101)]
    second = [job(100, name="J100"), job(101, name="J101")]
    pages = iter([envelope(first, total=101), envelope(second, total=102, offset=100)])
    api.get("/jobs/").mock(side_effect=lambda _request: httpx.Response(200, json=next(pages)))
    assert [found.id for found in client.list_jobs("J")] == list(range(1, 102))


def test_list_stops_on_a_short_page_even_without_totals(api: respx.MockRouter, client: DbtCloudClient) -> None:
    route = api.get("/jobs/").respond(json={"status": {"code": 200}, "data": [job()]})
    assert [j.id for j in client.list_jobs("[autoscale")] == [JOB]
    assert route.call_count == 1
    assert route.calls.last.request.url.params["name__icontains"] == "[autoscale"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_reads_retry_server_errors(api: respx.MockRouter, client: DbtCloudClient, sleeps: Sleeps, status: int) -> None:
    route = api.get("/jobs/5/")
    route.side_effect = [httpx.Response(status), httpx.Response(status), httpx.Response(200, json=envelope(job(5)))]
    assert client.get_job(5).id == 5
    assert route.call_count == 3
    assert len(sleeps) == 2 and all(0 < s <= 30 for s in sleeps)


def test_reads_retry_dropped_connections_and_timeouts(api: respx.MockRouter, client: DbtCloudClient) -> None:
    api.get("/").respond(json=envelope(account()))
    client.get_account()  # a host that has answered gets every try
    route = api.get("/runs/9/")
    route.side_effect = [httpx.ConnectError("x"), httpx.ReadTimeout("y"), httpx.Response(200, json=envelope(run(9)))]
    assert client.get_run(9).id == 9


def test_429_honours_retry_after(api: respx.MockRouter, client: DbtCloudClient, sleeps: Sleeps) -> None:
    route = api.get("/")
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(429, headers={"Retry-After": "9999"}),
        httpx.Response(429),
        httpx.Response(200, json=envelope(account())),
    ]
    client.get_account()
    assert sleeps[:2] == [7.0, 300.0]  # capped
    assert 0 < sleeps[2] <= 30  # backoff when no header


def test_retries_give_up_with_a_clear_error(api: respx.MockRouter, client: DbtCloudClient) -> None:
    route = api.get("/").respond(503, json=failure(503, "Service unavailable"))
    with pytest.raises(
        DbtCloudError, match=r"answered 503 .* Service unavailable.*re-run the workflow later"
    ) as caught:
        client.get_account()
    assert caught.value.status_code == 503
    assert route.call_count == 4


def test_unreachable_host(api: respx.MockRouter, client: DbtCloudClient) -> None:
    api.get("/").mock(side_effect=httpx.ConnectError("no route"))
    with pytest.raises(
        DbtCloudError, match=re.escape("Could not reach dbt Cloud at https://cloud.getdbt.com/api/v2/accounts/")
    ) as e:
        client.get_account()
    assert "a host given without one is taken as https://" in e.value.message


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "valid, unexpired token.*personal access token.*dbt-cloud-host \\(https://cloud.getdbt.com\\)"),
        (403, "no access to account 1"),
        (404, "check that job-id 5 is a job of account 1"),
        (400, "a request the action built itself: report it"),
    ],
)
def test_client_errors_say_what_to_fix(api: respx.MockRouter, client: DbtCloudClient, status: int, says: str) -> None:
    route = api.get("/jobs/5/").respond(status, json=failure(status, "Nope"))
    with pytest.raises(DbtCloudError, match=says):
        client.get_job(5)
    assert route.call_count == 1  # 4xx is final


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (400, "check the inputs the trigger was built from"),
        (
            404,
            "check that job-id 5 is a job of account 1; or, as dbt Cloud also answers 404 for a missing permission, ",
        ),
    ],
)
def test_a_refused_trigger_points_at_what_it_was_built_from(
    api: respx.MockRouter, client: DbtCloudClient, status: int, says: str
) -> None:
    api.post("/jobs/5/run/").respond(status, json=failure(status, "Nope"))
    with pytest.raises(DbtCloudError, match=re.escape(says)):
        client.trigger_run(5, {"cause": "x"})


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"detail": "State aware orchestration is not available for CI or Merge jobs"}, ": State aware orchestration"),
        (
            {"status": {"code": 400, "user_message": "Invalid."}, "data": {"id": "The provided id does not match."},
             "extra": {}, "error_code": None},
            ": Invalid. (id: The provided id does not match.)",
        ),
        ({"status": {"user_message": "Bad"}, "data": {"name": ["This field is required."]}}, ": Bad (name: This field"),
        ({"status": {"user_message": ""}, "data": ["first", "second"]}, ": first; second"),
        (["State aware orchestration is not available"], ": State aware orchestration is not available"),
        ({"status": {"user_message": "Bad"}, "data": "plain words"}, ": Bad (plain words)"),
        ({"detail": {"reason": "odd"}}, ": reason: odd"),
        ([1, 2], ": 1; 2"),
        ({"status": "x"}, ". To fix"),
    ],
)  # fmt: skip
def test_dbt_clouds_words_are_kept_whatever_the_bodys_shape(
    api: respx.MockRouter, client: DbtCloudClient, body: Any, said: str
) -> None:
    api.post("/jobs/").respond(405, json=body)
    with pytest.raises(DbtCloudError) as raised:
        client.create_job({"name": "J"})
    assert f"dbt Cloud answered 405 to create a clone job at https://cloud.getdbt.com{said}" in raised.value.message


def test_a_401_from_the_legacy_host_says_first_that_the_account_moved(
    api: respx.MockRouter, client: DbtCloudClient
) -> None:
    api.get("/jobs/5/").respond(401, json=failure(401, "Invalid token"))
    with pytest.raises(DbtCloudError) as raised:
        client.get_job(5)
    fix = raised.value.message.split("To fix: ", 1)[1]
    assert fix.startswith("the account has probably moved to its own access URL")
    assert "Account settings" in fix and "valid, unexpired token" in fix


def test_a_401_from_another_host_does_not_say_it_moved() -> None:
    with respx.mock(base_url="https://emea.dbt.com/api/v2/accounts/1", assert_all_mocked=True) as api:
        api.get("/jobs/5/").respond(401, json=failure(401, "Invalid token"))
        with pytest.raises(DbtCloudError) as raised:
            DbtCloudClient("https://emea.dbt.com", TOKEN, ACCOUNT, sleep=lambda _s: None).get_job(5)
    assert "moved" not in raised.value.message


@pytest.mark.parametrize(
    ("location", "says"),
    [
        (
            "https://ab123.us1.dbt.com/api/v2/accounts/1/jobs/5/",
            "redirecting to https://ab123.us1.dbt.com;.*To fix: set dbt-cloud-host to https://ab123.us1.dbt.com\\.",
        ),
        ("http://ab123.us1.dbt.com/x", "redirecting to http://ab123.us1.dbt.com;.*no token is sent over http"),
        ("/api/v2/accounts/1/jobs/5", "redirecting to /api/v2/accounts/1/jobs/5 on the same host"),
        ("", "redirecting without saying where"),
    ],
)
def test_a_redirect_is_never_followed_and_names_where_it_points(
    api: respx.MockRouter, client: DbtCloudClient, location: str, says: str
) -> None:
    route = api.get("/jobs/5/").respond(301, headers={"Location": location} if location else {})
    with pytest.raises(DbtCloudError, match=says) as raised:
        client.get_job(5)
    assert route.call_count == 1
    assert raised.value.status_code == 301
    assert "does not follow redirects with the token" in raised.value.message


def test_field_errors_are_shown(api: respx.MockRouter, client: DbtCloudClient) -> None:
    api.post(f"/jobs/{JOB}/run/").respond(400, json=failure(400, "Invalid", {"github_pull_request_id": ["int"]}))
    with pytest.raises(DbtCloudError, match=r"Invalid \(github_pull_request_id: int\)"):
        client.trigger_run(JOB, BODY)


def test_non_json_success_is_an_error(api: respx.MockRouter, client: DbtCloudClient) -> None:
    api.get("/").respond(200, text="<html>login</html>")
    with pytest.raises(DbtCloudError, match="not JSON"):
        client.get_account()
    api.get("/jobs/1/").respond(200, json={"hello": 1})
    with pytest.raises(DbtCloudError, match="had no data"):
        client.get_job(1)


def test_trigger_sends_json_and_returns_the_run(api: respx.MockRouter, client: DbtCloudClient) -> None:
    route = api.post(f"/jobs/{JOB}/run/").respond(json=envelope(run(11, status=1, pr=7, sha=SHA_A)))
    assert client.trigger_run(JOB, BODY).id == 11
    assert json.loads(route.calls.last.request.content) == BODY


@pytest.mark.parametrize("failure_kind", [httpx.ReadTimeout("t"), httpx.RemoteProtocolError("dropped"), 500])
def test_ambiguous_trigger_is_checked_before_sending_again(
    api: respx.MockRouter, client: DbtCloudClient, failure_kind: Exception | int
) -> None:
    trigger = api.post(f"/jobs/{JOB}/run/")
    if isinstance(failure_kind, int):
        trigger.respond(failure_kind)
    else:
        trigger.mock(side_effect=failure_kind)
    landed = run(12, status=1, pr=7, sha=SHA_A)
    landed["trigger"]["cause"] = "c"
    listed = api.get("/runs/").respond(json=envelope([run(13, status=3, pr=8, sha=SHA_A), landed]))
    assert client.trigger_run(JOB, BODY).id == 12
    assert trigger.call_count == 1
    assert listed.calls.last.request.url.params["job_definition_id"] == str(JOB)


def test_ambiguous_trigger_is_resent_only_when_no_run_landed(
    api: respx.MockRouter, client: DbtCloudClient, sleeps: Sleeps
) -> None:
    trigger = api.post(f"/jobs/{JOB}/run/")
    trigger.side_effect = [httpx.ReadTimeout("t"), httpx.Response(200, json=envelope(run(14, status=1)))]
    api.get("/runs/").respond(json=envelope([]))
    assert client.trigger_run(JOB, BODY).id == 14
    assert trigger.call_count == 2
    assert sleeps == [2.0]


def test_trigger_gives_up_after_repeated_ambiguous_failures(api: respx.MockRouter, client: DbtCloudClient) -> None:
    trigger = api.post(f"/jobs/{JOB}/run/").respond(502)
    api.get("/runs/").respond(json=envelope([]))
    with pytest.raises(DbtCloudError, match="Could not trigger job 73797: 3 attempts failed"):
        client.trigger_run(JOB, BODY)
    assert trigger.call_count == 3


def test_trigger_retries_what_never_reached_dbt_cloud(api: respx.MockRouter, client: DbtCloudClient) -> None:
    trigger = api.post(f"/jobs/{JOB}/run/")
    trigger.side_effect = [
        httpx.ConnectError("refused"),
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(200, json=envelope(run(15, status=1))),
    ]
    listed = api.get("/runs/")
    assert client.trigger_run(JOB, BODY).id == 15
    assert trigger.call_count == 3
    assert listed.call_count == 0


def test_create_job_after_an_ambiguous_failure_finds_the_job(api: respx.MockRouter, client: DbtCloudClient) -> None:
    create = api.post("/jobs/").mock(side_effect=httpx.ReadTimeout("t"))
    name = "CI [autoscale 73797 PR #7]"
    api.get("/jobs/").respond(json=envelope([job(90, name=name + "1"), job(91, name=name)]))
    assert client.create_job({"name": name}).id == 91
    assert create.call_count == 1


def test_create_job_gives_up(api: respx.MockRouter, client: DbtCloudClient) -> None:
    create = api.post("/jobs/").respond(500)
    api.get("/jobs/").respond(json=envelope([]))
    with pytest.raises(DbtCloudError, match="Could not create the clone job: 3 attempts failed"):
        client.create_job({"name": "x"})
    assert create.call_count == 3


def test_delete_job_is_idempotent(api: respx.MockRouter, client: DbtCloudClient) -> None:
    api.delete("/jobs/90/").respond(204)
    api.delete("/jobs/89/").respond(json=envelope({**job(89), "state": 2}))  # a soft delete answers the job
    api.delete("/jobs/91/").respond(404, json=failure(404, "Not found"))
    api.get("/jobs/91/").respond(404, json=failure(404, "Not found"))  # neither deleted nor there: ambiguous
    api.delete("/jobs/93/").respond(404, json=failure(404, "Not found"))
    api.get("/jobs/93/").respond(json=envelope({**job(93), "state": 2}))  # deleted, and still readable
    api.delete("/jobs/92/").respond(403, json=failure(403, "Forbidden"))
    assert client.delete_job(90) is True
    assert client.delete_job(89) is True
    with pytest.raises(DbtCloudError, match="cannot be told whether the job is gone or the token may not see it"):
        client.delete_job(91)
    assert client.delete_job(93) is False
    with pytest.raises(DbtCloudError, match="403"):
        client.delete_job(92)


def test_a_404_for_a_job_that_is_still_there_is_a_missing_permission(
    api: respx.MockRouter, client: DbtCloudClient
) -> None:
    refusal = "The requested resource was not found. Please check that you have the proper permissions."
    api.delete("/jobs/94/").respond(404, json=failure(404, refusal))
    api.get("/jobs/94/").respond(json=envelope({**job(94), "state": 1}))
    with pytest.raises(DbtCloudError) as raised:
        client.delete_job(94)
    message = raised.value.message
    said = refusal.rstrip(".")
    assert message.startswith(f"dbt Cloud answered 404 to delete job 94 ({said}), yet job 94 is still there")
    assert "Job Admin" in message


def test_cancel_and_update(api: respx.MockRouter, client: DbtCloudClient) -> None:
    api.post("/runs/5/cancel/").respond(json=envelope(run(5, status=30)))
    update = api.post("/jobs/90/").respond(json=envelope(job(90)))
    assert client.cancel_run(5).status == 30
    assert client.update_job(90, {"name": "n"}).id == 90
    # The live API refuses an update whose body lacks the path's id.
    assert json.loads(update.calls.last.request.content) == {"name": "n", "id": 90}


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_retries_stop_at_the_overall_deadline(api: respx.MockRouter, sleeps: Sleeps) -> None:
    now = [100.0]

    def clock() -> float:
        return now[0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client = DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=sleep, max_attempts=50, deadline=110.0, clock=clock)
    route = api.get("/").respond(429, headers={"Retry-After": "4"})
    with pytest.raises(DbtCloudError, match="429"):
        client.get_account()
    assert sleeps == [4.0, 4.0]  # a third wait would end past the deadline
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda c: c.create_job({"name": "x"}), "Job Admin permission set.*only Job Runner"),
        (lambda c: c.delete_job(9), "Job Admin permission set"),
        (lambda c: c.trigger_run(JOB, BODY), "permission to run jobs"),
        (lambda c: c.cancel_run(3), "permission to run jobs"),
    ],
)
def test_a_refused_write_names_the_permission_it_needs(
    api: respx.MockRouter, client: DbtCloudClient, call: Any, says: str
) -> None:
    api.route(method__in=["POST", "DELETE"]).respond(403, json=failure(403, "Forbidden"))
    with pytest.raises(DbtCloudError, match=says):
        call(client)


def test_one_page_of_recent_runs_is_one_request_however_many_there_are(
    api: respx.MockRouter, client: DbtCloudClient
) -> None:
    route = api.get("/runs/").respond(json=envelope([run(i) for i in range(300, 200, -1)], total=2_500))
    assert len(client.recent_run_rows(job_id=JOB, id_gt=7)) == 100
    assert route.call_count == 1
    params = route.calls.last.request.url.params
    assert (params["job_definition_id"], params["id__gt"], params["order_by"], params["offset"]) == (
        str(JOB), "7", "-id", "0"
    )  # fmt: skip


def test_a_list_answer_that_is_not_a_list_is_an_error(api: respx.MockRouter, client: DbtCloudClient) -> None:
    api.get("/runs/").respond(json=envelope({"runs": []}))
    with pytest.raises(DbtCloudError, match="was not a list"):
        client.recent_run_rows(job_id=JOB)


def test_a_clone_is_created_with_the_null_id_the_live_api_requires(
    api: respx.MockRouter, client: DbtCloudClient
) -> None:
    create = api.post("/jobs/").respond(json=envelope(job(90)))
    client.create_job({"name": "n"})
    assert json.loads(create.calls.last.request.content) == {"name": "n", "id": None}


def test_a_deleted_clone_is_not_listed(api: respx.MockRouter, client: DbtCloudClient) -> None:
    api.get("/jobs/").respond(json=envelope([job(90, name="a"), {**job(91, name="b"), "state": 2}]))
    assert [found.id for found in client.list_jobs("x")] == [90]


def test_an_unknown_account_points_at_the_host(api: respx.MockRouter, client: DbtCloudClient) -> None:
    api.get("/runs/").respond(404, json=failure(404, "Not found"))
    with pytest.raises(DbtCloudError, match=r"check account-id \(1\).*cell host"):
        client.active_run_rows()


def test_requests_after_an_interrupted_one_use_a_fresh_connection_pool() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise Aborted(2)  # the signal lands while the poll is in flight
        return httpx.Response(200, json=envelope(run(9, status=30)))

    client = DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None, transport=httpx.MockTransport(handler))
    interrupted = client._transport._http
    with pytest.raises(Aborted):
        client.get_run(9)
    interrupted.close()  # stands for a pool the signal left half-updated: it must not serve the cleanup
    assert client.cancel_run(9).status == 30
    assert calls[-1].endswith("/runs/9/cancel/")


def test_each_retry_says_what_failed_and_when_the_next_try_is(api: respx.MockRouter) -> None:
    said: list[str] = []
    client = DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None, max_attempts=3, on_retry=said.append)
    api.get("/runs/7/").mock(
        side_effect=[httpx.Response(503), httpx.ConnectTimeout("slow"), httpx.Response(200, json=envelope(run(7)))]
    )
    assert client.get_run(7).id == 7
    assert len(said) == 2
    assert said[0].startswith(f"dbt Cloud at {HOST}: GET /runs/7/ failed (HTTP 503); trying again in ")
    assert said[0].endswith("s (attempt 2 of 3).")
    assert "failed (ConnectTimeout)" in said[1]
    assert TOKEN not in " ".join(said)


V3 = "https://cloud.getdbt.com/api/v3/accounts/1/projects/10/environment-variables/"


def test_job_overrides_are_read_by_name_with_secrets_marked() -> None:
    data = {
        "DBT_TARGET": {"project": {"id": 1, "value": "prod"}, "job": {"id": 2, "value": "ci"}},
        "DBT_PROJECT_ONLY": {"project": {"id": 3, "value": "x"}},
        "DBT_ENV_SECRET_KEY": {"job": {"id": 4, "value": "**********"}},
        "DBT_NULL_SCOPES": {"project": None, "job": None},
    }
    with respx.mock(assert_all_mocked=True) as api:
        read = api.get(f"{V3}job/", params={"job_definition_id": "5"}).respond(json={"status": {}, "data": data})
        found = DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None).job_overrides(10, 5)
    assert read.call_count == 1
    assert {name: (o.id, o.value, o.secret) for name, o in found.items()} == {
        "DBT_TARGET": (2, "ci", False),
        "DBT_ENV_SECRET_KEY": (4, "**********", True),
    }


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ([{"name": "DBT_X"}], "was not a mapping of variables"),
        (None, "was not a mapping of variables"),
        ({"DBT_X": {"job": {"id": 2, "value": None}}}, "gave override DBT_X no value"),
    ],
)
def test_an_overrides_answer_the_action_cannot_read_is_an_error(data: Any, says: str) -> None:
    with respx.mock(assert_all_mocked=True) as api:
        api.get(f"{V3}job/").respond(json={"status": {}, "data": data})
        with pytest.raises(DbtCloudError, match=says):
            DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None).job_overrides(10, 5)


def test_a_new_override_is_created_once_even_after_an_ambiguous_failure() -> None:
    with respx.mock(assert_all_mocked=True) as api:
        create = api.post(V3).mock(side_effect=[httpx.Response(502), httpx.Response(200, json={"data": {"id": 9}})])
        api.get(f"{V3}job/").respond(json={"status": {}, "data": {"DBT_X": {"job": {"id": 9, "value": "1"}}}})
        DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None).set_job_override(
            10, 77, "DBT_X", "1", override_id=None
        )
    assert create.call_count == 1  # the read showed it had landed: not sent twice
    body = json.loads(create.calls.last.request.content)
    assert body == {
        "account_id": ACCOUNT,
        "project_id": 10,
        "name": "DBT_X",
        "type": "job",
        "job_definition_id": 77,
        "raw_value": "1",
    }


def test_an_existing_override_is_set_by_id_and_deleted_by_id() -> None:
    with respx.mock(assert_all_mocked=True) as api:
        update = api.post(f"{V3}9/").respond(json={"data": {"id": 9}})
        delete = api.delete(f"{V3}9/").respond(204)
        client = DbtCloudClient(HOST, TOKEN, ACCOUNT, sleep=lambda _s: None)
        client.set_job_override(10, 77, "DBT_X", "2", override_id=9)
        client.delete_job_override(10, 9)
    assert json.loads(update.calls.last.request.content)["raw_value"] == "2"
    assert delete.call_count == 1


def _chunks(*parts: bytes, sent: list[bytes] | None = None) -> httpx.SyncByteStream:
    """A body that arrives in pieces and declares no length, as a chunked answer does; `sent` records each piece."""

    class Chunked(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            for part in parts:
                if sent is not None:
                    sent.append(part)
                yield part

    return Chunked()


def test_an_artifact_within_its_limit_is_read_whole(api: respx.MockRouter, client: DbtCloudClient) -> None:
    api.get("/runs/5/artifacts/manifest.json").respond(200, content=b'{"nodes": {}}')
    assert client.get_artifact_within(5, "manifest.json", 13) == b'{"nodes": {}}'


def test_an_artifact_over_its_declared_length_is_not_read(api: respx.MockRouter, client: DbtCloudClient) -> None:
    read: list[bytes] = []

    class Counted(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            read.append(b"x" * 100)
            yield read[-1]

    api.get("/runs/5/artifacts/manifest.json").respond(200, headers={"Content-Length": "100"}, stream=Counted())
    assert client.get_artifact_within(5, "manifest.json", 99) is None
    assert read == []


def test_a_chunked_artifact_is_cut_off_once_past_its_limit(api: respx.MockRouter, client: DbtCloudClient) -> None:
    sent: list[bytes] = []
    body = _chunks(b"a" * 60, b"b" * 60, b"c" * 60, sent=sent)
    api.get("/runs/5/artifacts/manifest.json").respond(200, stream=body)
    assert client.get_artifact_within(5, "manifest.json", 100) is None
    assert len(sent) == 2  # the third piece was never asked for
    api.get("/runs/6/artifacts/manifest.json").respond(200, stream=_chunks(b"a" * 60, b"b" * 40))
    assert client.get_artifact_within(6, "manifest.json", 100) == b"a" * 60 + b"b" * 40


def test_a_missing_artifact_read_within_a_limit_is_dbt_clouds_error(
    api: respx.MockRouter, client: DbtCloudClient
) -> None:
    api.get("/runs/5/artifacts/manifest.json").respond(404, json=failure(404, "No such artifact."))
    with pytest.raises(DbtCloudError, match=r"answered 404 for artifact manifest.json of run 5: No such artifact"):
        client.get_artifact_within(5, "manifest.json", 100, step=2)


def test_an_artifact_read_within_a_limit_is_retried_after_a_server_error(
    api: respx.MockRouter, client: DbtCloudClient, sleeps: Sleeps
) -> None:
    route = api.get("/runs/5/artifacts/run_results.json")
    route.side_effect = [httpx.Response(502, text="bad gateway"), httpx.Response(200, content=b"{}")]
    assert client.get_artifact_within(5, "run_results.json", 100) == b"{}"
    assert len(sleeps) == 1


def test_an_artifact_that_arrives_too_slowly_is_given_up(api: respx.MockRouter, client: DbtCloudClient) -> None:
    sent: list[bytes] = []
    api.get("/runs/5/artifacts/manifest.json").respond(200, stream=_chunks(b"a", b"b", b"c", sent=sent))
    assert client.get_artifact_within(5, "manifest.json", 100, seconds=-1) is None
    assert len(sent) == 1
