"""`hacore nodes` output from a MembershipView: the table (like cman_tool nodes) and JSON."""

from __future__ import annotations

import time
from typing import Any

from hacore.config.model import ClusterConfig
from hacore.membership.contract import MembershipView


def _when(wall: float | None) -> str:
    if not wall:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall))


def nodes_json(view: MembershipView, config: ClusterConfig) -> dict[str, Any]:
    """The stable JSON of `hacore nodes --json`: every configured node, and the quorum."""
    rows = []
    for member in view.members:
        rows.append({"id": member.id, "name": member.name, "state": "member",
                     "incarnation": member.incarnation, "joined": _when(member.joined),
                     "last_heard": None, "votes": member.votes, "address": member.address,
                     "local": member.name == view.local,
                     "coordinator": member.name == view.coordinator})
    for lost in view.lost:
        node = config.node(lost.name)
        rows.append({"id": lost.id, "name": lost.name, "state": "lost",
                     "incarnation": lost.incarnation, "joined": "",
                     "last_heard": _when(lost.last_heard), "votes": lost.votes,
                     "address": node.addresses[0] if node else "", "local": False,
                     "coordinator": False})
    rows.sort(key=lambda r: r["id"])
    q = view.quorum
    return {"local": view.local, "epoch": view.epoch, "coordinator": view.coordinator,
            "quorum": {"expected": q.expected, "total": q.total, "quorum": q.quorum,
                       "quorate": q.quorate, "reason": q.reason},
            "agreed": view.agreed,
            "lease": {"held": view.lease.held, "role": view.lease.role},
            "links_down": [{"node": n, "address": a} for n, a in view.links_down],
            "nodes": rows}


def nodes_table(view: MembershipView, config: ClusterConfig) -> str:
    """The text of `hacore nodes`: one line per node, then the quorum figures."""
    data = nodes_json(view, config)
    lines = [(f"{'Node':>4}  {'Sts':<3} {'Inc':>20}  {'Joined':<19}  {'Votes':>5}  "
             f"{'Address':<15}  Name")]
    for row in data["nodes"]:
        flags = ("*" if row["local"] else "") + (" (coordinator)" if row["coordinator"] else "")
        sts = "M" if row["state"] == "member" else "X"
        inc = row["incarnation"] if row["incarnation"] is not None else ""
        lines.append(f"{row['id']:>4}  {sts:<3} {inc:>20}  {row['joined']:<19}  "
                     f"{row['votes']:>5}  {row['address']:<15}  {row['name']}{flags}")
    q = data["quorum"]
    state = "quorate" if q["quorate"] else "NOT quorate: activity blocked"
    if not q["quorate"] and q["reason"]:
        state += f" ({q['reason']})"
    lines.append(f"Epoch {data['epoch']}; expected votes {q['expected']}, total votes "
                 f"{q['total']}, quorum {q['quorum']}: {state}")
    for link in data["links_down"]:
        lines.append(f"link down: {link['node']} at {link['address']}")
    return "\n".join(lines)
