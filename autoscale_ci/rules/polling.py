"""When to check a run's status next: sparse while it cannot be done, every second or two around the end
predicted from the job's recent runs. Pure functions."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

FAST = 1.5  # the shortest wait between checks, reached at the predicted end
SPREAD = 6.0  # wait a sixth of the time to the predicted end (or since it, once overrun)
UNKNOWN_MIN = 5.0  # without a prediction, never check more often than this
QUEUED_MIN = 2.0  # a queue can end at any moment: look again this soon at first, then back off


def expected_duration(durations: Iterable[float]) -> float | None:
    """The median run time of the job's recent finished runs, or None without history."""
    usable = [seconds for seconds in durations if seconds > 0]
    return statistics.median(usable) if usable else None


def next_check(running_for: float | None, expected: float | None, interval: float, waited: float = 0.0) -> float:
    """Seconds until the next check of a run that has been running `running_for` seconds (None: not started yet,
    after the step has waited `waited` seconds for it).

    `interval` (the poll-interval input) bounds every wait.
    """
    if running_for is None:
        # Queued or starting: it may start, and a short run end, at any moment. Look again soon, and back off the
        # longer the queue lasts, so a long queue costs a few requests a minute.
        return min(interval, max(QUEUED_MIN, waited / 4))
    if expected is None:
        # No history: check more sparsely the longer the run has gone, as its end gets no nearer to predict.
        return min(interval, max(UNKNOWN_MIN, running_for / 4))
    # Checks get denser towards the predicted end and thin out again after it, so a run that ends near its
    # prediction is noticed within seconds while the whole wait stays at a few requests a minute.
    return min(interval, max(FAST, abs(expected - running_for) / SPREAD))


def parse_duration(value: str | None) -> float | None:
    """Seconds from dbt Cloud's `HH:MM:SS` (or `D days, HH:MM:SS`) duration."""
    if not value:
        return None
    days = 0
    text = value.strip()
    if "day" in text:
        head, _, text = text.partition(",")
        try:
            days = int(head.split()[0])
        except (ValueError, IndexError):
            return None
    parts = text.strip().split(":")
    if len(parts) != 3:
        return None
    try:
        hours, minutes, seconds = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError:
        return None
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


# While dbt Cloud has a bad minute, reads of a run thin out: an outage of any length costs a few requests a minute.
OUTAGE_MAX = 120.0
# Over dbt Cloud's rate limit every request is refused for five minutes, and this API promises no Retry-After.
COOLDOWN = 300.0


def weather_wait(interval: float, streak: int, status: int | None, retry_after: float | None) -> float:
    """Seconds until the next read of a run, after `streak` reads in a row that got no definite answer (`status`
    None: no answer at all): what dbt Cloud's Retry-After asks for, else a back-off from the poll-interval that
    doubles with each failure, toward the rate limit's cooldown after a 429."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), COOLDOWN)
    doubled = interval * 2.0 ** max(streak - 1, 0)
    if status == 429:
        return min(doubled * 4, COOLDOWN)
    return min(doubled, OUTAGE_MAX)
