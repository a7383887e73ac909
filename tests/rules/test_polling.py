from __future__ import annotations

from itertools import pairwise

import pytest

from autoscale_ci.rules.polling import (
    COOLDOWN,
    FAST,
    OUTAGE_MAX,
    expected_duration,
    next_check,
    parse_duration,
    weather_wait,
)


def schedule(run_seconds: float, expected: float | None, interval: float = 30.0) -> list[float]:
    """When the checks of a run of `run_seconds` fall, up to the first check after its end."""
    now, checks = 0.0, list[float]()
    while not checks or checks[-1] < run_seconds:
        now += next_check(now, expected, interval)
        checks.append(now)
    return checks


def test_history_gives_the_median() -> None:
    assert expected_duration([300.0, 310.0, 900.0]) == 310.0
    assert expected_duration([]) is None
    assert expected_duration([0.0, -1.0]) is None


def test_a_run_as_long_as_predicted_is_noticed_within_fast_checks_using_few_requests() -> None:
    checks = schedule(600.0, expected=600.0)
    assert checks[-1] - 600.0 <= FAST
    assert len(checks) / 10 <= 6  # requests a minute over the 10-minute run


def test_a_run_that_overruns_its_prediction_is_checked_ever_more_sparsely() -> None:
    checks = schedule(1200.0, expected=600.0)
    gaps = [b - a for a, b in pairwise(checks)]
    assert max(gaps[-3:]) == 30.0
    assert checks[-1] - 1200.0 <= 30.0
    assert len(checks) < 120


def test_without_history_checks_thin_out_with_the_running_time() -> None:
    assert next_check(0.0, None, 30.0) == 5.0
    assert next_check(60.0, None, 30.0) == 15.0
    assert next_check(600.0, None, 30.0) == 30.0


def test_no_wait_exceeds_the_interval() -> None:
    assert next_check(None, 600.0, 30.0, waited=1e6) == 30.0
    for running_for in (0.0, 100.0, 590.0, 600.0, 700.0, 5000.0):
        assert 0 < next_check(running_for, 600.0, 4.0) <= 4.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00:05", 5.0), ("01:02:03", 3723.0), ("2 days, 00:00:01", 172801.0), ("", None), (None, None), ("5m", None)],
)
def test_parse_duration(text: str | None, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_a_queued_run_is_looked_at_again_soon_and_less_often_the_longer_it_waits() -> None:
    assert next_check(None, None, 30.0) == 2.0  # the queue can end at any moment
    assert next_check(None, 600.0, 30.0, waited=20.0) == 5.0
    assert next_check(None, None, 30.0, waited=3600.0) == 30.0  # never past poll-interval
    assert next_check(None, None, 1.0) == 1.0
    # Ten minutes in the queue cost well under six requests a minute.
    waited, checks = 0.0, 0
    while waited < 600.0:
        waited += next_check(None, None, 30.0, waited)
        checks += 1
    assert checks / 10 < 6


def test_an_outage_thins_the_reads_out_to_a_few_a_minute() -> None:
    waits = [weather_wait(30.0, streak, 503, None) for streak in range(1, 6)]
    assert waits == [30.0, 60.0, 120.0, OUTAGE_MAX, OUTAGE_MAX]
    assert weather_wait(0.1, 1, None, None) == 0.1  # the pace is the poll-interval's: fast where it is short


def test_a_rate_limit_backs_off_toward_its_cooldown_and_a_retry_after_is_honoured() -> None:
    assert [weather_wait(30.0, streak, 429, None) for streak in (1, 2, 3)] == [120.0, 240.0, COOLDOWN]
    assert weather_wait(30.0, 1, 429, 7.0) == 7.0
    assert weather_wait(30.0, 9, 503, 10_000.0) == COOLDOWN
