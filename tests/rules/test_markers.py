from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from autoscale_ci.rules import markers
from autoscale_ci.rules.markers import (
    PushOrder,
    base_name,
    clone_marker,
    clone_marker_prefix,
    clone_pr,
    clone_source,
    drop_cause,
    pr_schema,
    push_marker,
    push_order,
)


def test_marker_round_trip() -> None:
    name = "Slim CI" + clone_marker(73797, 12)
    assert name == "Slim CI [autoscale 73797 PR #12]"
    assert clone_source(name) == 73797
    assert clone_marker_prefix(73797) in name
    assert base_name(name) == "Slim CI"


def test_plain_job_names_are_not_clones() -> None:
    assert clone_source("CI") is None
    assert clone_source(None) is None
    assert clone_source("CI [autoscale x PR #1]") is None
    assert clone_source("CI [autoscale 5 PR #1] copy") is None


@pytest.mark.parametrize(("job", "pr", "name"), [(1, 2, "dbt_cloud_pr_1_2"), (73797, 1234, "dbt_cloud_pr_73797_1234")])
def test_schema_name(job: int, pr: int, name: str) -> None:
    assert pr_schema(job, pr) == name


def test_causes_without_a_push_order() -> None:
    assert push_order("Triggered via API") is None
    assert push_order(None) is None
    assert push_order("x [pushed yesterday]") is None
    assert push_order("x [pipeline next]") is None


def test_a_clone_name_carries_its_pr_and_nonce() -> None:
    name = "CI" + clone_marker(5, 12, "a1b2c3")
    assert (clone_source(name), clone_pr(name), base_name(name)) == (5, 12, "CI")
    assert clone_pr("CI") is None


def test_the_push_order_round_trips_through_a_cause() -> None:
    pushed = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    # The marker of older versions of the action reads as before.
    assert push_order("Autoscaling Slim CI: PR #1 @ abc" + push_marker(pushed)) == PushOrder.pushed(pushed)
    for order in (PushOrder.pushed(pushed), PushOrder.pipeline(4711)):
        assert push_order("Autoscaling Slim CI: PR #1 @ abc" + order.marker()) == order
    assert PushOrder.pipeline(4711).marker() == " [pipeline 4711]"


def test_two_push_orders_compare_only_when_of_one_kind() -> None:
    earlier, later = PushOrder.pipeline(100), PushOrder.pipeline(101)
    assert later.after(earlier) and not earlier.after(later) and not later.after(later)
    pushed = PushOrder.pushed(datetime(2030, 1, 1, tzinfo=UTC))
    assert not pushed.after(earlier) and not later.after(pushed)  # a time and a pipeline id: never compared
    assert not later.after(None)


def test_the_drop_cause_names_the_pr_and_is_no_push_marker() -> None:
    assert drop_cause(41) == "Autoscaling Slim CI: drop the schema of closed PR #41"
    assert push_order(drop_cause(41)) is None


def test_markers_import_nothing_from_the_package() -> None:
    code = Path(markers.__file__).read_text(encoding="utf-8").split('"""', 2)[2]  # after the module docstring
    assert "autoscale_ci" not in code


def test_a_queue_entrys_order_survives_the_cause_and_is_of_its_own_kind() -> None:
    made = datetime(2026, 12, 7, 10, 5, 9, tzinfo=UTC)
    order = PushOrder.queued(made)
    assert order.marker() == " [queued 2026-12-07T10:05:09Z]"
    assert push_order("Autoscaling Slim CI" + order.marker()) == order
    assert order.entry and not PushOrder.pushed(made).entry
    assert not order.after(PushOrder.pushed(made - timedelta(hours=1)))
