from __future__ import annotations

from datetime import date

import pytest

from autoscale_ci.rules.hosts import host_warning, legacy_host_warning


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


@pytest.mark.parametrize(
    ("today", "when"),
    [(date(2026, 12, 7), "in 58 days"), (date(2027, 2, 2), "tomorrow"), (date(2027, 2, 3), "today"),
     (date(2027, 3, 1), "already past")],
)  # fmt: skip
def test_the_legacy_host_is_told_its_end_date_and_the_accounts_access_url(today: date, when: str) -> None:
    said = legacy_host_warning("https://cloud.getdbt.com", today, "ab123", None)
    assert said is not None
    assert f"stops serving integrations on 2027-02-03 ({when})" in said
    # The account names its prefix; the region is in the access URL dbt Cloud shows.
    assert "access URL, https://ab123.<region>.dbt.com (dbt Cloud shows it under Account settings" in said


def test_a_vanity_subdomain_is_the_access_url_and_other_hosts_get_no_end_date() -> None:
    said = legacy_host_warning("https://cloud.getdbt.com/", date(2026, 12, 7), "ab123", "acme.getdbt.com")
    assert said is not None and "https://acme.getdbt.com " in said
    unknown = legacy_host_warning("https://cloud.getdbt.com", date(2026, 12, 7), None, None)
    assert unknown is not None and "https://<prefix>.<region>.dbt.com" in unknown
    for host in ("https://emea.dbt.com", "https://ab123.us1.dbt.com", "https://acme.getdbt.com"):
        assert legacy_host_warning(host, date(2026, 12, 7), "ab123", None) is None
