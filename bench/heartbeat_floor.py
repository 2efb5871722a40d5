"""The CPU floor of a node's heartbeat traffic, on loopback only: what the packets alone cost.

A node of an N-node cluster sends a heartbeat to each of its N-1 peers every interval and
reads theirs. This bench runs N plain processes doing just that with datagrams of a
heartbeat's size on 127.a.b.c addresses, for ``--seconds``, and prints the CPU each used
(utime + stime after start-up, as a share of one CPU), in two forms:

- ``bare``: a blocking loop (select, sendto, recv), no event loop, no encoding, no MAC;
- ``asyncio+json+hmac``: an asyncio datagram endpoint and a sleep per tick, each packet
  JSON-encoded and signed with HMAC-SHA256, each received one checked and parsed: the
  work the daemon's heartbeat path cannot do without.

bench/idle.py's idle figure is the daemon doing this plus its own protocol work; the floor
tells how much of it any implementation of the same traffic pays on this machine.

Run: python bench/heartbeat_floor.py [--nodes 3] [--interval 0.1] [--seconds 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import textwrap

#: one node: argv = index, interval, seconds, mode, then every node's "ip:port"
NODE = textwrap.dedent('''
    import asyncio, hmac, json, resource, select, socket, sys, time
    me, interval, seconds, mode = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    addrs = [(a.split(":")[0], int(a.split(":")[1])) for a in sys.argv[5:]]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(addrs[me])
    peers = [a for i, a in enumerate(addrs) if i != me]
    key = b"k" * 32
    body = {"ai": 1700000000000000000, "as": 12345, "g": 1, "c": 0, "f": 1, "e": 3, "w": 1,
            "sp": [1, 2], "v": {"e": 3, "m": [[1, 1700000000000000001]] * len(addrs),
                                "x": len(addrs), "l": 0.49}}
    encoder = json.JSONEncoder(separators=(",", ":"))
    size = len(encoder.encode(body)) + 76  # the envelope and the MAC

    def packet():
        data = encoder.encode(body).encode()
        return data + hmac.digest(key, data, "sha256")

    def handle(data):
        signed, mac = data[:-32], data[-32:]
        if hmac.compare_digest(mac, hmac.digest(key, signed, "sha256")):
            json.loads(signed)

    def bare(end):
        payload = b"x" * size
        due = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= end:
                return
            if now >= due:
                for peer in peers:
                    sock.sendto(payload, peer)
                due += interval
            ready, _, _ = select.select([sock], [], [], max(0.0, min(due, end) - time.monotonic()))
            if ready:
                sock.recv(9000)

    async def with_asyncio(end):
        class Reader(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                handle(data)
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(Reader, sock=sock)
        while time.monotonic() < end:
            for peer in peers:
                transport.sendto(packet(), peer)
            await asyncio.sleep(interval)
        transport.close()

    async def drained_per_tick(end):
        sock.setblocking(False)
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            asyncio.DatagramProtocol, sock=sock)
        transport.pause_reading()
        while time.monotonic() < end:
            while True:
                try:
                    handle(sock.recv(9000))
                except BlockingIOError:
                    break
            for peer in peers:
                transport.sendto(packet(), peer)
            await asyncio.sleep(interval)
        transport.close()

    time.sleep(0.5)  # every node bound before anyone sends
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    if mode == "bare":
        bare(started + seconds)
    elif mode == "asyncio+json+hmac":
        asyncio.run(with_asyncio(started + seconds))
    else:
        asyncio.run(drained_per_tick(started + seconds))
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    print(json.dumps({"cpu": 100 * used / (time.monotonic() - started)}))
''')
MODES = ("bare", "asyncio+json+hmac", "asyncio+json+hmac, read per tick")


def run_once(nodes: int, interval: float, seconds: float, mode: str) -> list[float]:
    """Per-process CPU % of one run of ``nodes`` processes."""
    a, b = random.randint(100, 250), random.randint(1, 250)
    port = random.randint(20000, 40000)
    addrs = [f"127.{a}.{b}.{i + 1}:{port}" for i in range(nodes)]
    procs = [subprocess.Popen([sys.executable, "-c", NODE, str(i), str(interval), str(seconds),
                               mode, *addrs], stdout=subprocess.PIPE, text=True)
             for i in range(nodes)]
    try:
        outs = [p.communicate(timeout=seconds + 60)[0] for p in procs]
    finally:
        for p in procs:  # by PID: only the processes this run started
            if p.poll() is None:
                p.kill()
                p.wait()
    return [json.loads(out)["cpu"] for out in outs]


def floor(nodes: int, interval: float, seconds: float, runs: int) -> dict[str, float]:
    """Median per-process CPU % of each mode over ``runs``."""
    return {mode: statistics.median(c for _ in range(runs)
                                    for c in run_once(nodes, interval, seconds, mode))
            for mode in MODES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.1,
                        help="seconds between heartbeats (the daemon's default: 0.1)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figures = floor(args.nodes, args.interval, args.seconds, args.runs)
    load = os.getloadavg()
    print(f"{args.nodes} processes, a heartbeat to each peer every {args.interval:g} s, "
          f"{args.runs} runs x {args.seconds:g} s; load {load[0]:.1f}")
    for mode, cpu in figures.items():
        print(f"  {mode}: {cpu:.2f} % CPU per process (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
