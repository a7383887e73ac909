"""HTTP: parse requests, inject latency and faults, authenticate, route, answer and log."""

from __future__ import annotations

import json
import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .clock import iso
from .config import check_refusal_status
from .endpoints import Api
from .faults import DROP, DROP_AFTER, SLOW, Fault, FaultPlan
from .protocol import ApiError, Reply, Request, fail, status_block
from .requestlog import RequestLog, caller_id
from .state import State

ACCOUNT_PATH = re.compile(r"/api/(v2|v3)/accounts/(\d+)/(.*)")
# The accounts a token may use (v3 List Accounts): a service token belongs to one.
TOKEN_ACCOUNTS_PATH = "/api/v3/accounts/"
Routes = tuple[tuple[str, re.Pattern[str], str], ...]


def _routes(*table: tuple[str, str, str]) -> Routes:
    return tuple((method, re.compile(pattern), name) for method, pattern, name in table)


# (method, path after the account, Api method); every path ends with "/", as dbt Cloud's do.
ROUTES: Routes = _routes(
    ("GET", r"", "get_account"),
    ("GET", r"projects/(\d+)/", "get_project"),
    ("GET", r"jobs/", "list_jobs"),
    ("POST", r"jobs/", "create_job"),
    ("GET", r"jobs/(\d+)/", "get_job"),
    ("POST", r"jobs/(\d+)/", "update_job"),
    ("DELETE", r"jobs/(\d+)/", "delete_job"),
    ("POST", r"jobs/(\d+)/run/", "trigger_run"),
    ("GET", r"runs/", "list_runs"),
    ("GET", r"runs/(\d+)/", "get_run"),
    ("POST", r"runs/(\d+)/cancel/", "cancel_run"),
    ("POST", r"runs/(\d+)/retry/", "retry_run"),
    ("GET", r"runs/(\d+)/artifacts/", "list_artifacts"),
    ("GET", r"runs/(\d+)/artifacts/(.+)", "get_artifact"),
)
# v3 has no jobs or runs; the emulator serves the job-level environment variable overrides from it.
V3_ROUTES: Routes = _routes(
    ("GET", r"projects/(\d+)/environment-variables/job/", "list_job_env_vars"),
    ("POST", r"projects/(\d+)/environment-variables/", "create_env_var"),
    ("POST", r"projects/(\d+)/environment-variables/(\d+)/", "update_env_var"),
    ("DELETE", r"projects/(\d+)/environment-variables/(\d+)/", "delete_env_var"),
)
ROUTES_BY_VERSION = {"v2": ROUTES, "v3": V3_ROUTES}
ROLES = ("admin", "runner", "readonly")
# What each role may do besides reading, as dbt Cloud's permission sets: Job Runner triggers and cancels runs only
# (NOTES.md). A guess: it may not retry a run either, as nothing documents that it may.
WRITES = {"admin": None, "runner": frozenset({"trigger_run", "cancel_run"}), "readonly": frozenset()}
# How a write the role may not make is refused, by the status chosen: DRF's 403, or the 404 dbt Cloud often answers
# (NOTES.md: "A missing permission often comes back as 404"; the wording is from dbt Labs' Terraform provider tests).
REFUSALS = {
    403: "You do not have permission to perform this action.",
    404: "The requested resource was not found. Please check that you have the proper permissions.",
}
FAULT_MESSAGES = {429: "Too many requests. Please slow down and try again later."}
GATEWAY_PAGE = "<html><head><title>{code}</title></head><body><h1>{code} {reason}</h1></body></html>"
GATEWAY_CODES = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _seconds_header(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def fault_reply(fault: Fault) -> Reply:
    """The answer a status fault gives: an HTML page for gateway errors (as a load balancer would), else JSON."""
    assert fault.status is not None
    headers = {} if fault.retry_after is None else {"Retry-After": _seconds_header(fault.retry_after)}
    if fault.status in GATEWAY_CODES:
        page = GATEWAY_PAGE.format(code=fault.status, reason=GATEWAY_CODES[fault.status])
        return Reply(fault.status, headers=headers, raw=page.encode(), content_type="text/html")
    message = FAULT_MESSAGES.get(fault.status, "An unexpected error occurred. Please try again.")
    return Reply(fault.status, {"status": status_block(fault.status, message), "data": None}, headers)


@dataclass
class Served:
    """What became of one API request: the answer (None for a dropped connection) and any fault."""

    reply: Reply | None
    fault: Fault | None


class Service:
    """Everything behind the socket: auth, routing, faults, latency and the request log."""

    def __init__(
        self,
        *,
        state: State,
        tokens: dict[str, str],
        faults: FaultPlan,
        log: RequestLog,
        latency: float,
        admin: Callable[[Request], Reply],
        refusal_status: int = 403,
    ) -> None:
        bad = {role for role in tokens.values() if role not in ROLES}
        if bad:
            raise ValueError(f"unknown token roles {sorted(bad)}; choose from {list(ROLES)}")
        check_refusal_status(refusal_status)
        self.state = state
        self.api = Api(state)
        self.tokens = tokens
        self.faults = faults
        self.log = log
        self.latency = latency
        self.admin = admin
        self.refusal_status = refusal_status

    def set_role(self, token: str, role: str, *, new: bool = False) -> None:
        """Give a known token (or, with `new`, a token of its own) a role, for the requests that follow (routing
        reads it under the same lock)."""
        if role not in ROLES:
            raise ValueError(f"unknown token role {role!r}; choose from {list(ROLES)}")
        if not token.strip():
            raise ValueError("a token must not be blank")
        with self.state.lock:
            if token not in self.tokens and not new:
                raise ValueError("unknown token; give one of the emulator's tokens")
            self.tokens[token] = role

    def set_refusal_status(self, status: int) -> None:
        """Refuse the writes a role may not make with this status (403 or 404) from now on."""
        check_refusal_status(status)
        with self.state.lock:
            self.refusal_status = status

    def serve(self, req: Request) -> Served:
        """Answer one API request, or fail it as the fault plan says."""
        if self.latency:
            time.sleep(self.latency)
        fault = self.faults.pick(req.method, req.path)
        if fault is not None and fault.kind == SLOW:
            time.sleep(fault.delay)
        if fault is not None and fault.before_processing:
            return Served(None if fault.kind == DROP else fault_reply(fault), fault)
        return Served(self.dispatch(req), fault)

    def dispatch(self, req: Request) -> Reply:
        """Route under the state lock, after bringing the scheduler up to date."""
        with self.state.lock:
            self.state.advance()
            try:
                return self._route(req)
            except ApiError as exc:
                return exc.reply()
            except Exception as exc:  # a bug must answer 500, not kill the connection
                reply = fail(500, "An unexpected error occurred.")
                reply.body["status"]["developer_message"] = "".join(traceback.format_exception(exc))
                return reply

    def _role(self, header: str | None) -> str:
        if not header:
            raise ApiError(401, "Authentication credentials were not provided.")
        scheme, _, token = header.strip().partition(" ")
        role = self.tokens.get(token.strip())
        if scheme.lower() not in ("token", "bearer") or role is None:
            raise ApiError(401, "Invalid token.")
        return role

    def _route(self, req: Request) -> Reply:
        req.role = self._role(req.headers.get("authorization"))
        if req.path == TOKEN_ACCOUNTS_PATH:
            if req.method != "GET":
                raise ApiError(405, f'Method "{req.method}" not allowed.')
            return self.api.list_token_accounts(req)
        found = ACCOUNT_PATH.fullmatch(req.path)
        if found is None:
            raise ApiError(404, "Not found.")
        version, account, tail = found.group(1), int(found.group(2)), found.group(3)
        routes = [
            (method, match, name)
            for method, pattern, name in ROUTES_BY_VERSION[version]
            if (match := pattern.fullmatch(tail))
        ]
        if not routes:
            raise ApiError(404, "Not found.")
        if account != self.api.account_id:
            raise ApiError(404, f"Account {account} not found.")
        for method, match, name in routes:
            if method == req.method:
                allowed = WRITES[req.role]
                if method != "GET" and allowed is not None and name not in allowed:
                    raise ApiError(self.refusal_status, REFUSALS[self.refusal_status])
                req.params = match.groups()
                reply: Reply = getattr(self.api, name)(req)
                return reply
        raise ApiError(405, f'Method "{req.method}" not allowed.')

    def record(self, req: Request, served: Served, started: float) -> None:
        """Log an API request and what the client saw."""
        dropped = served.reply is None or (served.fault is not None and served.fault.kind == DROP_AFTER)
        self.log.record(
            method=req.method,
            path=req.path,
            query=req.query,
            status=None if dropped or served.reply is None else served.reply.status,
            body=_logged_body(req.body),
            fault=None if served.fault is None else served.fault.label,
            emulated_at=iso(self.state.now()),
            started=started,
            caller=_caller(req.headers.get("authorization")),
        )


def _caller(header: str | None) -> str | None:
    token = (header or "").strip().partition(" ")[2].strip()
    return caller_id(token) if token else None


def _logged_body(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


class Handler(BaseHTTPRequestHandler):
    """Turns HTTP/1.1 requests into `Request`s for the service, keeping connections alive."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, delayed ACKs would add ~40 ms to each answer.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve()

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve()

    def do_DELETE(self) -> None:
        """Serve a DELETE."""
        self._serve()

    def do_PUT(self) -> None:
        """Serve a PUT (only ever a 405)."""
        self._serve()

    def do_PATCH(self) -> None:
        """Serve a PATCH (only ever a 405)."""
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep stderr quiet; the request log records everything."""

    def _serve(self) -> None:
        started = time.time()
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        req = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=self.rfile.read(length) if length > 0 else b"",
        )
        service = self.server.service
        if req.path.startswith("/_emulator/"):
            self._send(service.admin(req))
            return
        served = service.serve(req)
        # Logged before answering, so a client that has its answer also finds it in the log.
        service.record(req, served, started)
        if served.reply is None or (served.fault is not None and served.fault.kind == DROP_AFTER):
            # Closing without a byte of answer is what a client sees when a proxy or the network dies.
            self.close_connection = True
        else:
            self._send(served.reply)

    def _send(self, reply: Reply) -> None:
        data = reply.raw if reply.raw is not None else b""
        if reply.raw is None and reply.status != 204:
            data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        if reply.status != 204:
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threaded server whose handlers reach the service through `self.server.service`."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        self.service = service
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hung up first (timeouts, dropped faults); report anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
