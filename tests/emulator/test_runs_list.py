"""Listing runs: envelope, pagination, filters, include_related and ordering."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from dbt_cloud_emulator import Emulator, EmulatorConfig

from .helpers import admin, client, trigger


@pytest.fixture(scope="module")
def busy() -> Iterator[tuple[Emulator, list[int], list[int]]]:
    """130 runs of the CI job and 5 of another, on a frozen clock; returns (emulator, ci ids, other ids)."""
    config = EmulatorConfig(speed=0, start_seconds=10, run_seconds=60, run_slots=2)
    with Emulator(config) as emu, client(emu) as api:
        other = emu.seed_job("Other", project_id=42)
        other_ids = [trigger(api, other)["id"] for _ in range(5)]
        ci_ids = [trigger(api, emu.ci_job_id or 0)["id"] for _ in range(130)]
        emu.advance(70 * 3)  # three CI runs and three others finish, then one of each is starting
        yield emu, ci_ids, other_ids


@pytest.fixture
def bapi(busy: tuple[Emulator, list[int], list[int]]) -> Iterator[httpx.Client]:
    """Admin client for `busy`."""
    with client(busy[0]) as api:
        yield api


def ids(response: httpx.Response) -> list[int]:
    """The run ids of a list answer."""
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["data"]]


def test_pagination_envelope(busy: tuple[Emulator, list[int], list[int]], bapi: httpx.Client) -> None:
    emu, ci_ids, other_ids = busy
    every = sorted(ci_ids + other_ids)
    body = bapi.get("/runs/").json()
    assert body["status"] == {"code": 200, "is_success": True, "user_message": "Success!", "developer_message": ""}
    assert [r["id"] for r in body["data"]] == every[:100]
    assert body["extra"] == {
        "filters": {"account_id": emu.account_id, "limit": 100, "offset": 0},
        "order_by": "id",
        "pagination": {"count": 100, "total_count": 135},
    }
    second = bapi.get("/runs/", params={"offset": 100}).json()
    assert [r["id"] for r in second["data"]] == every[100:]
    assert second["extra"]["pagination"] == {"count": 35, "total_count": 135}
    assert ids(bapi.get("/runs/", params={"limit": 10, "offset": 130})) == every[130:]
    assert ids(bapi.get("/runs/", params={"offset": 500})) == []


def test_job_and_project_filters(busy: tuple[Emulator, list[int], list[int]], bapi: httpx.Client) -> None:
    emu, ci_ids, other_ids = busy
    response = bapi.get("/runs/", params={"job_definition_id": emu.ci_job_id, "limit": 5})
    assert ids(response) == ci_ids[:5]
    assert response.json()["extra"]["filters"]["job_definition_id"] == emu.ci_job_id
    assert response.json()["extra"]["pagination"]["total_count"] == 130
    assert ids(bapi.get("/runs/", params={"project_id": 42})) == other_ids
    assert ids(bapi.get("/runs/", params={"environment_id": emu.environment_id, "limit": 1})) == other_ids[:1]


@pytest.mark.parametrize(
    "query",
    [
        "status__in=[1,2,3]",
        "status__in=%5B1%2C2%2C3%5D",
        "status__in=1,2,3",
        "status__in=1&status__in=2&status__in=3",
        "status__in=[1, 2, 3]",
        'status__in=["1","2","3"]',
    ],
)
def test_status_in_encodings(busy: tuple[Emulator, list[int], list[int]], bapi: httpx.Client, query: str) -> None:
    _, ci_ids, other_ids = busy
    response = bapi.get(f"/runs/?{query}&offset=29")
    assert ids(response) == sorted(ci_ids[3:] + other_ids[3:])[29:]
    assert response.json()["extra"]["filters"]["status__in"] == [1, 2, 3]
    assert response.json()["extra"]["pagination"] == {"count": 100, "total_count": 129}


def test_status_filters(busy: tuple[Emulator, list[int], list[int]], bapi: httpx.Client) -> None:
    _, ci_ids, other_ids = busy
    assert ids(bapi.get("/runs/", params={"status": 10})) == sorted(ci_ids[:3] + other_ids[:3])
    assert ids(bapi.get("/runs/", params={"status": 2})) == sorted([ci_ids[3], other_ids[3]])
    assert ids(bapi.get("/runs/", params={"status__in": "[10]", "job_definition_id": 0})) == []
    assert ids(bapi.get("/runs/", params={"status__in": "[]"})) == []


def test_id_gt(busy: tuple[Emulator, list[int], list[int]], bapi: httpx.Client) -> None:
    _, ci_ids, _ = busy
    response = bapi.get("/runs/", params={"id__gt": ci_ids[-3]})
    assert ids(response) == ci_ids[-2:]
    assert response.json()["extra"]["filters"]["id__gt"] == ci_ids[-3]


def test_ordering(busy: tuple[Emulator, list[int], list[int]], bapi: httpx.Client) -> None:
    _, ci_ids, other_ids = busy
    every = sorted(ci_ids + other_ids)
    assert ids(bapi.get("/runs/", params={"order_by": "-id", "limit": 3})) == every[::-1][:3]
    assert bapi.get("/runs/", params={"order_by": "-id"}).json()["extra"]["order_by"] == "-id"
    assert ids(bapi.get("/runs/", params={"order_by": "created_at", "limit": 3})) == every[:3]
    assert ids(bapi.get("/runs/", params={"order_by": "-created_at", "limit": 3})) == every[::-1][:3]
    finished = sorted(ci_ids[:3] + other_ids[:3])
    by_finish = ids(bapi.get("/runs/", params={"order_by": "finished_at", "limit": 6}))
    assert sorted(by_finish) == finished  # unfinished runs sort last
    assert by_finish[:2] == [other_ids[0], ci_ids[0]]  # both finished at the same moment; ties go by id
    newest_first = ids(bapi.get("/runs/", params={"order_by": "-finished_at", "offset": 129}))
    assert sorted(newest_first) == finished


@pytest.mark.parametrize("value", ['["trigger","job"]', "trigger,job", "[trigger, job]"])
def test_include_related(busy: tuple[Emulator, list[int], list[int]], bapi: httpx.Client, value: str) -> None:
    emu = busy[0]
    data = bapi.get("/runs/", params={"include_related": value, "limit": 1}).json()["data"][0]
    assert data["trigger"]["cause"] == "test"
    assert data["job"]["name"] == "Other"
    single = bapi.get(f"/runs/{data['id']}/", params={"include_related": value}).json()["data"]
    assert single["job"]["id"] == data["job"]["id"]
    assert emu.account_id == single["account_id"]


def test_include_related_repeated_and_absent(bapi: httpx.Client) -> None:
    plain = bapi.get("/runs/", params={"limit": 1}).json()["data"][0]
    assert "trigger" not in plain
    assert "job" not in plain
    only_trigger = bapi.get("/runs/?include_related=trigger&limit=1").json()["data"][0]
    assert "trigger" in only_trigger
    assert "job" not in only_trigger
    both = bapi.get("/runs/?include_related=trigger&include_related=job&limit=1").json()["data"][0]
    assert {"trigger", "job"} <= set(both)


def test_offset_pages_repeat_a_row_when_other_teams_runs_land_between_reads(
    frozen: Emulator, fapi: httpx.Client
) -> None:
    busy_job = frozen.seed_job("Their busy job")
    frozen.seed_runs(busy_job, 10)
    frozen.churn(busy_job)  # one new run before each list answer
    page: dict[str, str | int] = {"order_by": "-id", "limit": 5}
    first = ids(fapi.get("/runs/", params=page))
    second = ids(fapi.get("/runs/", params={**page, "offset": 5}))
    assert second[0] == first[-1]  # the row repeats: de-duplicate by id
    assert len({*first, *second}) == 9
    newest = fapi.get("/runs/", params={"order_by": "-id", "limit": 1, "include_related": "trigger"}).json()
    assert newest["data"][0]["trigger"]["cause"] == "Triggered by another team"
    assert newest["extra"]["pagination"]["total_count"] == 13
    frozen.churn(busy_job, runs_per_read=3)
    first = ids(fapi.get("/runs/", params=page))
    second = ids(fapi.get("/runs/", params={**page, "offset": 5}))
    assert second[:3] == first[-3:]
    frozen.churn(None)
    first = ids(fapi.get("/runs/", params=page))
    assert ids(fapi.get("/runs/", params={**page, "offset": 5}))[0] < first[-1]  # a still list pages cleanly
    assert len(frozen.runs()) == 19
    assert fapi.get(f"/runs/{first[0]}/").status_code == 200 and len(frozen.runs()) == 19  # only lists churn


def test_churn_stops_quietly_when_its_job_is_gone_and_checks_its_arguments(
    frozen: Emulator, fapi: httpx.Client
) -> None:
    busy_job = frozen.seed_job("Their busy job")
    frozen.churn(busy_job, 2)
    assert len(ids(fapi.get("/runs/"))) == 2
    fapi.delete(f"/jobs/{busy_job}/")
    assert len(ids(fapi.get("/runs/"))) == 2  # nobody triggers a deleted job; the list still answers
    for job_id in (busy_job, 424242):
        with pytest.raises(ValueError, match="not a live job"):
            frozen.churn(job_id)
    for count in (0, True):
        with pytest.raises(ValueError, match="runs_per_read"):
            frozen.churn(frozen.ci_job_id, count)
    assert admin(frozen, "POST", "churn", {"job_id": frozen.ci_job_id, "runs_per_read": 4}).status_code == 200
    assert len(ids(fapi.get("/runs/"))) == 6
    assert admin(frozen, "POST", "churn", {"job_id": None}).status_code == 200
    assert len(ids(fapi.get("/runs/"))) == 6
    assert admin(frozen, "POST", "churn", {"job_id": 424242}).status_code == 400


def test_seed_runs_queues_thousands_of_runs_at_once(frozen: Emulator, fapi: httpx.Client) -> None:
    job = frozen.ci_job_id or 0
    seeded = frozen.seed_runs(job, 3000, git_sha="abc", github_pull_request_id=7)
    assert len(seeded) == 3000 and seeded == sorted(seeded) and len(set(seeded)) == 3000
    response = fapi.get("/runs/", params={"job_definition_id": job, "limit": 1, "include_related": "trigger"})
    assert response.json()["extra"]["pagination"]["total_count"] == 3000
    first = response.json()["data"][0]
    assert first["id"] == seeded[0] and first["status"] == 2  # the first starts at once, as a triggered one would
    assert (first["trigger"]["cause"], first["trigger"]["git_sha"], first["trigger"]["github_pull_request_id"]) == (
        "Seeded",
        "abc",
        7,
    )
    assert ids(fapi.get("/runs/", params={"status": 1, "order_by": "-id", "limit": 1})) == [seeded[-1]]
    assert frozen.seed_runs(job, 0) == []
    via_admin = admin(frozen, "POST", "runs", {"job_id": job, "count": 2, "cause": "From elsewhere"})
    assert via_admin.status_code == 200 and len(via_admin.json()["data"]["ids"]) == 2


def test_seed_runs_refuses_what_a_trigger_would(frozen: Emulator) -> None:
    job = frozen.ci_job_id or 0
    with pytest.raises(ValueError, match="cannot trigger job 424242"):
        frozen.seed_runs(424242, 1)
    with pytest.raises(ValueError, match="count"):
        frozen.seed_runs(job, -1)
    with pytest.raises(ValueError, match="github_pull_request_id"):
        frozen.seed_runs(job, 1, github_pull_request_id="7")
    frozen.set_account(locked=True)
    with pytest.raises(ValueError, match="locked"):
        frozen.seed_runs(job, 1)
    assert frozen.runs() == []
