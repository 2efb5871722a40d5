"""Join tokens: short-lived, single-use, proving nothing on the wire but a MAC.

A token is ``hcj1.`` followed by base64url (no padding) of compact JSON::

    {"i": token id (16 hex), "n": node id it admits, "e": expiry (epoch seconds),
     "s": secret (base64url, 16 bytes), "f": CA fingerprint (64 hex), "a": ["host:port", ...]}

The secret is ``HMAC-SHA256(join key, "i|n|e")[:16]`` where the join key is HKDF of the
cluster key (info ``"hacore join token"``): any node holding the cluster key checks a token
without a table of issued ones. The joiner never sends the secret: it answers the server's
nonce with ``HMAC(secret, "hacore-join-proof" | server nonce | client nonce | SHA-256 of
the server's certificate | node name | addresses)``, bound to the TLS server certificate it
verified against the fingerprint, so a relay cannot reuse it. The node id ``n`` makes a
token single-use: once a node with that id is in the (replicated) configuration, the token
is spent; the token ids used are also kept by every node that stored the join (bootstrap
state file), so a token cannot come back after that node is removed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass

from hacore.errors import InputError

PREFIX = "hcj1."
JOIN_INFO = b"hacore join token"
PROOF_LABEL = b"hacore-join-proof"
DEFAULT_TTL = 3600.0
MAX_TTL = 7 * 24 * 3600.0
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class TokenError(InputError):
    """A token that cannot be parsed (exit 2); the message says which part is wrong."""


@dataclass(frozen=True)
class JoinToken:
    """A parsed join token (see the module docstring)."""

    token_id: str
    node_id: int
    expires: int
    secret: bytes
    fingerprint: str
    addresses: tuple[str, ...]

    def encode(self) -> str:
        """The token's text form, ``hcj1.<base64url JSON>``."""
        body = {"i": self.token_id, "n": self.node_id, "e": self.expires,
                "s": _b64(self.secret), "f": self.fingerprint, "a": list(self.addresses)}
        raw = json.dumps(body, separators=(",", ":")).encode()
        return PREFIX + _b64(raw)

    def expired(self, now: float | None = None) -> bool:
        """True once the expiry time has passed."""
        return (time.time() if now is None else now) >= self.expires


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise TokenError(f"join token: {what} is not base64url") from None


def join_key(cluster_key: bytes) -> bytes:
    """The key join-token secrets are derived from (never the cluster key itself)."""
    from cryptography.hazmat.primitives import hashes  # only on a join or a new token
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=JOIN_INFO).derive(cluster_key)


def token_secret(cluster_key: bytes, token_id: str, node_id: int, expires: int) -> bytes:
    """The 16-byte secret of the token with this id, node id and expiry."""
    msg = f"{token_id}|{node_id}|{expires}".encode()
    return hmac.new(join_key(cluster_key), msg, hashlib.sha256).digest()[:16]


def make_token(cluster_key: bytes, fingerprint: str, node_id: int, addresses: list[str],
               ttl: float = DEFAULT_TTL, now: float | None = None) -> JoinToken:
    """A fresh token admitting one node with id ``node_id`` for ``ttl`` seconds."""
    if not 0 < ttl <= MAX_TTL:
        raise InputError(f"--ttl {ttl:g}: a token lives more than 0 and at most "
                         f"{MAX_TTL:.0f} seconds (7 days)")
    token_id = secrets.token_hex(8)
    expires = int((time.time() if now is None else now) + ttl)
    return JoinToken(token_id, node_id, expires,
                     token_secret(cluster_key, token_id, node_id, expires), fingerprint,
                     tuple(addresses))


def parse_token(text: str) -> JoinToken:
    """Parse a token; TokenError (exit 2) names the part that is wrong."""
    text = text.strip()
    if not text.startswith(PREFIX):
        raise TokenError(f"join token: it must start with {PREFIX!r} (copy the whole token "
                         "printed by `hacore cluster init` or `hacore cluster token`)")
    raw = _unb64(text[len(PREFIX):], "the part after 'hcj1.'")
    try:
        body = json.loads(raw)
    except ValueError:
        raise TokenError("join token: the encoded part is not JSON (is the token cut "
                         "short?)") from None
    if not isinstance(body, dict):
        raise TokenError("join token: the encoded part is not a JSON object")
    names = {"i": "the token id", "n": "the node id", "e": "the expiry", "s": "the secret",
             "f": "the CA fingerprint", "a": "the addresses"}
    for key, what in names.items():
        if key not in body:
            raise TokenError(f"join token: {what} ({key!r}) is missing")
    if not isinstance(body["i"], str) or not _HEX16.match(body["i"]):
        raise TokenError("join token: the token id ('i') must be 16 hex digits")
    for key in ("n", "e"):
        if isinstance(body[key], bool) or not isinstance(body[key], int) or body[key] < 1:
            raise TokenError(f"join token: {names[key]} ({key!r}) must be a positive integer")
    if body["n"] > 65535:
        raise TokenError("join token: the node id ('n') must be at most 65535")
    if not isinstance(body["s"], str):
        raise TokenError("join token: the secret ('s') must be a string")
    secret = _unb64(body["s"], "the secret ('s')")
    if len(secret) != 16:
        raise TokenError(f"join token: the secret ('s') must be 16 bytes, got {len(secret)}")
    if not isinstance(body["f"], str) or not _HEX64.match(body["f"]):
        raise TokenError("join token: the CA fingerprint ('f') must be 64 lowercase hex "
                         "digits (SHA-256)")
    addrs = body["a"]
    if not isinstance(addrs, list) or not addrs or \
            not all(isinstance(a, str) and a for a in addrs):
        raise TokenError("join token: the addresses ('a') must be a non-empty list of "
                         "'host:port' strings")
    for address in addrs:
        try:
            split_address(address, 0)
        except InputError as exc:
            raise TokenError(f"join token: the addresses ('a'): {exc}") from None
    return JoinToken(body["i"], body["n"], body["e"], secret, body["f"], tuple(addrs))


def split_address(text: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise InputError(f"address {text!r}: expected [IPv6]:PORT")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise InputError(f"address {text!r}: the host is empty")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"address {text!r}: the port must be 1..65535")
    return host, int(port_text)


def join_address(host: str, port: int) -> str:
    """The text form of an address: ``host:port`` or ``[v6]:port``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def proof(secret: bytes, server_nonce: bytes, client_nonce: bytes, server_cert_der: bytes,
          node: str, addresses: list[str]) -> bytes:
    """The joiner's answer to the server's challenge (see the module docstring)."""
    msg = b"|".join([PROOF_LABEL, server_nonce, client_nonce,
                     hashlib.sha256(server_cert_der).digest(), node.encode(),
                     ",".join(addresses).encode()])
    return hmac.new(secret, msg, hashlib.sha256).digest()


def check_token_secret(cluster_key: bytes, token_id: str, node_id: int, expires: int,
                       server_nonce: bytes, client_nonce: bytes, server_cert_der: bytes,
                       node: str, addresses: list[str], answer: bytes) -> bool:
    """True when ``answer`` is the proof of the token (id, node id, expiry) the cluster
    key made; compared in constant time."""
    secret = token_secret(cluster_key, token_id, node_id, expires)
    expected = proof(secret, server_nonce, client_nonce, server_cert_der, node, addresses)
    return hmac.compare_digest(expected, answer)
