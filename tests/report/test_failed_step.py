from __future__ import annotations

from autoscale_ci.dbt_cloud.models import RunStep
from autoscale_ci.report.failed_step import (
    ERROR_LINES,
    LINE_CHARS,
    TAIL_LINES,
    FailedStep,
    describe,
    error_lines,
    failed_step,
    log_tail,
    strip_ansi,
)


def same(text: str) -> str:
    return text


def test_escapes_and_control_characters_are_stripped() -> None:
    coloured = "\x1b[0m10:42:16  \x1b[32mOK\x1b[0m created\x1b]8;;https://x\x07link\x1b]8;;\x07\x07\tend"
    assert strip_ansi(coloured) == "10:42:16  OK createdlink\tend"
    assert strip_ansi("\x9b31mred\x9b0m \u202eevil\u202c \x85done") == "red evil done"


def test_the_tail_is_the_last_lines_that_say_something() -> None:
    log = "\n".join(f"line {i}" for i in range(100)) + "\n\n   \n"
    tail, cut = log_tail(log, same)
    assert tail == tuple(f"line {i}" for i in range(100 - TAIL_LINES, 100))
    assert cut


def test_a_short_log_is_whole() -> None:
    assert log_tail("one\r\ntwo\n", same) == (("one", "two"), False)


def test_a_progress_line_shows_what_it_said_last() -> None:
    assert log_tail("Installing 1/3\rInstalling 2/3\rInstalled\n", same) == (("Installed",), False)


def test_a_log_of_megabytes_is_bounded_and_its_cut_line_dropped() -> None:
    log = "x" * 5_000_000 + "\n" + "\n".join(f"\x1b[31mERROR\x1b[0m {i} " + "y" * 1000 for i in range(3))
    tail, cut = log_tail(log, same)
    assert cut
    assert len(tail) == 3
    assert all(len(line) == LINE_CHARS + 3 and line.startswith("ERROR ") for line in tail)


def test_secrets_are_redacted_before_lines_are_cut() -> None:
    secret = "dbtc_" + "s" * 20
    line = "a" * (LINE_CHARS - 5) + secret

    def redact(text: str) -> str:
        return text.replace(secret, "***")

    tail, _ = log_tail(line, redact)
    assert "dbtc_" not in tail[0]
    assert tail[0].endswith("***")


def test_the_failed_step_is_the_last_that_ended_in_error() -> None:
    steps = [
        RunStep(index=5, name="Invoke dbt with `dbt build`", status=20),
        RunStep(index=3, name="Invoke dbt with `dbt deps`", status=10),
        RunStep(index=4, name="Invoke dbt with `dbt source freshness`", status=20),  # did not stop the run
    ]
    found = failed_step(steps)
    assert found is not None and found.index == 5
    assert failed_step(steps[1:2]) is None


def test_the_command_is_read_from_the_step_name() -> None:
    assert FailedStep(3, "Invoke dbt with `dbt deps`", (), False).command == "dbt deps"
    assert FailedStep(1, "Clone git repository", (), False).command == "Clone git repository"


LIVE_FAILURE = "\n".join(
    [
        "\x1b[0m10:38:47  Running with dbt=1.10.0",
        "\x1b[0m10:38:47",
        "\x1b[0m10:38:49  1 of 5 START sql table model analytics.stg_orders ..................... [RUN]",
        "\x1b[0m10:38:49",
        "\x1b[0m10:38:50  1 of 5 ERROR creating sql table model stg_orders ... [\x1b[31mERROR\x1b[0m in 0.4s]",
        "\x1b[0m10:38:51",
        "\x1b[0m10:38:51  \x1b[31mCompleted with 1 error, 0 partial successes, and 0 warnings:\x1b[0m",
        "\x1b[0m10:38:51",
        "\x1b[0m10:38:51    Database Error in model stg_orders (models/staging/stg_orders.sql)",
        '  relation "raw.orders" does not exist',
        "\x1b[0m10:38:51",
        "\x1b[0m10:38:51  Done. PASS=1 WARN=0 ERROR=1 SKIP=2 NO-OP=0 TOTAL=5",
    ]
)


def test_lines_that_hold_only_a_time_are_left_out_of_the_tail() -> None:
    tail, _ = log_tail(LIVE_FAILURE + "\n10:38:52.123456\n", same)
    assert len(tail) == 7
    assert not any(line.strip().replace(":", "").replace(".", "").isdigit() for line in tail)


def test_the_error_lines_are_those_dbt_lists_after_its_summary_heading() -> None:
    assert error_lines(LIVE_FAILURE, same) == (
        "Database Error in model stg_orders (models/staging/stg_orders.sql)",
        'relation "raw.orders" does not exist',
    )


def test_a_failure_before_any_node_is_read_after_encountered_an_error() -> None:
    log = "10:00:01  Running with dbt=1.10.0\n10:00:02  Encountered an error:\nPackage dbt-labs/x was not found\n"
    assert error_lines(log, same) == ("Package dbt-labs/x was not found",)


def test_without_a_summary_the_first_lines_that_name_an_error_are_taken() -> None:
    log = "\n".join(["10:00:01  ok", *(f"10:00:0{i}  Runtime Error in model m{i}" for i in range(2, 7))])
    assert error_lines(log, same) == tuple(f"Runtime Error in model m{i}" for i in range(2, 2 + ERROR_LINES))
    assert error_lines("10:00:01  all fine\n", same) == ()


def test_the_described_step_carries_its_error_lines() -> None:
    step = RunStep(index=4, name="Invoke dbt with `dbt build`", status=20, logs=LIVE_FAILURE)
    described = describe(step, same)
    assert described.error_lines[0].startswith("Database Error in model stg_orders")
    assert described.command == "dbt build"
