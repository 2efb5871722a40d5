"""The joining side of ``hacore cluster join``: reach a member, check it, prove the token.

No trust on first use: the server's CA certificate must have the token's fingerprint and
the server's own certificate must be signed by that CA (the TLS handshake proved the server
holds that certificate's key). Only then is anything sent, and never the token's secret:
a proof bound to the nonces and the server certificate (hacore.bootstrap.token).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from hacore.bootstrap.token import JoinToken, join_address, proof
from hacore.bootstrap.wire import MAX_LINE, decode_line, encode_line
from hacore.errors import HacoreError, OperationFailed
from hacore.tls import NODE_URI_PREFIX

CONNECT_TIMEOUT = 5.0
REPLY_TIMEOUT = 90.0  # the cluster stores the new configuration on a quorum first


class JoinRefused(OperationFailed):
    """The cluster (or a server pretending to be it) refused or failed the join."""


@dataclass(frozen=True)
class Welcome:
    """What a successful join brings: the key, the configuration, the quorum figures."""

    key: bytes
    config_text: str
    version: int
    node_id: int
    expected_before: int
    expected_after: int
    quorum: int
    nodes: list[str]
    server: str


def _client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # verified below against the token's fingerprint
    return ctx


def check_server(ca_pem: str, server_der: bytes, fingerprint: str, where: str) -> str:
    """Check the server's CA against the token and its certificate against the CA; the
    node name the server's certificate names."""
    try:
        ca = x509.load_pem_x509_certificate(ca_pem.encode())
        leaf = x509.load_der_x509_certificate(server_der)
    except ValueError:
        raise JoinRefused(f"{where} sent a certificate that cannot be read; refusing") from None
    found = hashlib.sha256(ca.public_bytes(serialization.Encoding.DER)).hexdigest()
    if found != fingerprint:
        raise JoinRefused(f"{where} belongs to another cluster or is a man in the middle: its "
                          f"CA fingerprint is {found[:16]}…, the token names "
                          f"{fingerprint[:16]}…; nothing was sent")
    try:
        if leaf.issuer != ca.subject:
            raise InvalidSignature
        ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes)  # type: ignore[call-arg]
    except (InvalidSignature, TypeError, ValueError):
        raise JoinRefused(f"{where} presents a certificate the cluster's CA did not sign (a "
                          "man in the middle?); nothing was sent") from None
    try:
        uris = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [u for u in uris.get_values_for_type(x509.UniformResourceIdentifier)
                 if u.startswith(NODE_URI_PREFIX)]
    except x509.ExtensionNotFound:
        names = []
    return names[0][len(NODE_URI_PREFIX):] if names else "?"


def _read_line(sock: ssl.SSLSocket, where: str) -> dict[str, Any]:
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_LINE:
            raise JoinRefused(f"{where} sent a message larger than {MAX_LINE} bytes")
    return decode_line(bytes(data), where)


def join_once(host: str, port: int, token: JoinToken, node: str, addresses: list[str],
              timeout: float = REPLY_TIMEOUT) -> Welcome:
    """One attempt at ``host:port``. JoinRefused for a refusal or a server that fails the
    checks; OSError when it cannot be reached."""
    where = join_address(host, port)
    with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT) as raw, \
            _client_context().wrap_socket(raw) as sock:
        sock.settimeout(timeout)
        server_der = sock.getpeercert(binary_form=True)
        if not server_der:
            raise JoinRefused(f"{where} presented no certificate")
        hello = _read_line(sock, where)
        if hello.get("t") != "hello" or not isinstance(hello.get("ca"), str):
            raise JoinRefused(f"{where} is not a hacore join endpoint")
        server_node = check_server(hello["ca"], server_der, token.fingerprint, where)
        try:
            server_nonce = bytes.fromhex(str(hello.get("nonce")))
        except ValueError:
            raise JoinRefused(f"{where} sent a malformed challenge") from None
        client_nonce = secrets.token_bytes(32)
        answer = proof(token.secret, server_nonce, client_nonce, server_der, node,
                       addresses)
        sock.sendall(encode_line({
            "t": "join", "token_id": token.token_id, "node_id": token.node_id,
            "expires": token.expires, "node": node, "addresses": addresses,
            "nonce": client_nonce.hex(), "proof": answer.hex()}))
        reply = _read_line(sock, where)
    if reply.get("t") == "refused":
        raise JoinRefused(f"cluster {hello.get('cluster')!r} ({server_node} at {where}) "
                          f"refused the join: {reply.get('reason')}")
    if reply.get("t") != "welcome":
        raise JoinRefused(f"{where} answered something unexpected")
    try:
        return Welcome(base64.b64decode(reply["key"]), str(reply["config"]),
                       int(reply["version"]), int(reply["node_id"]),
                       int(reply["expected_before"]), int(reply["expected_after"]),
                       int(reply["quorum"]), [str(n) for n in reply["nodes"]],
                       f"{server_node} at {where}")
    except (KeyError, TypeError, ValueError):
        raise JoinRefused(f"{where} sent an incomplete welcome") from None


def join(targets: list[tuple[str, int]], token: JoinToken, node: str,
         addresses: list[str]) -> Welcome:
    """Try each target in turn until one answers (a refusal ends the attempts)."""
    errors = []
    for host, port in targets:
        try:
            return join_once(host, port, token, node, addresses)
        except JoinRefused:
            raise
        except (OSError, ssl.SSLError, HacoreError) as exc:
            errors.append(f"{join_address(host, port)}: {getattr(exc, 'strerror', None) or exc}")
    raise OperationFailed("no member of the cluster could be reached (" + "; ".join(errors) +
                          "); check the address and that the daemon runs there")
