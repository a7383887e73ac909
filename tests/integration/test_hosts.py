"""The right host end to end: a redirect is one error naming where it points, and an account on another host is a
warning that names its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dbt_cloud_emulator import Emulator
from tests.integration.conftest import StepFactory, writes_of

SHA_A = "a" * 40


@pytest.fixture
def redirecting() -> Iterator[tuple[str, list[str]]]:
    """A host that redirects every request to another host."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _redirect(self) -> None:
            seen.append(f"{self.command} {self.path} {self.headers.get('Authorization', '')[:5]}")
            self.send_response(301)
            self.send_header("Location", f"https://ab123.us1.dbt.com{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self._redirect()

        def do_POST(self) -> None:
            self._redirect()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_redirect_is_one_error_naming_the_host_to_set(step: StepFactory, redirecting: tuple[str, list[str]]) -> None:
    host, seen = redirecting
    action = step(7, SHA_A, **{"pr-comment": "never"})
    action.env["INPUT_DBT-CLOUD-HOST"] = host
    done = action.run()
    assert done.returncode == 1, done.stdout
    errors = done.lines("::error")
    assert len(errors) == 1, errors
    assert "redirecting to https://ab123.us1.dbt.com" in errors[0]
    assert "set dbt-cloud-host to https://ab123.us1.dbt.com" in errors[0]
    assert all(not line.startswith("POST") for line in seen)  # nothing was written before the error


def test_an_account_on_its_own_subdomain_warns_when_the_host_is_another(emu: Emulator, step: StepFactory) -> None:
    emu.set_account(static_subdomain="ab123")
    done = step(7, SHA_A).run()
    assert done.returncode == 0, done.stdout
    warnings = [line for line in done.lines("::warning") if "dbt Cloud host" in line]
    assert len(warnings) == 1
    assert "static subdomain 'ab123'" in warnings[0] and "https://ab123.<region>.dbt.com" in warnings[0]


def test_an_account_that_names_no_subdomain_gives_no_warning(emu: Emulator, step: StepFactory) -> None:
    emu.set_account(static_subdomain=None, vanity_subdomain=None)
    action = step(7, SHA_A)
    done = action.run()
    assert done.returncode == 0, done.stdout
    assert [line for line in done.lines("::warning") if "dbt Cloud host" in line] == []
    assert writes_of(emu, action) == [f"POST /jobs/{emu.ci_job_id}/run/"]
