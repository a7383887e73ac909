"""A loopback stand-in for the GitHub REST API: the pull requests a test declares, and a log of what was asked."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

PULL = re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)$")


@dataclass
class Asked:
    """One request the fake answered."""

    method: str
    path: str
    authorization: str | None


@dataclass
class FakeGitHub:
    """`pulls` maps (repository, number) to a state; `status` makes every answer that status instead."""

    pulls: dict[tuple[str, int], str] = field(default_factory=dict)
    token: str | None = None
    status: int | None = None
    asked: list[Asked] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The API root, as GITHUB_API_URL gives it."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.asked.append(Asked("GET", self.path, self.headers.get("Authorization")))
                status, body = fake.answer(self.path, self.headers.get("Authorization"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
        """GitHub's status and body for a request."""
        if self.status is not None:
            return self.status, {"message": "Resource not accessible by integration"}
        if self.token is not None and authorization != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}
        found = PULL.match(path)
        state = self.pulls.get((found[1], int(found[2]))) if found else None
        if found is None or state is None:
            return 404, {"message": "Not Found"}
        return 200, {"number": int(found[2]), "state": state, "merged": False}
