"""The daemon's side of bootstrap: the join listener, tokens, and node add/remove requests.

Every daemon listens for joiners on its addresses at ``[cluster] message_port + 1``
(TLS 1.3, the node's certificate from the cluster CA, no client certificate asked: a
joiner has no key yet). The exchange, one JSON line each way:

1. server: ``hello`` with the cluster name, the CA certificate (PEM) and a fresh nonce;
2. joiner: having checked that the CA's fingerprint is the token's and that the server's
   certificate is signed by it, ``join`` with the token id, node id and expiry, its name,
   its addresses, its own nonce and the proof (hacore.bootstrap.token.proof);
3. server: checks the expiry and the proof, asks the coordinator to add the node (a
   config_version bump replicated to a quorum, the token recorded as spent), and answers
   ``welcome`` with the cluster key and the configuration, or ``refused`` with the reason.

Node changes run on the coordinator (``boot-req`` / ``boot-reply`` daemon messages, resent
until answered, answers kept by id), serialised with configuration pushes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import secrets
import ssl
import tempfile
import time
from typing import TYPE_CHECKING, Any

from hacore.bootstrap import state as boot_state
from hacore.bootstrap.nodes import NodeChange, with_node_added, with_node_removed
from hacore.bootstrap.token import check_token_secret, join_address, make_token
from hacore.bootstrap.wire import JOIN_PORT_OFFSET, MAX_LINE, decode_line, encode_line
from hacore.daemon.forwarding import (
    ServedRequests,
    ask_coordinator,
    refusal,
    still_coordinating,
)
from hacore.errors import HacoreError, InputError, OperationFailed
from hacore.files import write_atomically
from hacore.tls import NodeCredentials, pem_fingerprint

if TYPE_CHECKING:
    from hacore.daemon.node import NodeDaemon

log = logging.getLogger("hacore.bootstrap")

KINDS = frozenset({"boot-req", "boot-reply"})
REQUEST_TIMEOUT = 60.0
HANDSHAKE_TIMEOUT = 10.0
QUORUM_WAIT = 10.0  # how long a node change waits for a quorate view before refusing


class JoinEndpoint:
    """One daemon's join listener and node-change service (see the module docstring)."""

    def __init__(self, daemon: NodeDaemon, key: bytes, credentials: NodeCredentials,
                 listen: list[tuple[str, int]] | None = None) -> None:
        self.daemon = daemon
        self.key = key
        self.ca_pem = credentials.ca_pem.decode()
        self.fingerprint = pem_fingerprint(credentials.ca_pem)
        me = daemon.config.node(daemon.node)
        assert me is not None
        port = daemon.config.message_port + JOIN_PORT_OFFSET
        self.listen = listen or [(address, port) for address in me.addresses]
        # a joiner has no certificate yet: the token proves it, not TLS
        self.ssl, self.cert_der = join_server_context(credentials)
        self._servers: list[asyncio.base_events.Server] = []
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._requests = ServedRequests(daemon, "boot-reply")
        self.refused = 0  # joins refused (tests)

    # -- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on every address; an address that cannot be bound is logged."""
        for host, port in self.listen:
            try:
                server = await asyncio.start_server(
                    self._serve, host, port, ssl=self.ssl, reuse_address=True,
                    ssl_handshake_timeout=HANDSHAKE_TIMEOUT, limit=MAX_LINE)
            except OSError as exc:
                log.warning("%s cannot listen for joining nodes on %s: %s", self.daemon.node,
                            join_address(host, port), exc.strerror or exc)
                continue
            self._servers.append(server)

    async def stop(self) -> None:
        """Close the listeners."""
        for server in self._servers:
            server.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self._servers.clear()

    def addresses(self) -> list[str]:
        """Where joiners reach this node, ``host:port``."""
        return [join_address(h, p) for h, p in self.listen]

    # -- tokens ---------------------------------------------------------------------------

    def new_token(self, ttl: float) -> dict[str, Any]:
        """API ``cluster_token``: a fresh token admitting one node."""
        node_id = boot_state.next_node_id(self.daemon.state_dir,
                                          [n.id for n in self.daemon.config.nodes])
        token = make_token(self.key, self.fingerprint, node_id, self.addresses(), ttl)
        log.info("%s made join token %s (node id %d, valid until %s)", self.daemon.node,
                 token.token_id, node_id, time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                                         time.gmtime(token.expires)))
        return {"token": token.encode(), "token_id": token.token_id, "node_id": node_id,
                "expires": token.expires, "fingerprint": self.fingerprint,
                "addresses": list(token.addresses), "cluster": self.daemon.config.name}

    # -- the joiner's connection ----------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        who = f"joiner at {peer[0]}" if peer else "joiner"
        try:
            server_nonce = secrets.token_bytes(32)
            cert_der = self.cert_der
            writer.write(encode_line({"t": "hello", "cluster": self.daemon.config.name,
                                      "ca": self.ca_pem,
                                      "nonce": server_nonce.hex()}))
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), HANDSHAKE_TIMEOUT)
            request = decode_line(line, who)
            try:
                reply = await self._admit(request, server_nonce, cert_der, who)
            except HacoreError as exc:
                self.refused += 1
                log.warning("%s refused: %s", who, exc)
                reply = {"t": "refused", "reason": str(exc)}
            writer.write(encode_line(reply))
            await writer.drain()
        except (OSError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError,
                ValueError, HacoreError) as exc:
            log.info("join connection from %s ended: %s", who, exc or type(exc).__name__)
        finally:
            writer.close()

    async def _admit(self, req: dict[str, Any], server_nonce: bytes, cert_der: bytes,
                     who: str) -> dict[str, Any]:
        try:
            token_id, node_id = str(req["token_id"]), int(req["node_id"])
            expires, name = int(req["expires"]), str(req["node"])
            addresses = [str(a) for a in req["addresses"]]
            client_nonce = bytes.fromhex(str(req["nonce"]))
            answer = bytes.fromhex(str(req["proof"]))
        except (KeyError, TypeError, ValueError):
            raise InputError("a malformed join request") from None
        if len(client_nonce) < 16:
            raise InputError("a join request with a short nonce")
        if not check_token_secret(self.key, token_id, node_id, expires, server_nonce,
                                  client_nonce, cert_der, name, addresses, answer):
            raise OperationFailed("the token is not valid for this cluster (wrong or "
                                  "altered token, or made with another cluster key)")
        if time.time() >= expires:
            raise OperationFailed("the token expired at " + time.strftime(
                "%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires)) + "; make a fresh one with "
                "`hacore cluster token` on a member")
        log.info("%s proved join token %s; asking to add node %s (id %d)", who, token_id,
                 name, node_id)
        reply = await self.request({"op": "add", "token_id": token_id, "node_id": node_id,
                                    "expires": expires, "node": name, "addresses": addresses})
        return {"t": "welcome", "key": base64.b64encode(self.key).decode(), **reply}

    # -- node changes, served by the coordinator ------------------------------------------

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """Have the coordinator run a node change (``op`` add or remove); its reply."""
        deadline = time.monotonic() + QUORUM_WAIT  # a daemon just started is forming
        view = self.daemon.provider.view()
        while (not view.quorate or view.coordinator is None) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            view = self.daemon.provider.view()
        if not view.quorate or view.coordinator is None:
            raise OperationFailed(f"this partition ({self.daemon.node}) is not quorate: "
                                  "adding or removing a node requires quorum")
        if view.coordinator == self.daemon.node:
            reply = await self._run_change(body)
        else:
            reply = await ask_coordinator(
                self.daemon, "boot-req", body, self._waiters, timeout=REQUEST_TIMEOUT,
                late=f"the coordinator did not answer within {REQUEST_TIMEOUT:.0f} s")
        error = refusal(reply)
        if error is not None:
            raise error
        return reply

    def on_message(self, sender: str, kind: str, body: dict[str, Any]) -> None:
        """A ``boot-*`` message from member ``sender``."""
        if kind == "boot-req":
            asyncio.ensure_future(self._serve_request(sender, body))
        elif kind == "boot-reply":
            waiter = self._waiters.get(str(body.get("id")))
            if waiter is not None and not waiter.done():
                waiter.set_result(body)

    async def _serve_request(self, sender: str, body: dict[str, Any]) -> None:
        async def run() -> dict[str, Any]:
            still_coordinating(self.daemon)
            return await self._run_change(body)

        await self._requests.serve(sender, body, run)

    async def _run_change(self, body: dict[str, Any]) -> dict[str, Any]:
        """On the coordinator: check, build, replicate; a reply dict (never raises)."""
        try:
            if body.get("op") == "add":
                return await self._add(body)
            if body.get("op") == "remove":
                return await self._remove(str(body.get("node")))
            raise InputError(f"unknown node change {body.get('op')!r}")
        except HacoreError as exc:
            return {"ok": False, "message": str(exc), "exit_code": exc.exit_code}

    async def _add(self, body: dict[str, Any]) -> dict[str, Any]:
        token_id, node_id = str(body["token_id"]), int(body["node_id"])
        expires, name = int(body["expires"]), str(body["node"])
        addresses = [str(a) for a in body["addresses"]]
        change: list[NodeChange] = []

        def build(current):  # type: ignore[no-untyped-def]
            if time.time() >= expires:
                raise OperationFailed("the token expired")
            if boot_state.is_used(self.daemon.state_dir, token_id):
                raise OperationFailed("the token was used already (tokens are single-use; "
                                      "make a fresh one with `hacore cluster token`)")
            holder = next((n for n in current.nodes if n.id == node_id), None)
            if holder is not None:
                raise OperationFailed(f"the token was used already: node id {node_id} is "
                                      f"{holder.name} (tokens are single-use; make a fresh "
                                      "one with `hacore cluster token`)")
            result = with_node_added(current, name, node_id, addresses)
            change.append(result)
            return result.text, result.config, current

        spent = f"{token_id}:{expires}"
        boot_version = await self.daemon.configsync.replicate_nodes(build, [spent])
        boot_state.record_used_tokens(self.daemon.state_dir, [spent])
        done = change[-1]
        log.info("node %s (id %d) joined cluster %s: configuration version %d, expected "
                 "votes %d -> %d, quorum %d", name, node_id, done.config.name,
                 boot_version["version"], done.expected_before, done.expected_after,
                 done.quorum_after)
        return {"ok": True, "version": boot_version["version"], "config": done.text,
                "node_id": node_id, "expected_before": done.expected_before,
                "expected_after": done.expected_after, "quorum": done.quorum_after,
                "nodes": [n.name for n in done.config.nodes]}

    async def _remove(self, name: str) -> dict[str, Any]:
        change: list[NodeChange] = []

        def build(current):  # type: ignore[no-untyped-def]
            if name == self.daemon.node:
                raise InputError(f"{name} coordinates the cluster: run `hacore cluster "
                                 "remove` after it stopped, from another member")
            if name in self.daemon.provider.view().member_names():
                raise OperationFailed(f"{name} is a member: stop it first (`hacore node "
                                      f"leave {name}`, or stop its daemon) or fence it")
            result = with_node_removed(current, name)
            change.append(result)
            return result.text, result.config, result.config

        version = await self.daemon.configsync.replicate_nodes(build)
        done = change[-1]
        log.info("node %s was removed from cluster %s: configuration version %d, expected "
                 "votes %d -> %d, quorum %d", name, done.config.name, version["version"],
                 done.expected_before, done.expected_after, done.quorum_after)
        return {"ok": True, "version": version["version"], "removed": name,
                "expected_before": done.expected_before, "expected_after": done.expected_after,
                "quorum": done.quorum_after, "nodes": [n.name for n in done.config.nodes]}


def join_server_context(credentials: NodeCredentials) -> tuple[ssl.SSLContext, bytes]:
    """A TLS 1.3 server context presenting the node's certificate from the cluster CA (the
    one its message channel presents), asking no client certificate; and that
    certificate's DER (the joiner's proof is bound to it). Standard ``ssl`` only: the
    daemon never loads ``cryptography``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.verify_mode = ssl.CERT_NONE
    with tempfile.TemporaryDirectory(prefix="hacore-join-") as folder:
        cert_file, key_file = os.path.join(folder, "node.crt"), os.path.join(folder, "node.key")
        write_atomically(cert_file, credentials.cert_pem, 0o600)
        write_atomically(key_file, credentials.key_pem, 0o600)
        ctx.load_cert_chain(cert_file, key_file)
    return ctx, ssl.PEM_cert_to_DER_cert(credentials.cert_pem.decode())
