from __future__ import annotations

import pytest

from autoscale_ci.act.closed_pr import DEFAULT_COMMAND, drop_command, schema_to_drop
from autoscale_ci.errors import InputError

SCHEMA = "dbt_cloud_pr_73797_12"


def test_the_default_command_drops_exactly_the_prs_schema() -> None:
    command = drop_command("", "drop_pr_schema", SCHEMA, 12, 73797)
    assert command == "dbt run-operation drop_pr_schema --args '{schema: dbt_cloud_pr_73797_12, pr: 12}'"
    assert DEFAULT_COMMAND.format(macro="m", schema=SCHEMA, pr=12) == command.replace("drop_pr_schema", "m")


def test_a_custom_command_with_placeholders() -> None:
    template = "dbt run-operation {macro} --args '{{schema: {schema}, job: {job}}}' --target ci"
    assert drop_command(template, "cleanup_pr", SCHEMA, 12, 9) == (
        "dbt run-operation cleanup_pr --args '{schema: dbt_cloud_pr_73797_12, job: 9}' --target ci"
    )


@pytest.mark.parametrize(
    ("template", "macro", "name"),
    [
        ("", "drop; rm -rf /", "drop-schema-macro"),
        ("", "", "drop-schema-macro"),
        ("dbt run-operation {macro} --args '{{schema: dbt_cloud_pr_1_1}}'", "m", "drop-schema-command"),  # not ours
        ("dbt build --select {schema}", "m", "drop-schema-command"),
        ("dbt run-operation {macro}", "m", "drop-schema-command"),  # no schema
        ("dbt run-operation {macro} --args {unknown}", "m", "drop-schema-command"),
        ("dbt run-operation {macro} {schema}\ndbt run-operation x", "m", "drop-schema-command"),
    ],
)
def test_commands_that_could_do_more_are_refused(template: str, macro: str, name: str) -> None:
    with pytest.raises(InputError) as caught:
        drop_command(template, macro, SCHEMA, 12, 73797)
    assert caught.value.name == name


@pytest.mark.parametrize(
    "schema",
    [
        "analytics",
        "dbt_cloud_pr_73797_13",
        "dbt_cloud_pr_1_12; drop",
        "x_dbt_cloud_pr_73797_12",
        "dbt_cloud_pr_99999_12",
        "dbt_cloud_pr_12",
    ],
)
def test_only_the_prs_own_schema_may_be_dropped(schema: str) -> None:
    with pytest.raises(InputError, match="not a pull request schema"):
        schema_to_drop(schema, 73797, 12)
    assert schema_to_drop(SCHEMA, 73797, 12) == SCHEMA
