"""One node of a membership test cluster, run inside a testbed node; prints JSON lines.

python -m tests.membership.netns_node SPEC_JSON
SPEC: {"name": "n1", "addresses": [["10.77.x.1", "10.78.x.1"], ...], "two_node": false,
"port": 5416}. Timing is the default (node_loss_timeout 1 s).

Lines (``t`` is the provider's clock, CLOCK_BOOTTIME, the same in every namespace):
``{"started": incarnation}``, one per event ``{"ev": kind, ...}``, and every 20 ms a sample
``{"m": members, "q": quorate, "c": coordinator, "e": epoch, "L": coordinates with a fresh
lease, "x": that lease's expiry, "d": drop counters}``.
"""

from __future__ import annotations

import asyncio
import json
import sys

from hacore.config.model import ClusterConfig, Node, Quorum, Timing
from hacore.membership.contract import MembershipEvent
from hacore.membership.heartbeat import HeartbeatMembership

KEY = b"netns-membership-test-key-32byte"
SAMPLE = 0.02


def line(data: dict) -> None:
    sys.stdout.write(json.dumps(data, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def config_from(spec: dict) -> ClusterConfig:
    """The cluster configuration a spec describes (nodes n1..nK, one vote each)."""
    nodes = tuple(Node(f"n{i}", i, tuple(addrs)) for i, addrs in enumerate(spec["addresses"], 1))
    two = bool(spec.get("two_node"))
    quorum = Quorum(expected_votes=len(nodes), two_node=two, wait_for_all=two)
    return ClusterConfig(name="netns-test", config_version=1, nodes=nodes, quorum=quorum,
                         timing=Timing())


async def main(spec: dict) -> None:
    provider = HeartbeatMembership(config_from(spec), spec["name"], KEY, port=spec["port"])

    def event(e: MembershipEvent) -> None:
        v = e.view
        line({"t": provider.now(), "ev": e.kind, "node": e.node, "detail": e.detail,
              "left": list(e.left), "joined": list(e.joined), "m": list(v.member_names()),
              "inc": {m.name: m.incarnation for m in v.members}, "q": v.quorate,
              "c": v.coordinator, "e": v.epoch, "agreed": v.agreed,
              "qf": [v.quorum.total, v.quorum.quorum]})

    provider.on_event(event)
    await provider.start()
    line({"t": provider.now(), "started": provider.incarnation})
    for i in range(10_000_000):  # bounded: the test kills us long before
        now = provider.now()
        v = provider.view()
        held = provider.state.coordinating and provider.state.holds_lease(now)
        sample = {"t": now, "m": list(v.member_names()), "q": v.quorate, "c": v.coordinator,
                  "e": v.epoch, "L": held, "x": provider.state.lease_expires(now) if held else 0,
                  "agreed": v.agreed, "ld": [list(x) for x in v.links_down]}
        if i % 10 == 0:
            sample["d"] = dict(provider.dropped)
        line(sample)
        await asyncio.sleep(SAMPLE)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
