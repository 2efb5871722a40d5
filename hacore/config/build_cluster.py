"""[cluster], [[nodes]], [quorum], [timing], fence devices and failover domains -> model."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from hacore.config.fields import Table, type_name
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
from hacore.config.positions import Path
from hacore.config.problems import Findings

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@:-]*$")
_HOST_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")

NODE_KEYS = ("name", "id", "addresses", "votes", "fence", "watchdog")
QUORUM_KEYS = ("expected_votes", "two_node", "wait_for_all", "last_man_standing",
               "no_quorum_policy", "accept_split_brain")
TIMING_KEYS = ("node_loss_timeout", "heartbeat_interval", "fence_timeout", "self_stop_margin",
               "post_join_delay", "startup_fencing", "two_node_fence_delay", "probe_interval")
FENCE_DEVICE_KEYS = ("name", "agent", "params", "secrets")
DOMAIN_KEYS = ("members", "ordered", "restricted", "nofailback")
DEFAULT_MESSAGE_PORT = 5416


def check_name(f: Findings, path: Path, name: object, what: str) -> bool:
    """Names are identifiers an admin types: letters, digits, ``_ . @ : -``."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        f.error(path, f"{what} name {name!r} is not valid; use letters, digits and _ . @ : - "
                "(starting with a letter or digit)")
        return False
    return True


def read_cluster(f: Findings, data: dict[str, Any]) -> tuple[str, int]:
    t = Table(f, data.get("cluster", {}), ("cluster",),
              ("name", "config_version", "message_port"), "[cluster]")
    if "cluster" not in data:
        f.error((), "the [cluster] table is missing; it needs name and config_version")
    name = t.string("name", "", required=True)
    if name:
        check_name(f, ("cluster", "name"), name, "cluster")
    version = t.integer("config_version", 0, required=True, minimum=0)
    return name or "", version


def read_message_port(f: Findings, data: dict[str, Any]) -> int:
    """``[cluster] message_port``: the TCP port of the TLS message channel (default 5416)."""
    raw = data.get("cluster", {})
    if not isinstance(raw, dict) or "message_port" not in raw:
        return DEFAULT_MESSAGE_PORT
    value = raw["message_port"]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        f.error(("cluster", "message_port"), f"message_port must be an integer 1..65535, "
                f"got {value!r}")
        return DEFAULT_MESSAGE_PORT
    return value


def _address_ok(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return bool(_HOST_RE.match(text))


def read_fence_methods(f: Findings, raw: Any, path: Path) -> tuple[FenceMethod, ...]:
    """``fence = [{method = "ipmi", devices = ["ipmi-n1"]}, "pdu"]``, tried in order."""
    if not isinstance(raw, list):
        f.error(path, f"fence must be a list of methods, not {type_name(raw)}")
        return ()
    methods = []
    for i, item in enumerate(raw):
        here = path + (i,)
        if isinstance(item, str):
            methods.append(FenceMethod(item, (FenceDeviceRef(item),)))
            continue
        t = Table(f, item, here, ("method", "devices"), "a fence method")
        name = t.string("method", str(i + 1))
        devices = []
        raw_devices = t.raw("devices")
        if not isinstance(raw_devices, list) or not raw_devices:
            f.error(here + ("devices",), "devices must be a non-empty list of device names or "
                    "tables {device = NAME, ...parameters}")
            raw_devices = []
        for j, dev in enumerate(raw_devices):
            dpath = here + ("devices", j)
            if isinstance(dev, str):
                devices.append(FenceDeviceRef(dev))
                continue
            if not isinstance(dev, dict) or not isinstance(dev.get("device"), str):
                f.error(dpath, "a device is a name or a table {device = NAME, port = ...}")
                continue
            params = {k: v for k, v in dev.items() if k != "device"}
            dt = Table(f, {"params": params}, dpath[:-0] if False else dpath, ("params",),
                       "a fence device use")
            devices.append(FenceDeviceRef(dev["device"], dt.params("params")))
        methods.append(FenceMethod(name, tuple(devices)))
    return tuple(methods)


def read_nodes(f: Findings, data: dict[str, Any]) -> tuple[Node, ...]:
    raw = data.get("nodes")
    if not isinstance(raw, list) or not raw:
        f.error(("nodes",), "at least one [[nodes]] table is needed (name, id, addresses)")
        return ()
    nodes = []
    for i, item in enumerate(raw):
        path: Path = ("nodes", i)
        t = Table(f, item, path, NODE_KEYS, "[[nodes]]")
        name = t.string("name", "", required=True)
        if name:
            check_name(f, path + ("name",), name, "node")
        node_id = t.integer("id", 0, required=True, minimum=1, maximum=65535)
        addresses = t.string_list("addresses", required=True)
        if t.has("addresses") and not addresses and isinstance(t.raw("addresses"), list):
            f.error(path + ("addresses",), "addresses must list at least one address")
        for j, addr in enumerate(addresses):
            if not _address_ok(addr):
                f.error(path + ("addresses", j), f"address {addr!r} is neither an IP address "
                        "nor a host name")
        votes = t.integer("votes", 1, minimum=0)
        fence = read_fence_methods(f, t.raw("fence"), path + ("fence",)) if t.has("fence") else ()
        watchdog = t.string("watchdog", None)
        if watchdog is not None and not watchdog.startswith("/"):
            f.error(path + ("watchdog",), f"watchdog = {watchdog!r} is not valid; use an "
                    "absolute device path such as \"/dev/watchdog\"")
            watchdog = None
        nodes.append(Node(name or "", node_id or 0, tuple(addresses), votes, fence, watchdog))
    return tuple(nodes)


def read_quorum(f: Findings, data: dict[str, Any], nodes: tuple[Node, ...]) -> Quorum:
    t = Table(f, data.get("quorum", {}), ("quorum",), QUORUM_KEYS, "[quorum]")
    total = sum(n.votes for n in nodes)
    expected = t.integer("expected_votes", None, minimum=1)
    two_node = t.boolean("two_node")
    return Quorum(
        expected_votes=expected if expected is not None else max(total, 1),
        two_node=two_node,
        wait_for_all=t.boolean("wait_for_all", two_node),
        last_man_standing=t.boolean("last_man_standing"),
        no_quorum_policy=t.string("no_quorum_policy", "stop",
                                  choices=("stop", "freeze", "ignore")),
        accept_split_brain=t.boolean("accept_split_brain"),
    )


def read_timing(f: Findings, data: dict[str, Any]) -> Timing:
    """One knob, ``node_loss_timeout``; the rest derive from it unless set by hand."""
    t = Table(f, data.get("timing", {}), ("timing",), TIMING_KEYS, "[timing]")
    loss = t.number("node_loss_timeout", 1.0, positive=True)
    derived = Timing.derived(loss)
    return Timing(
        node_loss_timeout=loss,
        heartbeat_interval=t.number("heartbeat_interval", derived.heartbeat_interval, positive=True),
        fence_timeout=t.number("fence_timeout", derived.fence_timeout, positive=True),
        self_stop_margin=t.number("self_stop_margin", derived.self_stop_margin, positive=True),
        post_join_delay=t.number("post_join_delay", 3.0, minimum=0),
        startup_fencing=t.boolean("startup_fencing", True),
        two_node_fence_delay=t.number("two_node_fence_delay", 5.0, minimum=0),
        probe_interval=t.number("probe_interval", 60.0),  # range: checks.check_timing
    )


def read_secrets(f: Findings, t: Table) -> dict[str, str]:
    secrets = t.params("secrets")
    for name, file in secrets.items():
        if not file.startswith("/"):
            f.error(t.path + ("secrets", name), f"secret file for {name} must be an absolute "
                    f"path, not {file!r}")
    return secrets


def _named_tables(f: Findings, raw: Any, key: str) -> list[tuple[str, Any, Path]]:
    """``[key.NAME]`` tables or ``[[key]]`` tables with ``name``: (name, table, path)."""
    out: list[tuple[str, Any, Path]] = []
    if raw is None:
        return out
    if isinstance(raw, dict):
        for name, item in raw.items():
            out.append((name, item, (key, name)))
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                f.error((key, i), f"each [[{key}]] needs a name")
                continue
            out.append((name, item, (key, i)))
    else:
        f.error((key,), f"{key} must be tables [{key}.NAME], not {type_name(raw)}")
    return out


def read_fence_devices(f: Findings, data: dict[str, Any]) -> tuple[FenceDevice, ...]:
    devices = []
    for name, item, path in _named_tables(f, data.get("fence_devices"), "fence_devices"):
        check_name(f, path, name, "fence device")
        t = Table(f, item, path, FENCE_DEVICE_KEYS, "a fence device")
        agent = t.string("agent", "", required=True)
        devices.append(FenceDevice(name, agent or "", t.params("params"), read_secrets(f, t)))
    return tuple(devices)


def read_domains(f: Findings, data: dict[str, Any]) -> tuple[FailoverDomain, ...]:
    domains = []
    for name, item, path in _named_tables(f, data.get("domains"), "domains"):
        check_name(f, path, name, "domain")
        t = Table(f, item, path, DOMAIN_KEYS + (("name",) if path[-1] != name else ()),
                  "a failover domain")
        members = []
        raw = t.raw("members")
        if not isinstance(raw, list) or not raw:
            f.error(path + ("members",), "members must be a non-empty list of node names or "
                    "tables {node = NAME, priority = 1..100}")
            raw = []
        for i, m in enumerate(raw):
            mpath = path + ("members", i)
            if isinstance(m, str):
                members.append(DomainMember(m, i + 1 if i < 100 else 100))
                continue
            mt = Table(f, m, mpath, ("node", "priority"), "a domain member")
            node = mt.string("node", "", required=True)
            prio = mt.integer("priority", 1, minimum=1, maximum=100)
            if node:
                members.append(DomainMember(node, prio))
        domains.append(FailoverDomain(name, tuple(members), t.boolean("ordered"),
                                      t.boolean("restricted"), t.boolean("nofailback")))
    return tuple(domains)
