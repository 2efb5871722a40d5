"""Membership and quorum: who is in the cluster, whether it is quorate, who coordinates,
and whether the local node may act (docs/protocol.md).

The contract is in :mod:`hacore.membership.contract`; the built-in provider is
:class:`hacore.membership.heartbeat.HeartbeatMembership`.
"""

from hacore.membership.contract import (
    LeaseState,
    LostNode,
    Member,
    MembershipEvent,
    MembershipProvider,
    MembershipView,
    Message,
    QuorumFigures,
)
from hacore.membership.heartbeat import HeartbeatMembership
from hacore.membership.keyfile import DEFAULT_KEY_FILE, load_key
from hacore.membership.render import nodes_json, nodes_table

__all__ = [
    "DEFAULT_KEY_FILE",
    "HeartbeatMembership",
    "LeaseState",
    "LostNode",
    "Member",
    "MembershipEvent",
    "MembershipProvider",
    "MembershipView",
    "Message",
    "QuorumFigures",
    "load_key",
    "nodes_json",
    "nodes_table",
]
