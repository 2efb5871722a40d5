"""The console's TLS certificate: the one the admin supplies, or a self-signed one made at
first start (ECDSA P-256, valid ten years, naming the node and its address)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from hacore.errors import InputError
from hacore.files import write_atomically

VALID_DAYS = 3650


def make_self_signed(common_name: str, names: list[str]) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) of a new self-signed server certificate;
    ``names`` go into subjectAltName (IP addresses as IP entries, others as DNS)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hacore web console")])
    alt: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def ensure_certificate(cert_path: str | Path, key_path: str | Path, common_name: str,
                       names: list[str]) -> bool:
    """Make a self-signed pair at the paths unless both exist; True when one was made.
    One of the two without the other is an error (the admin supplied half a pair)."""
    cert, key = Path(cert_path), Path(key_path)
    if cert.exists() and key.exists():
        return False
    if cert.exists() != key.exists():
        have, missing = (cert, key) if cert.exists() else (key, cert)
        raise InputError(f"web console: {have} exists but {missing} does not; give both the "
                         "certificate and its key, or remove both to get a self-signed pair")
    cert_pem, key_pem = make_self_signed(common_name, names)
    write_atomically(key, key_pem, 0o600)
    write_atomically(cert, cert_pem, 0o644)
    return True
