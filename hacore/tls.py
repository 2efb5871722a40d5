"""The cluster's certificate authority, derived from the cluster key, and TLS contexts.

Every node holds the cluster key, so every node derives the same CA: an Ed25519 key from
HKDF-SHA256(cluster key, info "hacore cluster ca"), a fixed subject, serial and validity.
Ed25519 signatures are deterministic, so the CA certificate is byte-identical on every node
and its SHA-256 fingerprint identifies the cluster (``CertificateAuthority.fingerprint``).

Each node issues its own certificate locally (``ca.issue``): the subject's common name and
a subjectAltName URI ``hacore-node:NAME`` name the node. Contexts are TLS 1.3 only with
mutual authentication: a peer without a certificate, or with one from another cluster's
key, fails the handshake; ``peer_node`` / ``check_peer`` read and check the node a peer's
certificate names (node names need not be DNS names, so no hostname matching is used).

    ca = cluster_ca(load_key("/etc/hacore/cluster.key"))
    server = server_context(ca, "n1")
    client = client_context(ca, "n2")   # then check_peer(writer, "n1") after connecting

The daemon keeps the ``cryptography`` package (about 10 MiB) out of its memory:
``node_credentials`` issues its certificate in a short helper process
(``python -m hacore.tls``) once, keeps it in ``<state-dir>/tls/`` (0600), and builds its
contexts from the PEM files with the standard ``ssl`` module alone.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import ssl
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hacore.errors import HacoreError
from hacore.files import write_atomically

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger("hacore.tls")

CA_INFO = b"hacore cluster ca"
CA_NAME = "hacore cluster CA"
NODE_URI_PREFIX = "hacore-node:"
#: fixed so that every node derives the same CA certificate
NOT_BEFORE = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)


class PeerRefused(HacoreError):
    """A TLS peer whose certificate does not name the node expected."""


def _derive(key: bytes, info: bytes, size: int = 32) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=size, salt=None, info=info).derive(key)


def _pem_key(private: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return private.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


@dataclass(frozen=True)
class CertificateAuthority:
    """The cluster CA: its private key (never written anywhere) and certificate."""

    private_key: Ed25519PrivateKey
    certificate: x509.Certificate

    def cert_pem(self) -> bytes:
        """The CA certificate, PEM."""
        from cryptography.hazmat.primitives import serialization

        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def fingerprint(self) -> str:
        """SHA-256 of the CA certificate's DER form, lowercase hex (64 characters)."""
        return pem_fingerprint(self.cert_pem())

    def credentials(self, node_name: str, addresses: tuple[str, ...] | list[str] = ()
                    ) -> NodeCredentials:
        """A fresh certificate for ``node_name`` with the CA certificate, as PEM."""
        cert_pem, key_pem = self.issue(node_name, addresses)
        return NodeCredentials(node_name, self.cert_pem(), cert_pem, key_pem)

    def issue(self, node_name: str, addresses: tuple[str, ...] | list[str] = ()
              ) -> tuple[bytes, bytes]:
        """A certificate for ``node_name`` (valid for its ``addresses`` too) and its fresh
        private key, both PEM: ``(cert_pem, key_pem)``."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        if not node_name:
            raise ValueError("a node certificate needs a node name")
        private = Ed25519PrivateKey.generate()
        alt: list[x509.GeneralName] = [x509.UniformResourceIdentifier(NODE_URI_PREFIX +
                                                                       node_name)]
        for address in addresses:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(address)))
            except ValueError:
                alt.append(x509.DNSName(address))
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_name)]))
                .issuer_name(self.certificate.subject)
                .public_key(private.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                      ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .add_extension(x509.SubjectAlternativeName(alt), critical=False)
                .sign(self.private_key, None))
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(private)


def cluster_ca(key: bytes) -> CertificateAuthority:
    """The CA every holder of the cluster key derives identically."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.x509.oid import NameOID

    private = Ed25519PrivateKey.from_private_bytes(_derive(key, CA_INFO))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    serial = int.from_bytes(_derive(key, CA_INFO + b" serial", 16), "big") >> 1 or 1
    cert = (x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private.public_key())
            .serial_number(serial)
            .not_valid_before(NOT_BEFORE)
            .not_valid_after(NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(private, None))
    return CertificateAuthority(private, cert)


def pem_fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of a PEM certificate's DER form, lowercase hex (no ``cryptography`` needed)."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem.decode())).hexdigest()


@dataclass(frozen=True)
class NodeCredentials:
    """What a node presents and trusts, PEM: the CA certificate, its own certificate and
    private key. Builds contexts with the standard ``ssl`` module only."""

    node: str
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def _context(self, protocol: int) -> ssl.SSLContext:
        ctx = ssl.SSLContext(protocol)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False  # node names are checked by check_peer instead
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cadata=self.ca_pem.decode())
        # load_cert_chain reads files only: a private directory, removed at once
        with tempfile.TemporaryDirectory(prefix="hacore-tls-") as folder:
            cert_file = os.path.join(folder, "node.crt")
            key_file = os.path.join(folder, "node.key")
            write_atomically(cert_file, self.cert_pem, 0o600)
            write_atomically(key_file, self.key_pem, 0o600)
            ctx.load_cert_chain(cert_file, key_file)
        return ctx

    def server_context(self) -> ssl.SSLContext:
        """TLS 1.3 server side, requiring a client certificate from the CA."""
        return self._context(ssl.PROTOCOL_TLS_SERVER)

    def client_context(self) -> ssl.SSLContext:
        """TLS 1.3 client side, trusting only the CA (check the peer with check_peer)."""
        return self._context(ssl.PROTOCOL_TLS_CLIENT)


def server_context(ca: CertificateAuthority, node_name: str,
                   addresses: tuple[str, ...] | list[str] = ()) -> ssl.SSLContext:
    """A TLS 1.3 server context for ``node_name`` that requires a client certificate
    issued by ``ca``."""
    return ca.credentials(node_name, addresses).server_context()


def client_context(ca: CertificateAuthority, node_name: str,
                   addresses: tuple[str, ...] | list[str] = ()) -> ssl.SSLContext:
    """A TLS 1.3 client context presenting ``node_name``'s certificate and trusting only
    ``ca``; check the server's node with ``check_peer`` after the handshake."""
    return ca.credentials(node_name, addresses).client_context()


CREDENTIAL_FILES = ("ca.crt", "node.crt", "node.key", "stamp")
HELPER_TIMEOUT = 60.0


def _stamp(key: bytes, node: str, addresses: tuple[str, ...] | list[str]) -> str:
    """Says which key, node and addresses stored credentials were made for (no secret)."""
    what = "\0".join(["hacore tls credentials v1", node, *addresses]).encode()
    return hmac.new(key, what, hashlib.sha256).hexdigest()


def node_credentials(key: bytes, node: str, addresses: tuple[str, ...] | list[str],
                     directory: str) -> NodeCredentials:
    """``node``'s credentials from ``directory`` (``<state-dir>/tls``) when they were made
    from this key for these addresses; else issued in a helper process (so this process
    never loads ``cryptography``) and stored there, private key mode 0600."""
    stamp = _stamp(key, node, addresses)
    paths = {name: os.path.join(directory, name) for name in CREDENTIAL_FILES}
    try:
        with open(paths["stamp"], encoding="ascii") as handle:
            if hmac.compare_digest(handle.read().strip(), stamp):
                return NodeCredentials(node, *(Path(paths[n]).read_bytes()
                                               for n in ("ca.crt", "node.crt", "node.key")))
    except (OSError, ValueError):
        pass
    creds = _issue_in_helper(key, node, addresses)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    write_atomically(paths["ca.crt"], creds.ca_pem, 0o644)
    write_atomically(paths["node.crt"], creds.cert_pem, 0o644)
    write_atomically(paths["node.key"], creds.key_pem, 0o600)
    write_atomically(paths["stamp"], stamp + "\n", 0o600)
    return creds


def _issue_in_helper(key: bytes, node: str, addresses: tuple[str, ...] | list[str]
                     ) -> NodeCredentials:
    request = json.dumps({"key": key.hex(), "node": node, "addresses": list(addresses)})
    try:
        proc = subprocess.run([sys.executable, "-m", "hacore.tls"], input=request,
                              capture_output=True, text=True, timeout=HELPER_TIMEOUT,
                              check=False)
        if proc.returncode == 0:
            out = json.loads(proc.stdout)
            return NodeCredentials(node, out["ca"].encode(), out["cert"].encode(),
                                   out["key"].encode())
        why = proc.stderr.strip()[-300:] or f"exit {proc.returncode}"
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
        why = str(exc)
    log.warning("issuing %s's certificate in a helper process failed (%s); issuing it here",
                node, why)
    return cluster_ca(key).credentials(node, addresses)


def _helper_main() -> int:
    """``python -m hacore.tls``: JSON {key (hex), node, addresses} on stdin -> PEMs."""
    request = json.loads(sys.stdin.read())
    creds = cluster_ca(bytes.fromhex(request["key"])).credentials(request["node"],
                                                                  request["addresses"])
    json.dump({"ca": creds.ca_pem.decode(), "cert": creds.cert_pem.decode(),
               "key": creds.key_pem.decode()}, sys.stdout)
    return 0


def peer_node(ssl_object: Any) -> str | None:
    """The node name the peer's (verified) certificate names, None if it names none."""
    cert = ssl_object.getpeercert() if ssl_object is not None else None
    if not cert:
        return None
    for kind, value in cert.get("subjectAltName", ()):
        if kind == "URI" and value.startswith(NODE_URI_PREFIX):
            return str(value[len(NODE_URI_PREFIX):])
    return None


def check_peer(ssl_object: Any, expected: str) -> None:
    """Raise PeerRefused unless the peer's certificate names node ``expected``."""
    found = peer_node(ssl_object)
    if found != expected:
        raise PeerRefused(f"the peer's certificate names node {found!r}, not {expected!r}")


if __name__ == "__main__":
    sys.exit(_helper_main())
