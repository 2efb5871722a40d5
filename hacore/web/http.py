"""A small HTTP/1.1 layer on asyncio streams: enough for the console and its JSON API.

Requests are read with bounded sizes (headers 16 KiB, body 4 MiB); keep-alive is honoured;
no chunked request bodies (browsers and curl send Content-Length for JSON and forms).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_HEADER = 16 * 1024
MAX_BODY = 4 * 1024 * 1024
READ_TIMEOUT = 30.0

REASONS = {200: "OK", 303: "See Other", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 413: "Payload Too Large", 500: "Internal Server Error"}

#: sent with every answer: no framing, no sniffing, no referrer leaks, scripts from here only
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "Cache-Control": "no-store",
}


class BadRequest(Exception):
    """The request cannot be parsed; answered with ``status`` and the connection closed."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise BadRequest("the request body is not JSON") from None

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace")))

    @property
    def keep_alive(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(data, separators=(",", ":")).encode(),
                   "application/json")

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode())

    def encode(self, keep_alive: bool) -> bytes:
        head = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Unknown')}",
                f"Content-Type: {self.content_type}", f"Content-Length: {len(self.body)}",
                f"Connection: {'keep-alive' if keep_alive else 'close'}"]
        merged = {**SECURITY_HEADERS, **self.headers}
        head += [f"{k}: {v}" for k, v in merged.items()]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on the connection, or None when the peer closed it."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest("the request ended inside its headers") from None
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request headers too large", 413) from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        raise BadRequest("malformed request line") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("malformed header line")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise BadRequest("chunked request bodies are not supported; send Content-Length")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise BadRequest("Content-Length is not a number") from None
    if length < 0 or length > MAX_BODY:
        raise BadRequest(f"request body larger than {MAX_BODY} bytes", 413)
    body = await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT) if length else b""
    parts = urlsplit(target)
    return Request(method.upper(), parts.path or "/", dict(parse_qsl(parts.query)), headers,
                   body)


def sse_head() -> bytes:
    """Headers of a server-sent-events stream (kept open, no length)."""
    head = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream", "Connection: keep-alive",
            *(f"{k}: {v}" for k, v in SECURITY_HEADERS.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")


def sse_event(name: str, data: Any) -> bytes:
    """One server-sent event carrying JSON."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
