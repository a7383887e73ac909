"""What a request and an answer look like between the HTTP layer and the endpoints."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    # Set by the router: the caller's role and the numbers captured from the path.
    role: str = ""
    params: tuple[str, ...] = ()

    def json(self) -> Any:
        """The body decoded as JSON; an empty body reads as an empty object."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ApiError(400, f"JSON parse error - {exc}") from exc


@dataclass
class Reply:
    """One HTTP answer; `body` is sent as JSON unless `raw` is given."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"


class ApiError(Exception):
    """An error answered in dbt Cloud's envelope, with any members `beside` status and data; or, given `bare`,
    answered with that body alone (Django REST framework's own `{"detail": ...}`, no envelope)."""

    def __init__(
        self, code: int, message: str, data: Any = None, *, beside: JsonDict | None = None, bare: Any = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.beside = beside
        self.bare = bare

    def reply(self) -> Reply:
        """The answer this error gives."""
        if self.bare is not None:
            return Reply(self.code, self.bare)
        return fail(self.code, self.message, self.data, beside=self.beside)


def status_block(code: int, message: str) -> JsonDict:
    """The `status` member of every dbt Cloud answer."""
    return {"code": code, "is_success": code < 400, "user_message": message, "developer_message": ""}


def ok(data: Any, extra: JsonDict | None = None) -> Reply:
    """A 200 answer in the envelope."""
    body: JsonDict = {"status": status_block(200, "Success!"), "data": data}
    if extra is not None:
        body["extra"] = extra
    return Reply(200, body)


def fail(code: int, message: str, data: Any = None, *, beside: JsonDict | None = None) -> Reply:
    """An error answer in the envelope, with any further members `beside` status and data."""
    return Reply(code, {"status": status_block(code, message), "data": data, **(beside or {})})
