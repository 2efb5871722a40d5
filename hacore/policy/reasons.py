"""Reason texts, built only when someone reads them (``Action.reason``).

Each function returns one sentence: what is done, a colon, and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hacore.policy.placement import explain_choice

if TYPE_CHECKING:
    from hacore.config.model import Service
    from hacore.policy.index import ServicePlan, Subtree
    from hacore.policy.snapshot import ServiceStatus, Snapshot


def _left(owner: str, cause: str) -> str:
    if cause == "fenced":
        return f"{owner} left the membership and was fenced"
    return (f"{owner} left the membership and its self-stop deadline has passed, so it has "
            "surely stopped its services")


def autostart_off(name: str) -> str:
    return f"mark {name} disabled: autostart is off, so it stays disabled when the cluster forms"


def stray_disabled(name: str, node: str) -> str:
    return f"stop {name} on {node}: {name} is disabled but {node} reports it running"


def adopt(name: str, node: str, state: str) -> str:
    return (f"mark {name} started on {node}: it was {state} but {node} reports it running, "
            "so the cluster adopts it there instead of starting a second copy")


def two_owners(name: str, seen: tuple[str, ...], node: str, keep: str) -> str:
    return (f"stop {name} on {node}: ONE-OWNER VIOLATION (S1): {name} is active on "
            f"{' and '.join(seen)}; it keeps running on {keep} only")


def fence(node: str, service: str, cause: str) -> str:
    if cause == "stop-failed":
        return (f"fence {node}: stopping {service} failed there, so {node} is fenced before "
                f"{service} may run anywhere else (S4)")
    return (f"fence {node}: {node} left the membership while running {service}; its services "
            f"are recovered only once it is fenced (S3)")


def fence_lost(node: str, snap: Snapshot) -> str:
    held = sorted(name for name, st in snap.services.items()
                  if st.owner == node and st.state != "failed")
    if not held:
        return (f"fence {node}: {node} is not a member and not known to be off; it is fenced "
                "so that nothing it may still run can clash with the cluster (S3)")
    return (f"fence {node}: {node} left the membership while running {', '.join(held)}; a "
            "lost node is fenced before anything it ran is recovered elsewhere (S3)")


def stop_failed_no_fence(name: str, node: str) -> str:
    return (f"mark {name} failed: stopping it on {node} failed and {node} has no fence method; "
            f"it is kept off every node until an operator cleans up and disables it (S4)")


def disable_stop(name: str, owner: str, state: str) -> str:
    return f"stop {name} on {owner}: {name} is to be disabled"


def disable_mark(name: str) -> str:
    return f"mark {name} disabled: an administrator disabled it"


def stop_after_failed_start(name: str, owner: str) -> str:
    return (f"stop {name} on {owner}: its start (or restart) there failed; it must stop cleanly "
            f"on {owner} before it may start anywhere else (S4)")


def lost_disabled(name: str, owner: str, cause: str) -> str:
    return f"mark {name} disabled: {_left(owner, cause)}, and {name} was being disabled"


def lost_dependency(name: str, owner: str, cause: str, dep: str) -> str:
    return (f"mark {name} stopped: {_left(owner, cause)}; {name} depends on {dep} (hard), "
            f"which is not running")


def lost_nowhere(name: str, owner: str, cause: str, why: str) -> str:
    return f"mark {name} stopped: {_left(owner, cause)}, and {why}"


def lost_start(name: str, node: str, owner: str, cause: str, plan: ServicePlan,
               tier: int, spared: str | None = None) -> str:
    return (f"start {name} on {node}: {_left(owner, cause)}; "
            f"{explain_choice(plan, node, tier, spared)}")


def admin_restart(name: str, owner: str) -> str:
    return f"restart {name} on {owner}: an administrator asked to restart it in place"


def admin_relocate_stop(name: str, owner: str, target: str | None) -> str:
    where = f" to {target}" if target else ""
    return f"stop {name} on {owner}: an administrator asked to relocate it{where}"


def convalesce(name: str, owner: str, root: str) -> str:
    return (f"start subtree {root} of {name} on {owner}: an administrator enabled {name}, "
            f"which runs partial; its stopped non-critical subtree is started again")


def dependency_stop(name: str, owner: str, dep: str) -> str:
    return f"stop {name} on {owner}: it depends on {dep} (hard), which is not running"


def drain_nowhere(name: str, owner: str) -> str:
    return (f"stop {name} on {owner}: {owner} is in standby and no other node can run "
            f"{name}, so it stays stopped")


def drain_stop(name: str, owner: str, target: str) -> str:
    return f"stop {name} on {owner}: {owner} is in standby; {name} moves to {target}"


def failback_stop(name: str, owner: str, node: str, plan: ServicePlan, tier: int,
                  spared: str | None = None) -> str:
    return (f"stop {name} on {owner}: {node} joined and {name} fails back to it; "
            f"{explain_choice(plan, node, tier, spared)}")


def _span(expire: float) -> str:
    return f"within {expire:g} s" if expire > 0 else "(never forgotten)"


def _count(used: int, max_restarts: int, expire: float) -> str:
    return f"restart {used + 1} of {max_restarts} allowed {_span(expire)}"


def _allowance(max_restarts: int, expire: float) -> str:
    plural = "s" if max_restarts != 1 else ""
    return f"allowance of {max_restarts} restart{plural} {_span(expire)}"


def subtree_restart(name: str, owner: str, res: str, sub: Subtree, used: int) -> str:
    kind = "a non-critical" if sub.non_critical else "an independent"
    count = (f"; {_count(used, sub.max_restarts, sub.restart_expire_time)}"
             if sub.max_restarts > 0 else "")
    return (f"restart subtree {sub.root} of {name} on {owner}: {res} failed and {sub.root} is "
            f"{kind} subtree, so only it restarts{count}")


def subtree_stop(name: str, owner: str, res: str, sub: Subtree, used: int) -> str:
    limit = (f"its {_allowance(sub.max_restarts, sub.restart_expire_time)} is used up"
             if sub.max_restarts > 0 else "it has no restart allowance")
    return (f"stop subtree {sub.root} of {name} on {owner}: {res} failed, {sub.root} is "
            f"non-critical and {limit}; it stays stopped and {name} runs on, partial")


def failure_disable(name: str, owner: str, what: str) -> str:
    return f"stop {name} on {owner}: its {what} failed there and its recovery policy is disable"


def failure_relocate(name: str, owner: str, what: str) -> str:
    return (f"stop {name} on {owner}: its {what} failed there and its recovery policy is "
            f"relocate")


def failure_exhausted(name: str, owner: str, what: str, svc: Service, then: str) -> str:
    return (f"stop {name} on {owner}: its {what} failed again and its "
            f"{_allowance(svc.max_restarts, svc.restart_expire_time)} is used up; "
            f"recovery policy {svc.recovery} now {then}s it")


def failure_restart(name: str, owner: str, what: str, svc: Service, used: int,
                    escalated: Subtree | None) -> str:
    count = (f" ({_count(used, svc.max_restarts, svc.restart_expire_time)})"
             if svc.max_restarts > 0 else "")
    sub = (f"; subtree {escalated.root} used up its own restarts, so the whole service restarts"
           if escalated is not None else "")
    return (f"restart {name} on {owner}: its {what} failed there and its recovery policy is "
            f"{svc.recovery}{count}{sub}")


def nowhere(name: str, why: str) -> str:
    return f"mark {name} stopped: {why}"


def start_target(name: str, target: str, intent: str | None, last_owner: str | None,
                 plan: ServicePlan) -> str:
    if intent == "relocate":
        return f"start {name} on {target}: an administrator asked to relocate it to {target}"
    if intent == "enable":
        return f"start {name} on {target}: an administrator enabled it on {target}"
    if intent == "failback":
        return f"start {name} on {target}: it fails back to {target}, stopped on {last_owner}"
    if intent == "drain":
        return f"start {name} on {target}: {last_owner} is in standby"
    return f"start {name} on {target}: it was asked to run on {target}"


def start(name: str, node: str, intent: str | None, st: ServiceStatus, plan: ServicePlan,
          tier: int, spared: str | None = None) -> str:
    choice = explain_choice(plan, node, tier, spared)
    if st.avoid:
        return (f"start {name} on {node}: its start failed on {', '.join(sorted(st.avoid))}; "
                f"{choice}")
    if intent == "recover":
        return f"start {name} on {node}: it failed on {st.last_owner} and moves; {choice}"
    if intent == "relocate":
        return f"start {name} on {node}: an administrator asked to relocate it; {choice}"
    if intent == "enable":
        return f"start {name} on {node}: an administrator enabled it; {choice}"
    if intent == "drain":
        return f"start {name} on {node}: {st.last_owner} is in standby; {choice}"
    return f"start {name} on {node}: {choice}"
