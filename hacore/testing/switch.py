"""Network faults as rules on the testbed's switch: partitions, cuts and packet loss.

The switch is a bridge in its own network namespace; every node (and the client) is one
bridge port named after it. Faults are nftables rules in the bridge family on that switch,
so they model the network rather than the nodes: they survive a node's reboot, and a node
cannot see or undo them. ARP and IPv6 neighbour discovery pass through cuts, so a one-way
cut stays one-way (blocking ARP replies would break the other direction too).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from hacore.errors import OperationFailed

TABLE = "hacore_testbed"


@dataclass
class SwitchRules:
    """The fault state of one switch: blocked directed port pairs and loss per sending port."""

    blocked: set[tuple[str, str]] = field(default_factory=set)
    loss: dict[str, float] = field(default_factory=dict)

    def block(self, src: str, dst: str) -> None:
        """Drop every IP frame from port ``src`` to port ``dst`` (one direction)."""
        if src != dst:
            self.blocked.add((src, dst))

    def clear(self) -> None:
        self.blocked.clear()
        self.loss.clear()

    def render(self) -> str:
        """The nft script that replaces the switch's fault table atomically."""
        lines = [
            f"table bridge {TABLE}",
            f"delete table bridge {TABLE}",
            f"table bridge {TABLE} {{",
            "  chain forward {",
            "    type filter hook forward priority 0; policy accept;",
        ]
        for port, percent in sorted(self.loss.items()):
            if percent >= 100:
                lines.append(f'    iifname "{port}" drop')
            elif percent > 0:
                lines.append(f'    iifname "{port}" numgen random mod 10000 < {int(percent * 100)} drop')
        if self.blocked:
            lines.append("    ether type arp accept")
            lines.append("    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept")
        for src, dst in sorted(self.blocked):
            lines.append(f'    iifname "{src}" oifname "{dst}" drop')
        lines += ["  }", "}"]
        return "\n".join(lines) + "\n"

    def apply(self, switch_netns: str) -> None:
        """Load the rules into the switch namespace."""
        proc = subprocess.run(
            ["nsenter", f"--net=/run/netns/{switch_netns}", "nft", "-f", "-"],
            input=self.render(), capture_output=True, text=True, timeout=30, check=False,
        )
        if proc.returncode != 0:
            raise OperationFailed(f"nft on the testbed switch failed: {proc.stderr.strip()}")
