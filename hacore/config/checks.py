"""Checks across the whole configuration: references, duplicates, quorum, timing, safety."""

from __future__ import annotations

from collections import Counter

from hacore.config.build_services import ServiceBuild
from hacore.config.model import PROBE_INTERVAL_RANGE, ClusterConfig
from hacore.config.positions import Path
from hacore.config.problems import Findings


def _node_path(cfg: ClusterConfig, name: str) -> Path:
    for i, node in enumerate(cfg.nodes):
        if node.name == name:
            return ("nodes", i)
    return ("nodes",)


def check_duplicates(f: Findings, cfg: ClusterConfig) -> None:
    for attr, what in (("name", "name"), ("id", "id")):
        counts = Counter(getattr(n, attr) for n in cfg.nodes)
        for i, node in enumerate(cfg.nodes):
            value = getattr(node, attr)
            if counts[value] > 1 and value not in ("", 0):
                f.error(("nodes", i, attr), f"node {what} {value!r} is used by "
                        f"{counts[value]} nodes; each node needs its own {what}")
    owner: dict[str, str] = {}
    for i, node in enumerate(cfg.nodes):
        for j, addr in enumerate(node.addresses):
            if addr in owner and owner[addr] != node.name:
                f.error(("nodes", i, "addresses", j), f"address {addr} is already node "
                        f"{owner[addr]!r}'s; each address belongs to one node")
            owner.setdefault(addr, node.name)


def check_references(f: Findings, cfg: ClusterConfig, build: ServiceBuild) -> None:
    devices = {d.name for d in cfg.fence_devices}
    nodes = {n.name for n in cfg.nodes}
    for i, node in enumerate(cfg.nodes):
        for m, method in enumerate(node.fence):
            for d, ref in enumerate(method.devices):
                if ref.device not in devices:
                    f.error(("nodes", i, "fence", m, "devices", d) if isinstance(
                        f.positions.line(("nodes", i, "fence", m, "devices")), int)
                        else ("nodes", i, "fence", m),
                        f"fence device {ref.device!r} is not defined; defined: "
                        + (", ".join(sorted(devices)) or "none (add [fence_devices.NAME])"))
    for domain in cfg.domains:
        seen: set[str] = set()
        for i, member in enumerate(domain.members):
            path = ("domains", domain.name, "members", i)
            if member.node not in nodes:
                f.error(path, f"node {member.node!r} in domain {domain.name!r} is not a "
                        f"cluster node; nodes: {', '.join(sorted(nodes))}")
            if member.node in seen:
                f.error(path, f"node {member.node!r} is listed twice in domain "
                        f"{domain.name!r}")
            seen.add(member.node)
        if domain.nofailback and not domain.ordered:
            f.warn(("domains", domain.name, "nofailback"), "nofailback has an effect only "
                   "with ordered = true")
    domains = {d.name for d in cfg.domains}
    services = {s.name for s in cfg.services}
    for svc in cfg.services:
        path: Path = ("services", svc.name)
        if svc.domain is not None and svc.domain not in domains:
            f.error(path + ("domain",), f"domain {svc.domain!r} is not defined; defined: "
                    + (", ".join(sorted(domains)) or "none"))
        if svc.depend is not None and svc.depend not in services:
            f.error(path + ("depend",), f"service {svc.depend!r} is not defined; services: "
                    + ", ".join(sorted(services)))
        if svc.depend == svc.name:
            f.error(path + ("depend",), "a service cannot depend on itself")
    _check_depend_cycles(f, cfg)


def _check_depend_cycles(f: Findings, cfg: ClusterConfig) -> None:
    depends = {s.name: s.depend for s in cfg.services}
    for start in depends:
        seen = [start]
        cur = depends.get(start)
        while cur is not None and cur in depends and cur not in seen:
            seen.append(cur)
            cur = depends.get(cur)
        if cur == start and len(seen) > 1:
            f.error(("services", start, "depend"), "services depend on each other in a "
                    "circle: " + " -> ".join(seen + [start]) + "; none of them could start")


def quorum_needed(cfg: ClusterConfig) -> int:
    """Votes a partition needs: floor(expected/2)+1, or 1 in two_node mode."""
    if cfg.quorum.two_node:
        return 1
    return cfg.quorum.expected_votes // 2 + 1


def check_quorum(f: Findings, cfg: ClusterConfig) -> None:
    q = cfg.quorum
    total = sum(n.votes for n in cfg.nodes)
    if not cfg.nodes:
        return
    if q.two_node:
        if len(cfg.nodes) != 2 or any(n.votes != 1 for n in cfg.nodes):
            f.error(("quorum", "two_node"), "two_node needs exactly two nodes with 1 vote "
                    f"each (this file has {len(cfg.nodes)} nodes with votes "
                    f"{[n.votes for n in cfg.nodes]})")
    elif total < quorum_needed(cfg):
        f.error(("quorum", "expected_votes") if f.positions.line(("quorum", "expected_votes"))
                else ("nodes",),
                f"quorum can never be reached: it needs {quorum_needed(cfg)} votes "
                f"(expected_votes {q.expected_votes}) and all nodes together have {total}; "
                f"lower expected_votes to at most {total} or give nodes more votes")
    if q.last_man_standing and any(n.votes != 1 for n in cfg.nodes):
        f.error(("quorum", "last_man_standing"), "last_man_standing needs every node to "
                "have exactly 1 vote")
    if total == 0:
        f.error(("nodes",), "no node has a vote; give at least one node votes >= 1")


def check_split_brain(f: Findings, cfg: ClusterConfig) -> None:
    """two_node and no_quorum_policy freeze/ignore let both halves run: they need fencing."""
    q = cfg.quorum
    risky: list[tuple[Path, str]] = []
    if q.two_node:
        risky.append((("quorum", "two_node"), "two_node = true"))
    if q.no_quorum_policy in ("freeze", "ignore"):
        risky.append((("quorum", "no_quorum_policy"),
                      f"no_quorum_policy = {q.no_quorum_policy!r}"))
    unfenced = [n.name for n in cfg.nodes if not n.fence]
    if not risky or not unfenced:
        if q.accept_split_brain and not risky:
            f.warn(("quorum", "accept_split_brain"), "accept_split_brain = true has no "
                   "effect here (nothing in this file lets both sides of a partition run)")
        return
    for path, what in risky:
        message = (f"{what} lets both sides of a partition run services, and node(s) "
                   f"{', '.join(unfenced)} have no fence method")
        if q.accept_split_brain:
            f.warn(path, message + "; accepted by accept_split_brain = true: data may be "
                   "corrupted by two active copies of a service")
        else:
            f.error(path, message + "; configure fencing for every node, or set "
                    "accept_split_brain = true in [quorum] to accept the risk")


def check_timing(f: Findings, cfg: ClusterConfig) -> None:
    t = cfg.timing
    if t.heartbeat_interval * 3 > t.node_loss_timeout + 1e-9:
        f.error(("timing", "heartbeat_interval"), f"heartbeat_interval {t.heartbeat_interval:g}"
                f" leaves fewer than 3 heartbeats within node_loss_timeout "
                f"{t.node_loss_timeout:g}; use at most {t.node_loss_timeout / 3:.3g} (or "
                "leave it out: it defaults to node_loss_timeout / 10)")
    elif t.heartbeat_interval * 10 > t.node_loss_timeout + 1e-9:
        f.warn(("timing", "heartbeat_interval"), f"heartbeat_interval {t.heartbeat_interval:g}"
               f" is above node_loss_timeout / 10; heartbeats still go every "
               f"{t.node_loss_timeout / 10:.3g} s (leases last node_loss_timeout / 2 and are "
               "renewed by heartbeats: fewer would let one lost packet lapse a lease)")
    if t.self_stop_margin < t.heartbeat_interval:
        f.error(("timing", "self_stop_margin"), f"self_stop_margin {t.self_stop_margin:g} is "
                f"shorter than one heartbeat ({t.heartbeat_interval:g}); use at least "
                f"{t.heartbeat_interval:g} (default 2 x node_loss_timeout)")
    if cfg.quorum.two_node and t.two_node_fence_delay >= t.fence_timeout:
        f.error(("timing", "two_node_fence_delay"), f"two_node_fence_delay "
                f"{t.two_node_fence_delay:g} is not shorter than fence_timeout "
                f"{t.fence_timeout:g}: the delayed side's fencing would always time out")
    low, high = PROBE_INTERVAL_RANGE
    if not low <= t.probe_interval <= high:
        f.error(("timing", "probe_interval"), f"probe_interval = {t.probe_interval:g} is out "
                f"of range; use {low:g} to {high:g} seconds (how often each node probes the "
                "services it does not run for a copy started by hand; default 60)")
    for svc in cfg.services:
        for res in svc.walk():
            for op in res.operations:
                if op.name == "monitor" and op.interval and op.timeout > op.interval * 10:
                    f.warn(("services", svc.name), f"resource {res.name!r}: monitor timeout "
                           f"{op.timeout:g} is over 10 x its interval {op.interval:g}")


def check_explicit_order(f: Findings, cfg: ClusterConfig) -> None:
    """An explicit order still starts every parent before its children."""
    for svc in cfg.services:
        start = {name: i for i, name in enumerate(svc.start_order)}
        stop = {name: i for i, name in enumerate(svc.stop_order)}
        pairs = [(child.name, res.name) for res in svc.walk() for child in res.children]
        for child, parent in pairs:
            if start.get(child, 0) < start.get(parent, 0):
                f.error(("services", svc.name, "order"), f"order starts {child!r} before "
                        f"its parent {parent!r}; a parent must start before its children")
            if stop.get(child, 0) > stop.get(parent, 0):
                f.error(("services", svc.name, "stop_order"), f"stop_order stops "
                        f"{child!r} after its parent {parent!r}; children stop first")


def run_checks(f: Findings, cfg: ClusterConfig, build: ServiceBuild) -> None:
    """Every cross-cutting check; each adds its findings to ``f``."""
    check_duplicates(f, cfg)
    check_references(f, cfg, build)
    check_quorum(f, cfg)
    check_split_brain(f, cfg)
    check_timing(f, cfg)
    check_explicit_order(f, cfg)
