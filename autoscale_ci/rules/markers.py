"""The text conventions steps read from each other in dbt Cloud, each written and parsed here; pure, no imports
from the package.

Concurrent steps coordinate only through what they leave in dbt Cloud: a clone's name says whose clone it is and for
which pull request, a run's cause says when its commit was pushed (or that it drops a closed PR's schema), and a
run's trigger names the pull request in its git provider's field. A change of wording here is a change of protocol:
steps of an older version must still be understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

# --- clone names: `<job name> [autoscale <job id> PR #<n> <nonce>]` ---------------------------------------------
_CLONE = re.compile(r" \[autoscale (\d+) PR #(\d+)(?: [0-9a-f]{1,16})?\]$")


def clone_marker(job_id: int, pr_number: int, nonce: str = "") -> str:
    """The suffix that names a job as a clone of `job_id` made for a pull request; the nonce makes each clone's
    name its own, so a clone found by name after a lost answer is surely the one this step created."""
    return f" [autoscale {job_id} PR #{pr_number}{' ' + nonce if nonce else ''}]"


def clone_marker_prefix(job_id: int) -> str:
    """The text every clone of `job_id` has in its name, for searching."""
    return f"[autoscale {job_id} PR #"


def clone_source(name: str | None) -> int | None:
    """The id of the job this one is a clone of, or None for a job that is not a clone."""
    found = _CLONE.search(name or "")
    return int(found.group(1)) if found else None


def clone_pr(name: str | None) -> int | None:
    """The pull request a clone was last made or updated for."""
    found = _CLONE.search(name or "")
    return int(found.group(2)) if found else None


def base_name(name: str) -> str:
    """A job's name without a clone marker."""
    return _CLONE.sub("", name)


# --- run causes: `... [pushed 2026-01-01T12:00:00Z]` or `... [pipeline 4711]`, and the schema drop's own cause ---
# A push's or a queue entry's time: ` [pushed 2026-12-07T10:00:00Z]`, ` [queued ...]`.
_TIMED = re.compile(r" \[(pushed|queued) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\]$")
_PIPELINE = re.compile(r" \[pipeline (\d{1,20})\]$")
_STAMP = "%Y-%m-%dT%H:%M:%SZ"
PUSHED, PIPELINE, ENTRY = "pushed", "pipeline", "queue entry"


@dataclass(frozen=True)
class PushOrder:
    """Where a commit stands among its pull request's pushes, as the CI vouches for it: when GitHub's event says the
    pull request was pushed (or the pushed-at input does), or GitLab's pipeline id (each merge request pipeline is
    made for the head of its moment, and a retried job keeps its pipeline's id). Never a commit's own date: a
    force-push back to an older commit makes it the newest push. A merge queue entry is ordered among its pull
    request's entries by its commit's date, which GitHub's queue sets when it makes the entry; an entry and a push
    are of two kinds. Orders of two kinds are never compared."""

    kind: str
    value: int

    @classmethod
    def pushed(cls, when: datetime) -> PushOrder:
        """The order of a push made at `when` (to the second)."""
        return cls(PUSHED, int(when.astimezone(UTC).timestamp()))

    @classmethod
    def queued(cls, when: datetime) -> PushOrder:
        """The order of a merge queue entry made at `when` (to the second)."""
        return cls(ENTRY, int(when.astimezone(UTC).timestamp()))

    @property
    def entry(self) -> bool:
        """Whether this orders a merge queue entry rather than a push."""
        return self.kind == ENTRY

    @classmethod
    def pipeline(cls, pipeline_id: int) -> PushOrder:
        """The order of GitLab's pipeline `pipeline_id`."""
        return cls(PIPELINE, pipeline_id)

    def after(self, other: PushOrder | None) -> bool:
        """Whether this push is known to come after `other` (False when they cannot be compared)."""
        return other is not None and other.kind == self.kind and self.value > other.value

    def marker(self) -> str:
        """The suffix of a run's cause that records this order."""
        if self.kind == PIPELINE:
            return f" [pipeline {self.value}]"
        stamp = datetime.fromtimestamp(self.value, UTC).strftime(_STAMP)
        return f" [queued {stamp}]" if self.kind == ENTRY else f" [pushed {stamp}]"


def push_marker(pushed_at: datetime) -> str:
    """The suffix of a run's cause that records when its commit was pushed."""
    return PushOrder.pushed(pushed_at).marker()


def push_order(cause: str | None) -> PushOrder | None:
    """Where a run's commit stands among its pull request's pushes, from its cause; None for runs this action did not
    start, or started without an order it could vouch for."""
    timed = _TIMED.search(cause or "")
    if timed:
        when = datetime.strptime(timed.group(2), _STAMP).replace(tzinfo=UTC)
        return PushOrder.queued(when) if timed.group(1) == "queued" else PushOrder.pushed(when)
    found = _PIPELINE.search(cause or "")
    return PushOrder.pipeline(int(found.group(1))) if found else None


def drop_cause(pr: int) -> str:
    """The cause of the run that drops a closed PR's schema; other steps recognise the closing by it."""
    return f"Autoscaling Slim CI: drop the schema of closed PR #{pr}"


# --- schemas ----------------------------------------------------------------------------------------------------
SCHEMA_PREFIX = "dbt_cloud_pr_"


def pr_schema(job_id: int, pr_number: int) -> str:
    """The schema dbt Cloud's own CI would use for this job and pull request."""
    return f"{SCHEMA_PREFIX}{job_id}_{pr_number}"
