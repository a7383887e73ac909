"""A loopback stand-in for the GitHub REST API: the pull requests a test declares, their comments, and a log of
what was asked."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

PULL = re.compile(r"^/repos/([^/]+/[^/]+)/pulls/(\d+)$")
COMMENTS = re.compile(r"^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$")
COMMENT = re.compile(r"^/repos/([^/]+/[^/]+)/issues/comments/(\d+)$")
COMPARE = re.compile(r"^/repos/([^/]+/[^/]+)/compare/([^/.]+)\.\.\.(.+)$")
# GitHub's compare lists at most this many changed files (REST docs, "Compare two commits").
FILES_LISTED = 300
NOT_ALLOWED = {"message": "Resource not accessible by integration", "status": "403"}


@dataclass
class Asked:
    """One request the fake answered."""

    method: str
    path: str
    authorization: str | None
    body: Any = None


@dataclass
class FakeComment:
    """A comment on a pull request."""

    id: int
    repository: str
    number: int
    body: str
    user: str = "github-actions[bot]"


@dataclass
class FakeGitHub:
    """`pulls` maps (repository, number) to a state, `heads` to the head commit; `status` makes every answer that
    status instead, `writable=False` refuses comment writes as a read-only token is refused; `page_size` is how many
    comments a page holds at most. `bases` maps a base branch to the commits it has that any head lacks and the files
    they changed, as the compare endpoint answers `{head}...{base}` (a branch not listed: 404)."""

    pulls: dict[tuple[str, int], str] = field(default_factory=dict)
    heads: dict[tuple[str, int], str] = field(default_factory=dict)
    token: str | None = None
    status: int | None = None
    writable: bool = True
    page_size: int = 100
    comments: list[FakeComment] = field(default_factory=list)
    bases: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    asked: list[Asked] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The API root, as GITHUB_API_URL gives it."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def comment(self, repository: str, number: int, body: str) -> FakeComment:
        """Add a comment, as someone else would have written it."""
        with self._lock:
            made = FakeComment(len(self.comments) + 1, repository, number, body)
            self.comments.append(made)
            return made

    def comments_on(self, repository: str, number: int) -> list[FakeComment]:
        """The pull request's comments, oldest first."""
        with self._lock:
            return [c for c in self.comments if (c.repository, c.number) == (repository, number)]

    def writes(self) -> list[Asked]:
        """The requests that wrote a comment."""
        return [asked for asked in self.asked if asked.method in ("POST", "PATCH")]

    def __enter__(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                fake.asked.append(Asked(method, self.path, self.headers.get("Authorization"), body))
                status, answer, headers = fake.answer(method, self.path, self.headers.get("Authorization"), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

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

    def _shown(self, comment: FakeComment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "body": comment.body,
            "user": {"login": comment.user},
            "html_url": f"https://github.example/{comment.repository}/pull/{comment.number}#issuecomment-{comment.id}",
        }

    def answer(self, method: str, target: str, authorization: str | None, body: Any) -> tuple[int, Any, dict[str, str]]:
        """GitHub's status, body and headers for a request."""
        if self.status is not None:
            return self.status, {"message": "Resource not accessible by integration"}, {}
        if self.token is not None and authorization != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}, {}
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if method == "GET" and (found := PULL.match(path)):
            key = (found[1], int(found[2]))
            state = self.pulls.get(key)
            if state is None:
                return 404, {"message": "Not Found"}, {}
            return 200, {"number": key[1], "state": state, "merged": False, "head": {"sha": self.heads.get(key)}}, {}
        if method == "GET" and (found := COMPARE.match(path)):
            return self._compare(found[2], found[3], int(query.get("per_page", ["250"])[0]))
        if found := COMMENTS.match(path):
            repository, number = found[1], int(found[2])
            if method == "GET":
                return self._page(repository, number, int(query.get("page", ["1"])[0]))
            if method == "POST" and self.writable:
                made = self.comment(repository, number, str(body["body"]))
                return 201, self._shown(made), {}
        if method == "PATCH" and (found := COMMENT.match(path)) and self.writable:
            with self._lock:
                edited = next((c for c in self.comments if c.id == int(found[2])), None)
                if edited is None:
                    return 404, {"message": "Not Found"}, {}
                edited.body = str(body["body"])
            return 200, self._shown(edited), {}
        if method in ("POST", "PATCH") and not self.writable:
            return 403, NOT_ALLOWED, {}
        return 404, {"message": "Not Found"}, {}

    def _compare(self, head: str, base: str, per_page: int) -> tuple[int, Any, dict[str, str]]:
        """`head...base`: the base's commits since the two parted (one page of them) and the files they changed."""
        if base not in self.bases:
            return 404, {"message": "Not Found"}, {}
        count, files = self.bases[base]
        commits = [{"sha": f"{k:040x}"} for k in range(min(count, per_page))]
        listed = [{"filename": name, "status": "modified"} for name in files[:FILES_LISTED]]
        status = "behind" if count else "identical"
        shown = {"status": status, "ahead_by": count, "behind_by": 0, "total_commits": count}
        return 200, {**shown, "merge_base_commit": {"sha": head}, "commits": commits, "files": listed}, {}

    def _page(self, repository: str, number: int, page: int) -> tuple[int, Any, dict[str, str]]:
        every = self.comments_on(repository, number)
        start = (page - 1) * self.page_size
        rows = [self._shown(c) for c in every[start : start + self.page_size]]
        headers = {}
        if start + self.page_size < len(every):
            following = f"{self.url}/repos/{repository}/issues/{number}/comments?per_page=100&page={page + 1}"
            headers["Link"] = f'<{following}>; rel="next"'
        return 200, rows, headers
