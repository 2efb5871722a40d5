"""The policy engine: pure functions from (config, snapshot, now) to actions with reasons.

Public API:
- ``decide(config, snapshot, now) -> list[Action]``; ``stable_until(config, snapshot, now)
  -> float``: until when that answer holds (the next time a time-dependent rule can flip)
- ``apply(config, snapshot, actions, outcomes=None, now=0.0) -> Snapshot``
- ``no_quorum_actions(config, snapshot_local) -> list[Action]``
- ``check_admin_request(config, snapshot, request)`` / ``record_request(...) -> Snapshot``
- ``Snapshot``, ``ServiceStatus``, ``LostNode``, ``Report``, ``initial_snapshot``,
  ``snapshot_to_dict``, ``snapshot_from_dict``; quorum arithmetic in ``hacore.policy.quorum``.
"""

from hacore.policy.actions import Action
from hacore.policy.admin import (
    AdminRequest,
    RequestRefused,
    check_admin_request,
    record_cluster_maintenance,
    record_request,
)
from hacore.policy.apply import apply
from hacore.policy.decide import decide, idle_reason, stable_until
from hacore.policy.noquorum import no_quorum_actions
from hacore.policy.snapshot import (
    LostNode,
    Report,
    ServiceStatus,
    Snapshot,
    initial_snapshot,
    snapshot_from_dict,
    snapshot_to_dict,
)

__all__ = [
    "Action", "AdminRequest", "LostNode", "Report", "RequestRefused", "ServiceStatus",
    "Snapshot", "apply", "check_admin_request", "decide", "idle_reason", "initial_snapshot",
    "no_quorum_actions", "record_cluster_maintenance", "record_request", "snapshot_from_dict", "snapshot_to_dict",
    "stable_until",
]
