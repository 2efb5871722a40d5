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
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hacore.errors import HacoreError
from hacore.files import write_atomically

CA_INFO = b"hacore cluster ca"
CA_NAME = "hacore cluster CA"
NODE_URI_PREFIX = "hacore-node:"
#: fixed so that every node derives the same CA certificate
NOT_BEFORE = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)


class PeerRefused(HacoreError):
    """A TLS peer whose certificate does not name the node expected."""


def _derive(key: bytes, info: bytes, size: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=size, salt=None, info=info).derive(key)


def _pem_key(private: Ed25519PrivateKey) -> bytes:
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
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def fingerprint(self) -> str:
        """SHA-256 of the CA certificate's DER form, lowercase hex (64 characters)."""
        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)
                              ).hexdigest()

    def issue(self, node_name: str, addresses: tuple[str, ...] | list[str] = ()
              ) -> tuple[bytes, bytes]:
        """A certificate for ``node_name`` (valid for its ``addresses`` too) and its fresh
        private key, both PEM: ``(cert_pem, key_pem)``."""
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


def _context(purpose: ssl.Purpose, ca: CertificateAuthority, node_name: str,
             addresses: tuple[str, ...] | list[str]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if purpose is ssl.Purpose.CLIENT_AUTH
                         else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False  # node names are checked by check_peer instead
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=ca.cert_pem().decode())
    cert_pem, key_pem = ca.issue(node_name, addresses)
    # load_cert_chain reads files only: a private directory, removed at once
    with tempfile.TemporaryDirectory(prefix="hacore-tls-") as folder:
        cert_file, key_file = os.path.join(folder, "node.crt"), os.path.join(folder, "node.key")
        write_atomically(cert_file, cert_pem, 0o600)
        write_atomically(key_file, key_pem, 0o600)
        ctx.load_cert_chain(cert_file, key_file)
    return ctx


def server_context(ca: CertificateAuthority, node_name: str,
                   addresses: tuple[str, ...] | list[str] = ()) -> ssl.SSLContext:
    """A TLS 1.3 server context for ``node_name`` that requires a client certificate
    issued by ``ca``."""
    return _context(ssl.Purpose.CLIENT_AUTH, ca, node_name, addresses)


def client_context(ca: CertificateAuthority, node_name: str,
                   addresses: tuple[str, ...] | list[str] = ()) -> ssl.SSLContext:
    """A TLS 1.3 client context presenting ``node_name``'s certificate and trusting only
    ``ca``; check the server's node with ``check_peer`` after the handshake."""
    return _context(ssl.Purpose.SERVER_AUTH, ca, node_name, addresses)


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
