"""The HTTP status one GET of a URL gets: what the start's readiness wait and monitor depth
10 ask.

A plain ``http://`` URL is asked over a socket directly (HTTP/1.0, the status line only):
urllib.request would bring http.client, email and ssl into the executor's helper, which
imports every agent before it forks (about 2 MiB of each node's memory). Any other scheme
(``https://`` in a status_url) goes through urllib, imported on first use. No proxy from
the environment is ever used, and a redirect is an answer like any other (below 500).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

MAX_STATUS_LINE = 4096


def http_status(url: str, timeout: float) -> tuple[int | None, str]:
    """The HTTP status a GET of ``url`` gets (None when nothing answers) and why."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or 80
    except ValueError as exc:  # a bad port or a malformed address
        return None, f"bad URL {url!r}: {exc}"
    if parts.scheme != "http":
        return _urllib_status(url, timeout)
    if not host:
        return None, f"bad URL {url!r}: no host"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = (f"GET {target} HTTP/1.0\r\nHost: {parts.netloc}\r\n"
               "User-Agent: hacore-agent-apache\r\nConnection: close\r\n\r\n").encode()
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(request)
            data = b""
            while b"\n" not in data and len(data) < MAX_STATUS_LINE:
                chunk = sock.recv(MAX_STATUS_LINE)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        return None, str(exc)
    return read_status_line(data)


def read_status_line(data: bytes) -> tuple[int | None, str]:
    """(status, reason) from the start of a reply: ``HTTP/1.1 200 OK``."""
    line = data.split(b"\n", 1)[0].decode("latin-1").strip()
    fields = line.split(None, 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit() \
            or len(fields[1]) != 3:
        return None, f"not an HTTP reply: {line[:80]!r}" if line else "empty reply"
    return int(fields[1]), fields[2] if len(fields) > 2 else ""


def _urllib_status(url: str, timeout: float) -> tuple[int | None, str]:
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, str(exc.reason)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))
