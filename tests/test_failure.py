from __future__ import annotations

from autoscale_ci.failure import LINE_CHARS, TAIL_LINES, FailedStep, failed_step, log_tail, strip_ansi
from autoscale_ci.models import RunStep


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
