"""Whether a failed run failed on weather, pure: a conservative table of the words warehouses, drivers and dbt Cloud
use for a dropped connection, an expired session or a service briefly unavailable; and whether a retried run kept
what the pull request's trigger set. When in doubt, a failure is not transient: a retry of a real failure costs a
whole run and hides nothing, but a red check on weather teaches people to ignore red checks."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from autoscale_ci.dbt_cloud.models import PR_FIELDS

# Each signature names where its words come from; a message matches one when any line of it does.
_TRANSIENT: tuple[tuple[str, str], ...] = (
    # libpq (Postgres, Redshift and every warehouse reached through it), in its own words.
    ("libpq", r"server closed the connection unexpectedly"),
    ("libpq", r"could not connect to server"),
    ("libpq", r"connection to server at .* failed: (connection refused|connection timed out|timeout expired)"),
    ("libpq", r"could not receive data from server"),
    ("libpq", r"SSL SYSCALL error: (EOF detected|Connection reset by peer)"),
    ("libpq", r"SSL connection has been closed unexpectedly"),
    # Postgres's own: an operator restarting the server, a server starting or stopping, all its slots taken.
    ("postgres", r"terminating connection due to administrator command"),
    ("postgres", r"the database system is (starting up|shutting down|in recovery mode)"),
    ("postgres", r"sorry, too many clients already|remaining connection slots are reserved"),
    # Sockets and HTTP clients of any driver.
    ("network", r"connection (was )?(refused|reset|aborted)( by peer)?"),
    ("network", r"(connection|read|connect) timed out|\bReadTimeout(Error)?\b|\bConnectTimeout(Error)?\b"),
    ("network", r"temporary failure in name resolution|network is unreachable|broken pipe"),
    ("network", r"remote end closed connection without response"),
    # psycopg2 on a connection the server or the network closed.
    ("psycopg2", r"connection already closed"),
    # Snowflake: an expired session token (390114), a session gone or expired (390111, 390112), the connector's
    # failure to reach Snowflake. Its "Failed to connect to DB" (250001) heads credential errors too: only the
    # network words after it count.
    ("snowflake", r"authentication token has expired|session no longer exists|your session has expired"),
    ("snowflake", r"could not connect to snowflake backend"),
    # BigQuery's errors it asks to retry: backendError, internalError, rateLimitExceeded (short-term quota).
    ("bigquery", r"\b(backendError|rateLimitExceeded)\b|exceeded rate limits"),
    ("bigquery", r"retrying may solve the problem|an internal error occurred and the request could not be completed"),
    # Databricks: a service briefly unavailable, and a session the SQL warehouse no longer knows.
    ("databricks", r"\bTEMPORARILY_UNAVAILABLE\b|invalid SessionHandle"),
    # Any service saying so in HTTP's words.
    ("http", r"\b(502 bad gateway|503 service unavailable|504 gateway time-?out)\b"),
    ("http", r"service (is )?(currently |temporarily )?unavailable|temporarily unavailable|please try again later"),
    # dbt Cloud's own: a run its infrastructure lost.
    ("dbt cloud", r"\binfrastructure (error|failure)\b"),
)
# Words of a failure in the project itself: a message with any of them is never retried, whatever else it says.
_REAL = re.compile(
    r"compilation error|parsing error|syntax error|does not exist|not.found|cannot be (found|resolved)|is ambiguous|"
    r"permission denied|insufficient privilege|not authorized|access denied|invalid identifier|division by zero|"
    r"duplicate key|unique constraint|out of memory|quotaExceeded|daily limit|incorrect username or password|"
    r"password authentication failed|is not allowed to access|token is invalid",
    re.IGNORECASE,
)
# Where an error message stops and the SQL it quotes begins (Postgres's `LINE 4:`, Spark's `== SQL ==`, dbt's path
# to the compiled code): words in the SQL say nothing of the failure.
_QUOTED_SQL = re.compile(r"^(LINE \d+:|== SQL|compiled code at )", re.IGNORECASE)
_SIGNATURES = tuple((source, re.compile(pattern, re.IGNORECASE)) for source, pattern in _TRANSIENT)
ERRORED = frozenset({"error", "runtime error"})
# A check or test that ran and found rows: the data answered, so no retry can change it.
FAILED = frozenset({"fail"})


def transient_line(text: str) -> str | None:
    """The line of `text` in which a transient signature appears, when no line of it tells of a real failure."""
    lines: list[str] = []
    for line in (line.strip() for line in text.splitlines()):
        if _QUOTED_SQL.match(line):
            break
        if line:
            lines.append(line)
    if any(_REAL.search(line) for line in lines):
        return None
    return next((line for line in lines for _, pattern in _SIGNATURES if pattern.search(line)), None)


def transient_cause(problems: Sequence[Any], log_lines: Sequence[str]) -> str | None:
    """The line that shows a failed run failed on weather, or None. `problems` are its nodes that did not succeed
    (each with `status` and `message`; none when it left no results), `log_lines` what its failed step said.

    Transient only when every node that errored did so on weather, and none failed a test; with no node errored,
    when the failed step's log (its error lines) shows weather and nothing else."""
    if any(node.status in FAILED for node in problems):
        return None
    errored = [str(node.message or "") for node in problems if node.status in ERRORED]
    if errored:
        found = [transient_line(message) for message in errored]
        return found[0] if all(found) else None
    return transient_line("\n".join(log_lines))


# What the pull request's trigger sets, and a rerun of it must keep: the commit, the PR and its schema.
KEPT = ("git_sha", "schema_override", *PR_FIELDS.values())


def lost_fields(trigger: Mapping[str, Any] | None, payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields of the trigger `payload` that a run's trigger (as dbt Cloud reports it) does not carry as sent."""
    got = trigger or {}
    return tuple(
        key
        for key in KEPT
        if key in payload and payload[key] is not None and str(got.get(key) or "").lower() != str(payload[key]).lower()
    )
