"""What a node does when its partition loses quorum: the local rule beside ``decide``.

``stop`` (the default): stop every service this node runs. ``freeze``: keep them running
but stop checking and moving them. ``ignore``: carry on (for operators who chose it
knowingly). Pure, like ``decide``.
"""

from __future__ import annotations

from hacore.config.model import ClusterConfig
from hacore.policy.actions import Action
from hacore.policy.index import index_for
from hacore.policy.quorum import describe_quorum
from hacore.policy.snapshot import ACTIVE_STATES, Snapshot


def _stop_reason(name: str, node: str, quorum: str) -> str:
    return (f"stop {name} on {node}: {node} lost quorum ({quorum}) and the no-quorum policy is "
            "stop, so it runs nothing it cannot defend (S2)")


def _freeze_reason(name: str, node: str, quorum: str) -> str:
    return (f"freeze {name} on {node}: {node} lost quorum ({quorum}) and the no-quorum policy "
            "is freeze: it keeps running, unchecked and unmoved, until quorum returns")


def no_quorum_actions(config: ClusterConfig, snapshot_local: Snapshot,
                      why: str | None = None) -> list[Action]:
    """The local actions of the node(s) in an inquorate partition.

    Acts on the services owned by ``snapshot_local.local`` if set, otherwise by any member of
    the partition the snapshot describes. Returns nothing when the partition is quorate.
    ``why`` says what cut the node off when its votes alone would be enough (a stalled loop,
    an election, a withdrawal); the reasons quote the vote figures otherwise.
    """
    if snapshot_local.quorate:
        return []
    policy = config.quorum.no_quorum_policy
    if policy == "ignore":
        return []
    mine = ({snapshot_local.local} if snapshot_local.local is not None
            else set(snapshot_local.members))
    quorum = why or describe_quorum(config, snapshot_local.members)
    out: list[Action] = []
    for plan in index_for(config).plans:
        st = snapshot_local.services.get(plan.name)
        if st is None or st.owner not in mine or st.state not in ACTIVE_STATES:
            continue
        if policy == "freeze":
            if not st.frozen:
                out.append(Action("freeze", plan.name, st.owner,
                                  why=(_freeze_reason, plan.name, st.owner, quorum)))
        else:
            out.append(Action("stop", plan.name, st.owner, plan.stop_resources, state="stopped",
                              why=(_stop_reason, plan.name, st.owner, quorum)))
    return out
