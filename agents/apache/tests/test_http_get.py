"""The apache agent's GET: status of an http:// URL over a plain socket, others via urllib."""

from __future__ import annotations

import socket
import threading

from hacore_agent_apache.http_get import http_status, read_status_line


class OneReply:
    """A loopback server answering one connection with ``reply``; keeps the request."""

    def __init__(self, reply: bytes) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.request = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(30)
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(30)
            while b"\r\n\r\n" not in self.request:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                self.request += chunk
            conn.sendall(self.reply)
        self.sock.close()

    def join(self) -> None:
        self.thread.join(30)


def test_status_and_reason_of_an_answer_and_the_request_sent():
    """A 200 gives (200, reason); the request is a GET of path and query with a Host header."""
    server = OneReply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert http_status(f"http://127.0.0.1:{server.port}/status?auto", 10) == (200, "OK")
    server.join()
    head = server.request.decode()
    assert head.startswith("GET /status?auto HTTP/1.0\r\n")
    assert f"Host: 127.0.0.1:{server.port}\r\n" in head


def test_error_statuses_and_redirects_are_answers_not_followed():
    """A 503 and a 302 come back as they are (the caller judges them); nothing is followed."""
    for reply, want in ((b"HTTP/1.0 503 Service Unavailable\r\n\r\n", 503),
                        (b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere/\r\n\r\n", 302)):
        server = OneReply(reply)
        assert http_status(f"http://127.0.0.1:{server.port}/", 10)[0] == want
        server.join()


def test_nothing_listening_or_garbage_is_no_answer_with_a_reason():
    """A refused connection or a reply that is not HTTP gives (None, why)."""
    spare = socket.create_server(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()
    code, why = http_status(f"http://127.0.0.1:{port}/", 10)
    assert code is None and "refused" in why.lower()
    server = OneReply(b"SSH-2.0-OpenSSH\r\n")
    code, why = http_status(f"http://127.0.0.1:{server.port}/", 10)
    server.join()
    assert code is None and "not an HTTP reply" in why


def test_status_line_reading():
    """Only ``HTTP/x NNN [reason]`` is a status line."""
    assert read_status_line(b"HTTP/1.1 404 Not Found\r\n") == (404, "Not Found")
    assert read_status_line(b"HTTP/1.0 204\r\n") == (204, "")
    assert read_status_line(b"")[0] is None
    assert read_status_line(b"HTTP/1.1 2000 Big\r\n")[0] is None
    assert read_status_line(b"<html>\r\n")[0] is None


def test_other_schemes_and_bad_urls_give_reasons():
    """https:// goes through urllib (nothing listens: no answer); a bad port is a reason."""
    spare = socket.create_server(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()
    assert http_status(f"https://127.0.0.1:{port}/", 10)[0] is None
    code, why = http_status("http://127.0.0.1:99999/", 10)
    assert code is None and "bad URL" in why
