"""`/_emulator/...`: read state and turn the knobs over HTTP, for tests driving another process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .protocol import Reply, Request, fail, ok

if TYPE_CHECKING:
    from .emulator import Emulator


def _body(req: Request) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise TypeError("the body must be a JSON object")
    return body


def _action(emu: Emulator, method: str, path: str, body: dict[str, Any]) -> Any:
    """Run one admin action; unknown ones are a LookupError."""
    actions: dict[tuple[str, str], Any] = {
        ("GET", "state"): emu.snapshot,
        ("POST", "jobs"): lambda: {"id": emu.seed_job(**body)},
        ("POST", "foreign_jobs"): lambda: {"id": emu.seed_foreign_job(**body)},
        ("POST", "runs"): lambda: {"ids": emu.seed_runs(**body)},
        ("POST", "churn"): lambda: emu.churn(**body),
        ("POST", "refusal_status"): lambda: emu.set_refusal_status(**body),
        ("POST", "role"): lambda: emu.set_role(**body),
        ("POST", "env_vars"): lambda: emu.set_env_var(**body),
        ("POST", "env_answer_shape"): lambda: emu.set_env_answer_shape(**body),
        ("POST", "account"): lambda: emu.set_account(**body),
        ("POST", "outcome"): lambda: emu.set_outcome(**body),
        ("POST", "retry_trigger"): lambda: emu.set_retry_trigger(**body),
        ("POST", "log_lines"): lambda: emu.set_log_lines(**body),
        ("POST", "timing"): lambda: emu.set_timing(**body),
        ("POST", "selected_nodes"): lambda: emu.set_selected_nodes(**body),
        ("POST", "failing_nodes"): lambda: emu.set_failing_nodes(**body),
        ("POST", "artifacts_missing"): lambda: emu.set_artifacts_missing(**body),
        ("POST", "engine"): lambda: emu.set_engine(**body),
        ("POST", "project"): lambda: emu.set_project(**body),
        ("POST", "faults"): lambda: emu.inject(**body),
        ("POST", "faults/rate"): lambda: emu.set_fault_rate(**body),
        ("POST", "outage"): lambda: emu.outage(**body),
        ("POST", "pull_request_pushed"): lambda: {"id": emu.pull_request_pushed(**body)},
        ("POST", "rate_limit"): lambda: emu.rate_limit(**body),
        ("DELETE", "faults"): emu.clear_faults,
        ("POST", "advance"): lambda: emu.advance(**body),
        ("POST", "hold"): lambda: emu.hold(**body),
        ("POST", "release"): lambda: emu.release(**body),
    }
    action = actions.get((method, path))
    if action is None:
        raise LookupError(path)
    return action()


def handle(emu: Emulator, req: Request) -> Reply:
    """Answer an admin request in the usual envelope; these need no token."""
    path = req.path.removeprefix("/_emulator/").strip("/")
    try:
        body = _body(req) if req.method == "POST" else {}
        return ok(_action(emu, req.method, path, body))
    except LookupError:
        return fail(404, f"No emulator action {req.method} {req.path}.")
    except (TypeError, ValueError) as exc:
        return fail(400, str(exc))
