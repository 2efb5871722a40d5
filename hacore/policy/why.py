"""Why a service is not running, or waits: the answers ``decide`` implies but does not act on.

``waiting_reasons`` is pure like ``decide``; ``hacore simulate`` prints it under the final
table, and ``hacore why`` can use it for one service.
"""

from __future__ import annotations

from hacore.config.model import ClusterConfig
from hacore.fencing import rules as fencing
from hacore.policy.index import index_for
from hacore.policy.maintenance import maintenance_reason
from hacore.policy.placement import Round, explain_no_node
from hacore.policy.snapshot import Snapshot


def waiting_reasons(config: ClusterConfig, snapshot: Snapshot, now: float) -> dict[str, str]:
    """For each service that is not simply running (or disabled): one phrase saying why."""
    ix = index_for(config)
    rnd = Round(ix, snapshot, now)
    out: dict[str, str] = {}
    for plan in ix.plans:
        st = snapshot.services.get(plan.name)
        if st is None:
            pending = (fencing.startup_fence_pending(config, snapshot.lost, plan.rank)
                       if snapshot.lost and snapshot.quorate else ())
            if pending:
                out[plan.name] = (f"waits for the startup fence of {', '.join(pending)}: it may "
                                  "still run there from before the cluster formed")
            continue
        name, owner = plan.name, st.owner
        if snapshot.unmanaged(name):
            out[name] = maintenance_reason(snapshot, name, ix.fenceable)
        elif st.state == "failed":
            out[name] = (f"a stop failed on {st.stop_failed_on or owner}, which has no fence "
                         "method; kept off every node until an operator disables it (S4)")
        elif st.frozen:
            out[name] = "frozen: not checked and not moved until unfrozen"
            also = sorted(n for n, r in snapshot.reports.get(name, {}).items()
                          if r.status == "running" and n != owner)
            if also:
                out[name] += (f"; ALSO REPORTED RUNNING on {', '.join(also)} (S1): unfreeze "
                              "it so the extra copy is stopped")
        elif not snapshot.quorate and st.state != "disabled":
            out[name] = "this partition is not quorate: nothing starts or moves (S2)"
        elif owner is not None and owner not in snapshot.members:
            lost = snapshot.lost.get(owner)
            if owner in ix.fenceable:
                out[name] = f"waits for {owner} to be fenced before it is recovered (S3)"
            elif owner in rnd.stop_failed_nodes:
                out[name] = (f"{owner} is lost without a fence method after a failed stop, so "
                             "no self-stop deadline counts: an operator must fence it by hand "
                             "(S3)")
            elif lost is not None and lost.self_stop_deadline is not None:
                out[name] = (f"waits until {owner}'s self-stop deadline at "
                             f"{lost.self_stop_deadline:g} s (S3)")
            else:
                out[name] = f"{owner} is lost and neither fenced nor known to have stopped (S3)"
        elif snapshot.cluster_stop and st.state == "stopped":
            out[name] = ("stopped by hacore cluster stop: nothing starts until the daemons "
                         "start again (or hacore cluster stop --cancel)")
        elif st.state == "stopped":
            svc = plan.service
            if svc.depend and not rnd.running(svc.depend):
                out[name] = f"waits for {svc.depend} to run ({svc.depend_mode} dependency)"
            else:
                out[name] = explain_no_node(rnd, plan, st.avoid)
                if st.avoid:
                    out[name] += f" (its start failed on {', '.join(sorted(st.avoid))})"
    return out
