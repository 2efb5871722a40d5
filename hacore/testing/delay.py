"""Packet delay without sch_netem: a user-space wire between a node and the switch.

Kernels without ``sch_netem`` (this CI's) cannot delay packets in tc. Instead, the node's
cable is cut open inside the switch namespace: the switch-side end of the node's veth is
renamed ``<node>w`` and taken off the bridge, a new veth pair ``<node>`` (bridge port, so
the fault rules keep matching) / ``<node>f`` is made, and a thread copies frames between
``<node>w`` and ``<node>f`` with raw packet sockets, holding every frame the node sends
for ``delay`` seconds. Frames towards the node pass at once. Offloaded (GSO) frames keep
their virtio-net header, so the kernel segments them on the way out.
"""

from __future__ import annotations

import heapq
import itertools
import select
import socket
import threading
import time

from hacore.testing.netns import call_in_netns

ETH_P_ALL = 0x0003
SOL_PACKET, PACKET_VNET_HDR = 263, 15
PACKET_OUTGOING = 4


def _packet_socket(netns_path: str, ifname: str) -> socket.socket:
    def make() -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        sock.bind((ifname, ETH_P_ALL))
        sock.setblocking(False)
        return sock

    return call_in_netns(netns_path, make)


class DelayWire:
    """Copies frames between two links in a namespace, delaying one direction."""

    def __init__(self, netns_path: str, node_side: str, switch_side: str, delay: float) -> None:
        self.delay = delay
        self._node = _packet_socket(netns_path, node_side)
        self._switch = _packet_socket(netns_path, switch_side)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"hacore-delay-{node_side}", daemon=True)

    def start(self) -> DelayWire:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._node.close()
        self._switch.close()

    def _run(self) -> None:
        queue: list[tuple[float, int, bytes]] = []
        order = itertools.count()
        peer = {self._node: self._switch, self._switch: self._node}
        while not self._stop.is_set():
            wait = 0.05 if not queue else max(0.0, min(0.05, queue[0][0] - time.monotonic()))
            try:
                readable, _, _ = select.select([self._node, self._switch], [], [], wait)
            except (OSError, ValueError):
                return
            for sock in readable:
                for _ in range(64):
                    try:
                        frame, address = sock.recvfrom(65600)
                    except BlockingIOError:
                        break
                    except OSError:
                        return
                    if address[2] == PACKET_OUTGOING:
                        continue
                    if sock is self._node:
                        heapq.heappush(queue, (time.monotonic() + self.delay, next(order), frame))
                    else:
                        self._send(self._node, frame)
            now = time.monotonic()
            while queue and queue[0][0] <= now:
                self._send(peer[self._node], heapq.heappop(queue)[2])

    @staticmethod
    def _send(sock: socket.socket, frame: bytes) -> None:
        try:
            sock.send(frame)
        except OSError:
            pass  # a full queue or a link going away loses the frame, as a wire would
