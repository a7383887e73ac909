from __future__ import annotations

import pytest

from autoscale_ci.hosts import host_warning


@pytest.mark.parametrize(
    ("host", "static", "vanity"),
    [
        ("https://ab123.us1.dbt.com", "ab123", None),
        ("https://AB123.us1.dbt.com", "ab123", None),
        ("https://acme.getdbt.com", "ab123", "acme.getdbt.com"),
        ("https://cloud.getdbt.com", None, None),
        ("https://cloud.getdbt.com", "  ", ""),
    ],
)
def test_no_warning_on_the_accounts_own_host_or_when_it_names_none(
    host: str, static: str | None, vanity: str | None
) -> None:
    assert host_warning(host, 1, static, vanity) is None


def test_a_prefix_the_host_is_not_names_the_access_url_and_where_to_find_it() -> None:
    said = host_warning("https://cloud.getdbt.com", 42, "ab123", None)
    assert said is not None
    assert "account 42 has the static subdomain 'ab123', but dbt-cloud-host is https://cloud.getdbt.com" in said
    assert "https://ab123.<region>.dbt.com" in said and "Account settings" in said


def test_a_prefix_must_be_the_hosts_first_label() -> None:
    assert host_warning("https://xab123.us1.dbt.com", 1, "ab123", None) is not None
    said = host_warning("https://emea.dbt.com", 1, None, "acme.eu1.dbt.com")
    assert said is not None and "vanity subdomain 'acme.eu1.dbt.com'" in said and "is https://acme.eu1.dbt.com" in said
