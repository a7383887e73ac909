from __future__ import annotations

import pytest

from autoscale_ci.rules.nodes import over_max_nodes, selected_by, selected_nodes

BUILD = "Invoke dbt with `dbt build --select state:modified+`"


def test_the_count_is_the_m_of_the_last_start_line() -> None:
    log = "10:00:01  Concurrency: 4 threads\n10:00:02  1 of 842 START sql view model a ..... [RUN]\n"
    assert selected_nodes(log) == 842
    assert selected_nodes("\x1b[0m2 of 17 START test not_null_a [RUN]") == 17  # a colour code right before it
    assert selected_nodes("10:00:03  1 of 842 OK created sql view model a") is None  # a result line is no START
    assert selected_nodes(None) is None


@pytest.mark.parametrize(
    ("steps", "count"),
    [
        ([("Invoke dbt with `dbt seed`", "1 of 3 START seed file a")], None),  # a seed numbers its own few
        ([("Invoke dbt with `dbt seed`", "1 of 3 START seed file a"), (BUILD, "1 of 842 START model a")], 842),
        ([("Invoke dbt with `dbt --debug run`", "1 of 12 START model a")], 12),
        ([("Invoke dbt with `dbt test`", "1 of 40 START test a"), (BUILD, "1 of 842 START model a")], 842),
        ([("Invoke dbt with `dbt source freshness`", "1 of 9 START freshness of a")], None),
        ([(BUILD, None)], None),
    ],
)
def test_only_a_building_step_says_how_many_nodes_the_run_selected(
    steps: list[tuple[str, str | None]], count: int | None
) -> None:
    assert selected_by(steps) == count


def test_past_max_nodes_the_message_names_the_count_the_limit_and_the_causes() -> None:
    said = over_max_nodes(70412, 842, 100, cancelled=True)
    assert said.startswith("dbt Cloud run 70412 selected 842 nodes, more than max-nodes 100: likely a branch behind")
    assert "deferral" in said and said.endswith("The action cancelled it (on-max-nodes: cancel).")
    assert "set on-max-nodes: cancel" in over_max_nodes(1, 842, 100, cancelled=False)
    assert over_max_nodes(1, 842, 100, cancelled=False, why_not="followed").endswith("It goes on (followed).")
    ended = over_max_nodes(1, 842, 100, cancelled=None)
    assert "cancelled it" not in ended and "goes on" not in ended
