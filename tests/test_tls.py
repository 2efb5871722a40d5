"""The cluster CA derived from the cluster key and the TLS contexts built on it."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys

import pytest
from cryptography import x509

from hacore.tls import (
    PeerRefused,
    check_peer,
    client_context,
    cluster_ca,
    node_credentials,
    peer_node,
    pem_fingerprint,
    server_context,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def test_same_key_gives_byte_identical_ca() -> None:
    """Two derivations from one key give the same certificate and fingerprint."""
    a, b = cluster_ca(KEY), cluster_ca(bytes(KEY))
    assert a.cert_pem() == b.cert_pem()
    assert a.fingerprint() == b.fingerprint()
    assert len(a.fingerprint()) == 64
    assert cluster_ca(OTHER_KEY).fingerprint() != a.fingerprint()


def test_issued_certificate_names_node_and_addresses() -> None:
    """A node certificate is signed by the CA and names the node and its addresses."""
    ca = cluster_ca(KEY)
    cert_pem, key_pem = ca.issue("n1", ["10.0.0.1", "n1.example"])
    cert = x509.load_pem_x509_certificate(cert_pem)
    cert.verify_directly_issued_by(ca.certificate)
    alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert alt.get_values_for_type(x509.UniformResourceIdentifier) == ["hacore-node:n1"]
    assert [str(a) for a in alt.get_values_for_type(x509.IPAddress)] == ["10.0.0.1"]
    assert b"PRIVATE KEY" in key_pem


async def _handshake(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext | None,
                     expect: str = "n1") -> tuple[str | None, str | None, bytes]:
    """Connect once on loopback; (node the client saw, node the server saw, data read)."""
    seen: list[str | None] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(peer_node(writer.get_extra_info("ssl_object")))
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_ctx,
                                        ssl_handshake_timeout=5)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=client_ctx,
                                    server_hostname="" if client_ctx else None), 10)
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            check_peer(ssl_object, expect)
            data = await asyncio.wait_for(reader.read(2), 10)
            return peer_node(ssl_object), seen[0] if seen else None, data
        finally:
            writer.close()
    finally:
        server.close()


def test_mutual_tls_between_two_nodes() -> None:
    """Each side sees the other's node name; only TLS 1.3 is offered."""
    ca = cluster_ca(KEY)
    server, client = server_context(ca, "n1"), client_context(ca, "n2")
    assert server.minimum_version == ssl.TLSVersion.TLSv1_3
    assert asyncio.run(_handshake(server, client)) == ("n1", "n2", b"ok")


def test_other_cluster_key_is_refused() -> None:
    """A client whose certificate comes from another key fails the handshake."""
    server = server_context(cluster_ca(KEY), "n1")
    client = client_context(cluster_ca(OTHER_KEY), "n2")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        asyncio.run(_handshake(server, client))


def test_wrong_node_name_is_refused() -> None:
    """A valid certificate naming another node than the one expected is refused."""
    ca = cluster_ca(KEY)
    with pytest.raises(PeerRefused, match="'n3'"):
        asyncio.run(_handshake(server_context(ca, "n3"), client_context(ca, "n2")))


def test_plaintext_client_is_refused() -> None:
    """A client speaking plaintext (no TLS, no certificate) gets nothing."""
    ca = cluster_ca(KEY)

    async def run() -> bytes:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0,
                                            ssl=server_context(ca, "n1"),
                                            ssl_handshake_timeout=5)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x00\x00\x00\x05hello")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(100), 10)
            writer.close()
            return data
        finally:
            server.close()

    data = asyncio.run(run())
    assert b"hello" not in data and not data.startswith(b"\x00\x00")


def test_client_without_certificate_is_refused() -> None:
    """A TLS client that presents no certificate is cut off before the server serves it
    (TLS 1.3: the client learns it on its first read, as an error or end of stream)."""
    ca = cluster_ca(KEY)
    bare = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    bare.check_hostname = False
    bare.load_verify_locations(cadata=ca.cert_pem().decode())
    try:
        _, served, data = asyncio.run(_handshake(server_context(ca, "n1"), bare))
    except (ssl.SSLError, ConnectionError):
        return
    assert served is None and data == b""


def test_node_credentials_are_made_in_a_helper_and_kept(tmp_path) -> None:
    """The first call makes the credentials in a helper process and stores them (key 0600);
    the next call with the same key and addresses reads them back; another key or address
    makes new ones; they verify against the cluster CA."""
    folder = str(tmp_path / "tls")
    first = node_credentials(KEY, "n1", ["127.0.0.1"], folder)
    assert first.ca_pem == cluster_ca(KEY).cert_pem()
    assert os.stat(os.path.join(folder, "node.key")).st_mode & 0o777 == 0o600
    assert node_credentials(KEY, "n1", ["127.0.0.1"], folder) == first
    moved = node_credentials(KEY, "n1", ["127.0.0.2"], folder)
    assert moved.cert_pem != first.cert_pem
    other = node_credentials(OTHER_KEY, "n1", ["127.0.0.2"], folder)
    assert other.ca_pem == cluster_ca(OTHER_KEY).cert_pem()
    assert pem_fingerprint(other.ca_pem) == cluster_ca(OTHER_KEY).fingerprint()
    assert asyncio.run(_handshake(first.server_context(),
                                  cluster_ca(KEY).credentials("n2").client_context())) \
        == ("n1", "n2", b"ok")


def test_the_channel_side_never_loads_cryptography(tmp_path) -> None:
    """A process that gets its credentials with node_credentials and builds the channel's
    contexts does not import the cryptography package (memory)."""
    code = (
        "import sys\n"
        "from hacore.daemon.channel import MessageChannel\n"
        "from hacore.tls import node_credentials\n"
        f"creds = node_credentials(bytes(range(32)), 'n1', ['127.0.0.1'], {str(tmp_path)!r})\n"
        "MessageChannel('n1', creds, [('127.0.0.1', 1)], {}, print)\n"
        "print('cryptography' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "False"
