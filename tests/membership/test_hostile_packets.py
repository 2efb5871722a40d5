"""Packets an attacker (or a broken peer) sends with a raw socket are dropped and logged
at a limited rate; the membership does not move. Also: wire versions N and N+1 together."""

from __future__ import annotations

import asyncio
import logging
import socket

from hacore.membership import wire

from .cluster import KEY, LocalCluster, make_config
from .test_cluster import ALL3, run, started


def sender_socket(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    return sock


def test_forged_replayed_and_garbage_packets_are_dropped(caplog) -> None:
    """Garbage, wrong-key, other-cluster, unknown-node, misdirected, oversize and replayed
    packets are each dropped and counted, logged at most once per reason, and the view
    and its epoch stay as they were."""
    caplog.set_level(logging.WARNING, logger="hacore.membership")

    async def body() -> None:
        c = await started(3)
        try:
            target = c.nodes["n2"]
            dest = (c.config.node("n2").addresses[0], c.port)
            captured: list[bytes] = []
            real_send = c.nodes["n1"]._send

            def capture(name: str, link: int, peer_id: int, data: bytes,
                        confirm: bool = False) -> None:
                if name == "n2":
                    captured.append(data)
                real_send(name, link, peer_id, data, confirm)

            c.nodes["n1"]._send = capture  # type: ignore[method-assign]
            await c.wait_for(lambda: len(captured) >= 3, 10)
            epoch = target.view().epoch
            key, tag = wire.mac_key(KEY, c.config.name), wire.cluster_tag(c.config.name)
            hb = wire.heartbeat_body(wire.Heartbeat(grant=True, candidate=True))

            def signed(sender: int, dest_id: int = 2, k: bytes = key, t: bytes = tag) -> bytes:
                return wire.encode(wire.Packet(1, wire.KIND_HEARTBEAT, sender, dest_id,
                                               2**63, 1, hb), k, t)

            hostile = {
                "malformed": [b"", b"hello", b"HACM" + b"\0" * 80],
                "mac": [signed(1, k=wire.mac_key(b"z" * 32, c.config.name))],
                "cluster": [signed(1, k=wire.mac_key(KEY, "other"),
                                   t=wire.cluster_tag("other"))],
                "unknown": [signed(99)],
                "misdirected": [signed(1, dest_id=3)],
                "oversize": [b"\0" * (wire.MAX_PACKET + 10)],
                "replayed": captured[:3],
            }
            sock = sender_socket(c.config.node("n3").addresses[0].rsplit(".", 1)[0] + ".77")
            try:
                for _ in range(20):
                    for packets in hostile.values():
                        for data in packets:
                            sock.sendto(data, dest)
                    await asyncio.sleep(0.01)
            finally:
                sock.close()
            await c.wait_for(lambda: all(target.dropped.get(r, 0) >= 20 for r in hostile
                                         if r != "replayed")
                             and target.dropped.get("replayed", 0) >= 60, 10)
            await c.hold(lambda: c.agreed(ALL3, "n1") and target.view().epoch == epoch, 1)
            lines = [r.getMessage() for r in caplog.records if "n2: dropped" in r.getMessage()]
            for reason in hostile:
                assert target.dropped.get(reason, 0) >= 20, reason
            assert len(lines) <= 2 * len(hostile), lines  # rate limited: ~one per reason
            assert any("bad MAC" in line for line in lines)
            assert any("replayed" in line for line in lines)
        finally:
            await c.stop_all()
    run(body())


def test_unknown_wire_version_is_refused_by_name(caplog) -> None:
    """An authenticated packet in a version this node cannot speak is refused with a clear
    line naming the node and the versions, and a 'refused' event."""
    caplog.set_level(logging.WARNING, logger="hacore.membership")

    async def body() -> None:
        c = LocalCluster(make_config(2))
        try:
            node = await c.start("n1")
            key, tag = wire.mac_key(KEY, c.config.name), wire.cluster_tag(c.config.name)
            data = wire.encode(wire.Packet(wire.MAX_WIRE_VERSION + 1, wire.KIND_HEARTBEAT, 2, 1,
                                           1, 1, b"{}"), key, tag)
            sock = sender_socket(c.config.node("n2").addresses[0])
            try:
                for _ in range(5):
                    sock.sendto(data, (c.config.node("n1").addresses[0], c.port))
            finally:
                sock.close()
            await c.wait_for(lambda: node.dropped.get("version", 0) >= 5, 10)
            refused = [e for _, _, e in c.events if e.kind == "refused"]
            assert len(refused) == 1 and refused[0].node == "n2"
            lines = [r.getMessage() for r in caplog.records if "refusing n2" in r.getMessage()]
            assert len(lines) == 1
            assert f"wire version {wire.MAX_WIRE_VERSION + 1}" in lines[0]
        finally:
            await c.stop_all()
    run(body())


def test_versions_n_and_n_plus_1_interoperate() -> None:
    """An old node (writes 1, reads 1..1) and newer nodes (write 2, read 1..2) form one
    cluster: the newer nodes write version 1 to the old one once they heard what it reads;
    nothing is refused after that."""
    async def body() -> None:
        c = LocalCluster(make_config(3))
        try:
            old = await c.start("n1")
            old.speaks = (1, 1)
            for name in ("n2", "n3"):
                node = await c.start(name)
                node.write_version = 2
            await c.wait_for(lambda: c.agreed(ALL3), 20)
            assert c.nodes["n2"]._version_for(1) == 1
            assert c.nodes["n2"]._version_for(3) == 2
            refused = old.dropped.get("version", 0)
            await c.hold(lambda: c.agreed(ALL3), 1)
            assert old.dropped.get("version", 0) == refused  # no more after the first ones
        finally:
            await c.stop_all()
    run(body())
