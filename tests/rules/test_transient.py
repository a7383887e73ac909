from __future__ import annotations

from dataclasses import dataclass

import pytest

from autoscale_ci.rules.transient import lost_fields, transient_cause, transient_line


@dataclass(frozen=True)
class Node:
    status: str
    message: str | None


WEATHER = [
    # Postgres and Redshift through libpq.
    "Database Error in model stg_orders\n  server closed the connection unexpectedly\n\tThis probably means the server "
    "terminated abnormally",
    'Database Error\n  connection to server at "db.internal" (10.0.0.5), port 5432 failed: Connection refused\n\tIs '
    "the server running on that host and accepting TCP/IP connections?",
    "Database Error in model orders\n  SSL SYSCALL error: EOF detected",
    "Database Error in model orders\n  terminating connection due to administrator command",
    "Database Error\n  FATAL:  the database system is starting up",
    # Snowflake.
    "Database Error in model orders\n  390114: Authentication token has expired.  The user must authenticate again.",
    "Database Error\n  250001 (08001): Failed to connect to DB: acme.snowflakecomputing.com:443. Connection reset.",
    "Database Error in model orders\n  390111 (08001): Session no longer exists.  New login required to access the "
    "service.",
    "Database Error in model orders\n  390112: Your session has expired. Please login again.",
    "Database Error in model orders\n  connection already closed",
    # BigQuery.
    "Database Error in model orders\n  Error encountered during execution. Retrying may solve the problem.",
    "Database Error in model orders\n  Exceeded rate limits: too many table update operations for this table.",
    # Databricks.
    "Runtime Error in model orders\n  [TEMPORARILY_UNAVAILABLE] The service at /api/2.0/sql is temporarily "
    "unavailable.",
    "Database Error in model orders\n  Invalid SessionHandle: SessionHandle [5c2a]",
    # Any driver's socket.
    "Database Error in model orders\n  ('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))",
    "Database Error in model orders\n  HTTPSConnectionPool(host='x', port=443): Read timed out. (read timeout=300)",
    "Runtime Error in model orders\n  503 The service is currently unavailable.",
]
REAL = [
    'Database Error in model stg_orders\n  relation "raw.orders" does not exist',
    "Compilation Error in model orders\n  'ref' is undefined",
    'Database Error in model orders\n  syntax error at or near "selec"',
    "Database Error in model orders\n  permission denied for schema analytics",
    "Database Error in model orders\n  SQL compilation error: invalid identifier 'ORDER_TOTAL'",
    "Database Error in model orders\n  division by zero",
    "Database Error in model orders\n  Quota exceeded: Your project exceeded quota for free query bytes scanned. "
    "quotaExceeded",
    # Snowflake's 250001 heads credential errors too.
    "Database Error\n  250001 (08001): Failed to connect to DB: acme.snowflakecomputing.com:443. Incorrect username "
    "or password was specified.",
    "Database Error\n  250001 (08001): Failed to connect to DB: acme.snowflakecomputing.com:443. IP 10.0.0.5 is not "
    "allowed to access Snowflake.",
    # Words of weather inside the SQL an error quotes.
    'Database Error in model orders\n  column reference "id" is ambiguous\n  LINE 4: where msg like '
    "'%connection refused%'",
    "Database Error in model orders\n  [TABLE_OR_VIEW_NOT_FOUND] The table or view `raw`.`orders` cannot be found.\n"
    "  == SQL ==\n  select 'broken pipe' from raw.orders",
    "Database Error in model orders\n  something odd\n  LINE 1: select 'server closed the connection unexpectedly'",
    # Weather and a real failure in one message: not transient.
    'Database Error in model orders\n  connection reset\n  relation "raw.orders" does not exist',
    "Got 3 results, configured to fail if != 0",
    "",
]


@pytest.mark.parametrize("message", WEATHER)
def test_weather_is_transient_and_the_line_that_says_so_is_given(message: str) -> None:
    line = transient_line(message)
    assert line is not None and line in [part.strip() for part in message.splitlines()]
    assert transient_cause([Node("error", message)], []) == line


@pytest.mark.parametrize("message", REAL)
def test_a_real_failure_is_never_transient(message: str) -> None:
    assert transient_line(message) is None
    assert transient_cause([Node("error", message)], []) is None


def test_every_errored_node_must_be_weather_and_no_test_may_have_failed() -> None:
    weather, real = Node("error", WEATHER[0]), Node("error", REAL[0])
    assert transient_cause([weather, Node("skipped", None), Node("warn", "2 rows")], []) is not None
    assert transient_cause([weather, real], []) is None
    assert transient_cause([weather, Node("fail", "Got 3 results, configured to fail if != 0")], []) is None
    assert transient_cause([Node("runtime error", WEATHER[9])], []) is not None


def test_without_an_errored_node_the_failed_steps_log_decides() -> None:
    refused = WEATHER[1].splitlines()
    assert transient_cause([], ["Encountered an error:", *refused]) == refused[1].strip()
    assert transient_cause([Node("skipped", None)], refused) is not None
    assert transient_cause([], ["Encountered an error:", "Compilation Error", "  'ref' is undefined"]) is None
    assert transient_cause([], []) is None


def test_a_rerun_must_keep_the_commit_the_pull_request_and_its_schema() -> None:
    payload = {"cause": "c", "git_sha": "A" * 40, "github_pull_request_id": 7, "schema_override": "dbt_cloud_pr_1_7"}
    kept = {
        "cause": "Retry of run 5",
        "git_sha": "a" * 40,
        "github_pull_request_id": 7,
        "schema_override": "dbt_cloud_pr_1_7",
    }
    assert lost_fields(kept, payload) == ()
    assert lost_fields({"cause": "Retry of run 5"}, payload) == ("git_sha", "schema_override", "github_pull_request_id")
    assert lost_fields(None, payload) == ("git_sha", "schema_override", "github_pull_request_id")
    assert lost_fields({**kept, "schema_override": "other"}, payload) == ("schema_override",)
    assert lost_fields({}, {"cause": "c", "git_branch": "main", "schema_override": None}) == ()
