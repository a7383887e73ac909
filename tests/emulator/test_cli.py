"""`python -m dbt_cloud_emulator`: one JSON line on stdout, then serve until a signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from dbt_cloud_emulator.__main__ import main, parse_args

ROOT = Path(__file__).resolve().parents[2]


def start(*args: str) -> tuple[subprocess.Popen[str], dict[str, object]]:
    """Start the CLI and read its startup line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbt_cloud_emulator", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else ""
    return proc, json.loads(line)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_its_address_and_exits_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    log = tmp_path / "log.jsonl"
    proc, info = start("--run-seconds", "0.05", "--start-seconds", "0", "--token", "secret", "--log", str(log))
    try:
        assert set(info) >= {"url", "token", "account_id", "job_id"}
        assert info["token"] == "secret"
        base = f"{info['url']}/api/v2/accounts/{info['account_id']}"
        headers = {"Authorization": "Token secret"}
        response = httpx.post(f"{base}/jobs/{info['job_id']}/run/", json={"cause": "cli"}, headers=headers)
        assert response.status_code == 200
    finally:
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    assert '"cause": "cli"' in log.read_text()


def test_cli_options_reach_the_config() -> None:
    config = parse_args(
        ["--port", "0", "--run-slots", "4", "--latency-ms", "25", "--fault-rate", "0.1", "--fault-kinds", "500,drop"]
    )
    assert (config.port, config.run_slots, config.latency_seconds) == (0, 4, 0.025)
    assert config.fault_kinds == ("500", "drop")
    assert parse_args(["--no-ci-job", "--readonly-token", ""]).readonly_token is None
    assert parse_args([]).refusal_status == 403
    assert parse_args(["--refusal-status", "404"]).refusal_status == 404
    assert (parse_args([]).plan, parse_args(["--plan", "enterprise"]).plan) == ("starter_2025", "enterprise")


def test_help_gives_every_default_and_the_fault_kinds_and_plans(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "(default: 8765)" in shown and "(default: starter_2025)" in shown
    assert "of: 429, 429_no_retry_after, 500, 502, 503, drop, drop_after, slow" in shown
    assert "enterprise_plus_2025" in shown


def test_cli_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(["--fault-kinds", "teapot"])
    assert exc.value.code == 2
    assert "unknown fault kinds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--refusal-status", "401"])
    assert "invalid choice" in capsys.readouterr().err


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()

    def stop_when_up() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/_emulator/state")
                break
            except httpx.TransportError:
                time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    killer = threading.Thread(target=stop_when_up)
    killer.start()
    assert main(["--port", str(port)]) == 0
    killer.join()
    info = json.loads(capsys.readouterr().out.splitlines()[0])
    assert info["url"] == f"http://127.0.0.1:{port}"
    assert signal.getsignal(signal.SIGTERM) is before
