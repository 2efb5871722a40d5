"""Administrator requests: refusals with reasons, and what gets recorded."""

from __future__ import annotations

import pytest

from hacore.errors import InputError
from hacore.policy import (
    AdminRequest,
    RequestRefused,
    ServiceStatus,
    Snapshot,
    check_admin_request,
    decide,
    record_request,
)

from .helpers import cluster


def _snap(**services: ServiceStatus) -> Snapshot:
    return Snapshot(members={"n1": 0, "n2": 0, "n3": 0}, services=services)


def test_relocate_outside_restricted_domain_is_refused_with_members() -> None:
    """The refusal names the service, node, domain and its members."""
    cfg = cluster(3, domains={"webdomain": {"members": ["n1", "n2"], "restricted": True}},
                  services={"web": {"domain": "webdomain"}})
    snap = _snap(web=ServiceStatus("started", "n1", "n1"))
    with pytest.raises(RequestRefused) as err:
        check_admin_request(cfg, snap, AdminRequest("relocate", "web", "n3"))
    assert str(err.value) == ("service 'web' cannot move to n3: n3 is not in failover domain "
                              "'webdomain' (members: n1, n2)")


def test_unknown_names_are_input_errors() -> None:
    """Unknown service or node: InputError (exit 2) listing the valid names."""
    cfg = cluster(2)
    with pytest.raises(InputError, match=r"no service named 'mail' \(services: web\)"):
        check_admin_request(cfg, _snap(), AdminRequest("enable", "mail"))
    with pytest.raises(InputError, match=r"no node named 'n9' \(nodes: n1, n2\)"):
        check_admin_request(cfg, _snap(), AdminRequest("enable", "web", "n9"))


def test_failed_service_accepts_only_disable() -> None:
    """A failed service refuses enable and relocate; disable makes it disabled."""
    cfg = cluster(3)
    snap = _snap(web=ServiceStatus("failed", "n1", "n1", stop_failed_on="n1"))
    for op in ("enable", "relocate", "restart"):
        with pytest.raises(RequestRefused, match="only disable is accepted"):
            check_admin_request(cfg, snap, AdminRequest(op, "web"))
    after = record_request(cfg, snap, AdminRequest("disable", "web"))
    assert after.status("web").state == "disabled"
    assert after.status("web").stop_failed_on is None


def test_requests_need_quorum() -> None:
    """Without quorum every request is refused and says so."""
    cfg = cluster(3)
    snap = Snapshot(members={"n1": 0}, quorate=False)
    with pytest.raises(RequestRefused, match="not quorate"):
        check_admin_request(cfg, snap, AdminRequest("disable", "web"))


def test_frozen_service_refuses_moves() -> None:
    """A frozen service must be unfrozen before it is relocated."""
    cfg = cluster(3)
    snap = _snap(web=ServiceStatus("started", "n1", "n1", frozen=True))
    with pytest.raises(RequestRefused, match="frozen; unfreeze it first"):
        check_admin_request(cfg, snap, AdminRequest("relocate", "web"))
    assert record_request(cfg, snap, AdminRequest("unfreeze", "web")).status("web").frozen is False


def test_relocate_to_a_dead_node_is_refused() -> None:
    """A target outside the membership is refused (target node dead or nonexistent)."""
    cfg = cluster(3)
    snap = Snapshot(members={"n1": 0, "n2": 0}, services={"web": ServiceStatus("started", "n1")})
    with pytest.raises(RequestRefused, match="not a member"):
        check_admin_request(cfg, snap, AdminRequest("relocate", "web", "n3"))


def test_enable_clears_restart_history_and_targets_node() -> None:
    """enable starts afresh: no restart history, the requested node first."""
    cfg = cluster(3)
    snap = _snap(web=ServiceStatus("disabled", last_owner="n1", restarts=(1.0, 2.0)))
    after = record_request(cfg, snap, AdminRequest("enable", "web", "n3"))
    assert after.status("web").restarts == ()
    actions = decide(cfg, after, 0.0)
    assert [(a.kind, a.node) for a in actions] == [("start", "n3")]


def test_relocate_is_recorded_as_a_one_shot_intent() -> None:
    """relocate records intent and target; nothing else about the service changes."""
    cfg = cluster(3)
    snap = _snap(web=ServiceStatus("started", "n1", "n1"))
    st = record_request(cfg, snap, AdminRequest("relocate", "web", "n2")).status("web")
    assert (st.state, st.owner, st.intent, st.target) == ("started", "n1", "relocate", "n2")
