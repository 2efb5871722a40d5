"""The control API on a unix socket: one JSON request per line, one JSON reply per line.

Only root may talk to it: the socket is mode 0600 in a 0700 directory, and the peer's
credentials (SO_PEERCRED) are checked on every connection, so a socket made reachable by
mistake still refuses other users.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import struct

from hacore.api.handlers import Api, error_reply
from hacore.errors import HacoreError

log = logging.getLogger("hacore.api")

MAX_REQUEST = 1 << 20
ALLOWED_UIDS = frozenset({0})


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a unix socket."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


class UnixApiServer:
    """Serves ``api`` on ``path`` until ``close()``."""

    def __init__(self, path: str, api: Api, allowed_uids: frozenset[int] = ALLOWED_UIDS) -> None:
        self.path = path
        self.api = api
        self.allowed_uids = allowed_uids
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if os.path.exists(self.path):
            if await _answers(self.path):
                raise HacoreError(f"another hacore daemon already answers on {self.path}; "
                                  "stop it or give this one another --socket")
            os.unlink(self.path)
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=self.path,
                                                           limit=MAX_REQUEST)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sock = writer.get_extra_info("socket")
            uid = peer_uid(sock)
            if uid not in self.allowed_uids:
                log.warning("refused an API connection from uid %d (root only)", uid)
                await asyncio.wait_for(reader.readline(), 5.0)  # let the client finish sending
                reply = error_reply(HacoreError("the hacore control socket is for root only"))
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
                return
            while True:
                line = await reader.readline()
                if not line:
                    return
                try:
                    request = json.loads(line)
                    method = request["method"]
                    params = request.get("params") or {}
                except (ValueError, KeyError, TypeError):
                    reply = error_reply(HacoreError("malformed request: expected one JSON "
                                                    'object {"method": ..., "params": {...}}'))
                else:
                    reply = await self.api.call(str(method), params)
                writer.write(json.dumps(reply, separators=(",", ":")).encode() + b"\n")
                await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            writer.close()


async def _answers(path: str) -> bool:
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), 1.0)
    except (TimeoutError, OSError):
        return False
    writer.close()
    return True
