"""cluster.conf <cluster>, <cman>, <totem>, <clusternodes>, <fencedevices>, <fence_daemon>,
<quorumd> and <failoverdomains> -> hacore model pieces."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from hacore.config.dump import is_secret_param
from hacore.config.model import (
    DomainMember,
    FailoverDomain,
    FenceDevice,
    FenceDeviceRef,
    FenceMethod,
    Node,
    Quorum,
    Timing,
)
from hacore.config.rhcs.notes import Notes, safe_name, truthy

CMAN_DEFAULT_TOKEN_MS = 10000.0


@dataclass
class ClusterPart:
    name: str = "cluster"
    config_version: int = 1
    nodes: list[Node] = field(default_factory=list)
    fence_devices: list[FenceDevice] = field(default_factory=list)
    domains: list[FailoverDomain] = field(default_factory=list)
    two_node: bool = False
    expected_votes: int | None = None
    has_qdisk: bool = False
    timing: Timing = field(default_factory=Timing)
    has_passwords: bool = False


def _int(notes: Notes, elem: ET.Element, attr: str, default: int) -> int:
    raw = notes.get(elem, attr)
    if raw is None:
        return default
    try:
        return int(raw.strip(), 0)
    except ValueError:
        notes.add(elem, f"attribute {attr}=\"{raw}\" is not a number; {default} used")
        return default


def read_head(root: ET.Element, notes: Notes, part: ClusterPart) -> None:
    part.name = safe_name(notes.get(root, "name", "cluster") or "cluster")
    if part.name != root.attrib.get("name"):
        notes.add(root, f"cluster name changed to {part.name!r} (letters, digits, _ . @ : -)")
    part.config_version = max(_int(notes, root, "config_version", 1), 0)
    notes.leftovers(root, {"alias": "hacore has one name per cluster"})


def read_cman(elem: ET.Element, notes: Notes, part: ClusterPart) -> None:
    part.two_node = truthy(notes.get(elem, "two_node"))
    if "expected_votes" in elem.attrib:
        part.expected_votes = _int(notes, elem, "expected_votes", 1)
    notes.leftovers(elem, {
        "port": "hacore uses its own transport port", "cluster_id": "not needed by hacore",
        "keyfile": "make a cluster key with `hacore keygen`",
        "transport": "hacore has its own transport",
        "broadcast": "hacore has its own transport"})
    for child in elem:
        if isinstance(child.tag, str):
            notes.element(child, "hacore has its own transport and addressing")


def read_totem(elem: ET.Element, notes: Notes, part: ClusterPart) -> float:
    token = notes.get(elem, "token")
    notes.leftovers(elem, {"consensus": "derived from node_loss_timeout in hacore",
                           "join": "derived from node_loss_timeout in hacore",
                           "token_retransmits_before_loss_const": "derived in hacore"})
    for child in elem:
        if isinstance(child.tag, str):
            notes.element(child, "hacore has its own transport")
    if token is None:
        return CMAN_DEFAULT_TOKEN_MS / 1000
    try:
        return max(float(token) / 1000, 0.05)
    except ValueError:
        notes.add(elem, f"token=\"{token}\" is not a number; cman's default 10000 used")
        return CMAN_DEFAULT_TOKEN_MS / 1000


def read_fence_daemon(elem: ET.Element, notes: Notes, timing: Timing) -> Timing:
    post_join = notes.get(elem, "post_join_delay")
    startup = not truthy(notes.get(elem, "clean_start"))
    delay = timing.post_join_delay
    if post_join is not None:
        try:
            value = float(post_join)
            if value < 0:
                notes.add(elem, "post_join_delay=-1 (wait forever, no startup fencing) became "
                          "startup_fencing = false")
                startup = False
            else:
                delay = value
        except ValueError:
            notes.add(elem, f"post_join_delay=\"{post_join}\" is not a number; not carried")
    fail = notes.get(elem, "post_fail_delay")
    if fail not in (None, "0"):
        notes.add(elem, f"attribute post_fail_delay=\"{fail}\" not carried over: hacore fences "
                  "a lost node at once (two_node_fence_delay covers the fence race)")
    notes.leftovers(elem)
    return Timing(timing.node_loss_timeout, timing.heartbeat_interval, timing.fence_timeout,
                  timing.self_stop_margin, delay, startup, timing.two_node_fence_delay)


def read_fencedevices(elem: ET.Element, notes: Notes, part: ClusterPart) -> None:
    for dev in elem:
        if not isinstance(dev.tag, str):
            continue
        if dev.tag != "fencedevice":
            notes.element(dev, "only <fencedevice> belongs in <fencedevices>")
            continue
        name = notes.get(dev, "name")
        agent = notes.get(dev, "agent")
        if not name or not agent:
            notes.element(dev, "a fencedevice needs name and agent")
            continue
        params = {k: v for k, v in dev.attrib.items() if k not in ("name", "agent")}
        part.has_passwords |= any(is_secret_param(k) for k in params)
        part.fence_devices.append(FenceDevice(safe_name(name), agent, params))
        for child in dev:
            if isinstance(child.tag, str):
                notes.element(child, "a fencedevice has no children in hacore")


def _fence_methods(fence: ET.Element, notes: Notes, part: ClusterPart) -> list[FenceMethod]:
    methods = []
    for i, method in enumerate(fence):
        if not isinstance(method.tag, str):
            continue
        if method.tag != "method":
            notes.element(method, "only <method> belongs in <fence>")
            continue
        devices = []
        for dev in method:
            if not isinstance(dev.tag, str):
                continue
            if dev.tag != "device" or "name" not in dev.attrib:
                notes.element(dev, "a fence method holds <device name=...> elements")
                continue
            params = {k: v for k, v in dev.attrib.items() if k != "name"}
            part.has_passwords |= any(is_secret_param(k) for k in params)
            devices.append(FenceDeviceRef(safe_name(dev.attrib["name"]), params))
        if devices:
            methods.append(FenceMethod(method.attrib.get("name", str(i + 1)), tuple(devices)))
        else:
            notes.add(method, "fence method with no devices dropped")
    return methods


def read_nodes(elem: ET.Element, notes: Notes, part: ClusterPart) -> None:
    used_ids = {int(n.attrib["nodeid"]) for n in elem.iter("clusternode")
                if n.attrib.get("nodeid", "").isdigit()}
    next_id = 1
    for node in elem:
        if not isinstance(node.tag, str):
            continue
        if node.tag != "clusternode":
            notes.element(node, "only <clusternode> belongs in <clusternodes>")
            continue
        name = notes.get(node, "name")
        if not name:
            notes.element(node, "a clusternode needs a name")
            continue
        if "nodeid" in node.attrib:
            node_id = _int(notes, node, "nodeid", 0)
        else:
            while next_id in used_ids:
                next_id += 1
            node_id, next_id = next_id, next_id + 1
            used_ids.add(node_id)
            notes.add(node, f"no nodeid: id {node_id} given")
        votes = _int(notes, node, "votes", 1)
        addresses = [name]
        methods: list[FenceMethod] = []
        for child in node:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "fence":
                methods = _fence_methods(child, notes, part)
            elif child.tag == "altname" and "name" in child.attrib:
                addresses.append(child.attrib["name"])
                notes.take(child, "name")
                notes.leftovers(child, {"port": "one port for all addresses in hacore",
                                        "mcast": "hacore has its own transport"})
            elif child.tag == "unfence":
                notes.element(child, "unfencing (fabric fencing) is not supported by hacore")
            else:
                notes.element(child, "unknown in <clusternode>")
        notes.leftovers(node, {"weight": "hacore has no node weights"})
        part.nodes.append(Node(safe_name(name), node_id, tuple(addresses), votes,
                               tuple(methods)))


def read_quorumd(elem: ET.Element, notes: Notes, part: ClusterPart) -> None:
    part.has_qdisk = True
    notes.element(elem, "hacore has no quorum disk; expected_votes (which counted the qdisk's "
                  "votes) is recomputed from the nodes; for two nodes use two_node = true with "
                  "fencing, or add a third node")


def quorum(part: ClusterPart, notes_root: ET.Element, notes: Notes) -> Quorum:
    expected = part.expected_votes
    total = sum(n.votes for n in part.nodes) or 1
    if part.two_node or part.has_qdisk:
        expected = None
    elif expected is not None and expected > total:
        notes.add(notes_root, f"expected_votes={expected} is more than the nodes' {total} "
                  "votes (quorum could never be reached); recomputed from the nodes")
        expected = None
    return Quorum(expected_votes=expected or total, two_node=part.two_node,
                  wait_for_all=part.two_node)


def read_domains(elem: ET.Element, notes: Notes, part: ClusterPart) -> None:
    for dom in elem:
        if not isinstance(dom.tag, str):
            continue
        if dom.tag != "failoverdomain" or "name" not in dom.attrib:
            notes.element(dom, "only <failoverdomain name=...> belongs in <failoverdomains>")
            continue
        name = safe_name(notes.get(dom, "name") or "")
        ordered = truthy(notes.get(dom, "ordered"))
        members = []
        for i, m in enumerate(x for x in dom if isinstance(x.tag, str)):
            if m.tag != "failoverdomainnode" or "name" not in m.attrib:
                notes.element(m, "only <failoverdomainnode name=...> belongs here")
                continue
            prio = _int(notes, m, "priority", 1) if ordered else i + 1
            notes.take(m, "name", "priority")
            if not 1 <= prio <= 100:
                notes.add(m, f"priority {prio} is outside 1..100 (rgmanager read it as 0, "
                          "least preferred); 100 used")
                prio = 100
            members.append(DomainMember(safe_name(m.attrib["name"]), min(prio, 100)))
            notes.leftovers(m)
        part.domains.append(FailoverDomain(name, tuple(members), ordered,
                                           truthy(notes.get(dom, "restricted")),
                                           truthy(notes.get(dom, "nofailback"))))
        notes.leftovers(dom)
