"""Snapshot JSON form."""

from __future__ import annotations

import json

import pytest

from hacore.errors import InputError
from hacore.policy import (
    LostNode,
    Report,
    ServiceStatus,
    Snapshot,
    snapshot_from_dict,
    snapshot_to_dict,
)


def _full() -> Snapshot:
    return Snapshot(
        members={"n1": 0, "n2": 3}, quorate=True, generation=3, coordinator="n1",
        lost={"n3": LostNode(fenced=False, self_stop_deadline=42.5)},
        standby=frozenset({"n2"}),
        services={"web": ServiceStatus(state="started", owner="n1", last_owner="n1",
                                       frozen=True, restarts=(1.0, 2.0),
                                       subtree_restarts={"logs": (3.0,)},
                                       stopped_subtrees=frozenset({"stats"}),
                                       intent="relocate", target="n2",
                                       avoid=frozenset({"n3"}), placed_gen=2),
                  "db": ServiceStatus(state="failed", owner="n3", stop_failed_on="n3")},
        reports={"web": {"n2": Report("running")}, "db": {"n1": Report("failed", "fs")}},
        local="n1",
    )


def test_round_trip_through_json_keeps_everything() -> None:
    """to_dict -> JSON text -> from_dict gives an equal snapshot."""
    snap = _full()
    again = snapshot_from_dict(json.loads(json.dumps(snapshot_to_dict(snap))))
    assert again == snap


def test_unknown_state_is_refused_with_the_key_and_choices() -> None:
    """A bad state names services.web.state and lists the valid states."""
    raw = snapshot_to_dict(_full())
    raw["services"]["web"]["state"] = "running"
    with pytest.raises(InputError, match=r"services\.web\.state: 'running' is not one of stopped"):
        snapshot_from_dict(raw)


def test_members_must_be_an_object() -> None:
    """members given as a list is refused with what is expected."""
    with pytest.raises(InputError, match="members: expected an object"):
        snapshot_from_dict({"members": ["n1"]})


def test_bad_report_status_is_refused() -> None:
    """A report status outside running/stopped/failed is refused."""
    raw = snapshot_to_dict(_full())
    raw["reports"]["web"]["n2"]["status"] = "up"
    with pytest.raises(InputError, match=r"reports\.web\.n2\.status"):
        snapshot_from_dict(raw)


def test_placement_lists_only_started_services() -> None:
    """placement() maps started services to their owner and others to None."""
    assert _full().placement() == {"web": "n1", "db": None}
