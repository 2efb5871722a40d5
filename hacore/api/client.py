"""A blocking client of the control API, for the CLI and tests."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from hacore.errors import HacoreError, InputError, OperationFailed

DEFAULT_SOCKET = "/run/hacore/hacore.sock"


def default_socket_path(given: str | None = None) -> str:
    """``given`` (--socket), else $HACORE_SOCKET, else /run/hacore/hacore.sock."""
    return given or os.environ.get("HACORE_SOCKET") or DEFAULT_SOCKET


class ApiError(HacoreError):
    """An error the daemon returned; ``exit_code`` is the daemon's."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ApiClient:
    """``ApiClient(path).call("status")`` -> the reply dict, or raises ApiError."""

    def __init__(self, path: str | None = None, timeout: float = 30.0) -> None:
        self.path = default_socket_path(path)
        self.timeout = timeout

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One request; raises ApiError with the daemon's message on an error reply."""
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self.path)
        except FileNotFoundError:
            raise OperationFailed(f"no hacore daemon socket at {self.path}: is the daemon "
                                  "running on this node? (set --socket or HACORE_SOCKET)") from None
        except PermissionError:
            raise InputError(f"{self.path}: permission denied; the control socket is for "
                             "root") from None
        except OSError as exc:
            raise OperationFailed(f"cannot reach the hacore daemon at {self.path}: "
                                  f"{exc.strerror or exc}") from None
        try:
            sock.sendall(json.dumps({"method": method, "params": params}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            raise OperationFailed(f"the hacore daemon at {self.path} did not answer "
                                  f"{method} within {self.timeout:g} s") from None
        except OSError as exc:
            raise OperationFailed(f"lost the connection to the hacore daemon at {self.path}: "
                                  f"{exc.strerror or exc}") from None
        finally:
            sock.close()
        try:
            reply = json.loads(data)
        except ValueError:
            raise OperationFailed(f"the hacore daemon at {self.path} sent a reply that is not "
                                  "JSON (did it stop mid-answer?)") from None
        if isinstance(reply, dict) and "error" in reply:
            err = reply["error"]
            raise ApiError(str(err.get("message")), int(err.get("exit_code", 1)))
        return reply
