"""Whether dbt-cloud-host is the account's own access URL, from what the account says of itself; pure."""

from __future__ import annotations

from urllib.parse import urlsplit

# Rendered when the account names a subdomain that dbt-cloud-host is not.
ELSEWHERE = (
    "dbt Cloud says account {account} has the {kind} subdomain '{name}', but dbt-cloud-host is {host}: the "
    "account's access URL is {expected} (dbt Cloud shows it under Account settings, Access URLs). Set dbt-cloud-host "
    "to it: since the move to static subdomains (December 2025) other hosts may stop answering for the account."
)


def _matches(hostname: str, name: str) -> bool:
    # A bare prefix (`ab123`) names `ab123.<region>.dbt.com`; a name with dots is the whole host.
    return hostname == name if "." in name else hostname.startswith(f"{name}.")


def host_warning(host: str, account_id: int, static: str | None, vanity: str | None) -> str | None:
    """The warning when the account names a subdomain (`static_subdomain`, `vanity_subdomain`) that `host` is
    not; None when it is, or when the account names none."""
    named = [
        (kind, name.strip().lower()) for kind, name in (("vanity", vanity), ("static", static)) if name and name.strip()
    ]
    hostname = (urlsplit(host).hostname or "").lower()
    if not named or any(_matches(hostname, name) for _, name in named):
        return None
    kind, name = named[-1]  # the static subdomain, the one every account has, when both are named
    expected = f"https://{name}" if "." in name else f"https://{name}.<region>.dbt.com"
    return ELSEWHERE.format(account=account_id, kind=kind, name=name, host=host, expected=expected)
