"""The right host end to end: a redirect is one error naming where it points, and an account on another host is a
warning that names its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from dbt_cloud_emulator import Emulator
from tests.integration.conftest import StepFactory, writes_of
from tests.integration.test_conformance import run_action

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


def test_the_legacy_host_is_one_warning_with_its_end_date_and_the_access_url(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # cloud.getdbt.com answers as the emulator does: its name resolves to the emulator, as a DNS entry would.
    emu.set_account(static_subdomain="ab123")

    def to_the_emulator(request: httpx.Request) -> httpx.Response:
        url = f"{emu.url}{request.url.raw_path.decode()}"
        answer = httpx.request(request.method, url, headers=dict(request.headers), content=request.content)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    with respx.mock(assert_all_called=False) as network:
        network.route(host="127.0.0.1").pass_through()
        network.route(host="cloud.getdbt.com").mock(side_effect=to_the_emulator)
        code, decision = run_action(
            emu, tmp_path, monkeypatch, 7, SHA_A, **{"dbt-cloud-host": "https://cloud.getdbt.com"}
        )
    printed = capsys.readouterr().out
    assert (code, decision) == (0, "plain-trigger"), printed
    (warning,) = [line for line in printed.splitlines() if line.startswith("::warning title=dbt Cloud host")]
    assert "the legacy host, which dbt's docs say stops serving integrations on 2027-02-03 (in " in warning
    assert "https://ab123.<region>.dbt.com" in warning and "Access URLs" in warning
