"""Whether dbt-cloud-host is the account's own access URL, from what the account says of itself; pure."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

# dbt's docs give this as the day the legacy getdbt.com hosts stop serving integrations (moved from 2026-11-01).
LEGACY_END = date(2027, 2, 3)
# The multi-tenant legacy host, the default dbt-cloud-host; an account's own single-tenant host is its access URL.
LEGACY_HOSTNAME = "cloud.getdbt.com"
# Rendered when dbt-cloud-host is the legacy host.
LEGACY = (
    "dbt-cloud-host is {host}, the legacy host, which dbt's docs say stops serving integrations on "
    "2027-02-03 ({when}): set dbt-cloud-host to the account's access URL, {expected} (dbt Cloud shows it under "
    "Account settings, Access URLs)."
)

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
    return ELSEWHERE.format(account=account_id, kind=kind, name=name, host=host, expected=_access_url(name))


def _access_url(name: str | None) -> str:
    """The access URL a subdomain the account names stands for (a bare prefix: of a region the account alone knows)."""
    if not name:
        return "https://<prefix>.<region>.dbt.com"
    return f"https://{name}" if "." in name else f"https://{name}.<region>.dbt.com"


def legacy_host_warning(host: str, today: date, static: str | None, vanity: str | None) -> str | None:
    """The warning for a step that talks to the legacy host, with the day it stops serving integrations and the
    account's own access URL (its vanity or static subdomain); None for any other host."""
    if (urlsplit(host).hostname or "").lower() != LEGACY_HOSTNAME:
        return None
    days = (LEGACY_END - today).days
    when = f"in {days} days" if days > 1 else "tomorrow" if days == 1 else "today" if days == 0 else "already past"
    name = next((n.strip().lower() for n in (vanity, static) if n and n.strip()), None)
    return LEGACY.format(host=host, when=when, expected=_access_url(name))
