"""One node of a test cluster as its own process: prints its view as JSON lines.

python -m tests.membership.node_main NAME NODES SUBNET PORT [ADDRESS,ADDRESS,...]
(with addresses, node i has the i-th address instead of 127.SUBNET.0.i)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import replace

from hacore.membership.contract import MembershipEvent
from hacore.membership.heartbeat import HeartbeatMembership

from .cluster import KEY, make_config


def line(data: dict) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


async def main(name: str, count: int, subnet: int, port: int, addresses: list[str]) -> None:
    config = make_config(count, subnet=subnet)
    if addresses:
        config = replace(config, nodes=tuple(replace(n, addresses=(a,))
                                             for n, a in zip(config.nodes, addresses)))
    provider = HeartbeatMembership(config, name, KEY, port=port)

    def event(e: MembershipEvent) -> None:
        line({"t": time.monotonic(), "event": e.kind, "left": list(e.left),
              "joined": list(e.joined), "members": list(e.view.member_names()),
              "quorate": e.view.quorate})

    provider.on_event(event)
    await provider.start()
    line({"t": time.monotonic(), "started": provider.incarnation})
    for _ in range(100000):  # bounded: the test kills us long before
        v = provider.view()
        line({"t": time.monotonic(), "members": list(v.member_names()), "quorate": v.quorate,
              "coordinator": v.coordinator, "epoch": v.epoch,
              "lease": provider.holds_fresh_lease()})
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    extra = sys.argv[5].split(",") if len(sys.argv) > 5 else []
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), extra))
