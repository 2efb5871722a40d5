"""rgmanager's start and stop order for a service's resource tree (REFERENCE 4.4).

Children of the service (and of a filesystem) are ordered by type level; untyped children
start after the typed ones in file order and stop before them in reverse file order.
Children of other resources keep file order. Traversal is depth first: a resource's
children start right after it and stop right before it.
"""

from __future__ import annotations

from collections.abc import Sequence

from hacore.config.model import Resource

#: rgmanager type -> (start level, stop level) under <service>
SERVICE_LEVELS: dict[str, tuple[int, int]] = {
    "lvm": (1, 9), "fs": (2, 8), "clusterfs": (3, 7), "netfs": (4, 6), "nfsexport": (5, 5),
    "nfsclient": (6, 4), "ip": (7, 2), "smb": (8, 3), "script": (9, 1),
}
#: rgmanager type -> (start level, stop level) under <fs> and <clusterfs>
FS_LEVELS: dict[str, tuple[int, int]] = {
    "fs": (1, 3), "clusterfs": (1, 3), "nfsexport": (3, 1),
}

_AGENT_TYPES = {
    "ip": "ip", "ocf:heartbeat:IPaddr2": "ip", "ocf:heartbeat:IPaddr": "ip",
    "ocf:heartbeat:IPv6addr": "ip",
    "fs": "fs", "ocf:heartbeat:Filesystem": "fs",
    "lvm": "lvm", "ocf:heartbeat:LVM": "lvm", "ocf:heartbeat:LVM-activate": "lvm",
    "ocf:heartbeat:exportfs": "nfsexport",
    "script": "script",
}


def rgmanager_type(agent: str) -> str | None:
    """The rgmanager type an agent plays in ordering (``lsb:`` scripts count as script)."""
    if agent in _AGENT_TYPES:
        return _AGENT_TYPES[agent]
    if agent.startswith("lsb:"):
        return "script"
    return None


def _ordered(children: Sequence[Resource], levels: dict[str, tuple[int, int]] | None,
             kind_of, stop: bool) -> list[Resource]:
    if levels is None:
        return list(reversed(children)) if stop else list(children)
    typed: list[tuple[int, int, Resource]] = []
    untyped: list[Resource] = []
    for index, child in enumerate(children):
        kind = kind_of(child)
        if kind in levels:
            level = levels[kind][1 if stop else 0]
            typed.append((level, -index if stop else index, child))
        else:
            untyped.append(child)
    typed.sort(key=lambda item: (item[0], item[1]))
    typed_list = [item[2] for item in typed]
    if stop:
        return list(reversed(untyped)) + typed_list
    return typed_list + untyped


def _levels_for(parent_kind: str | None) -> dict[str, tuple[int, int]] | None:
    if parent_kind == "service":
        return SERVICE_LEVELS
    if parent_kind in ("fs", "clusterfs"):
        return FS_LEVELS
    return None


def start_order(roots: Sequence[Resource], kind_of=None) -> list[str]:
    """Names in start order. ``kind_of(resource)`` gives its rgmanager type (default: agent)."""
    kind_of = kind_of or (lambda r: rgmanager_type(r.agent))
    out: list[str] = []

    def visit(children: Sequence[Resource], parent_kind: str | None) -> None:
        for child in _ordered(children, _levels_for(parent_kind), kind_of, stop=False):
            out.append(child.name)
            visit(child.children, kind_of(child))

    visit(roots, "service")
    return out


def stop_order(roots: Sequence[Resource], kind_of=None) -> list[str]:
    """Names in stop order: children before their parent, levels reversed as rgmanager does."""
    kind_of = kind_of or (lambda r: rgmanager_type(r.agent))
    out: list[str] = []

    def visit(children: Sequence[Resource], parent_kind: str | None) -> None:
        for child in _ordered(children, _levels_for(parent_kind), kind_of, stop=True):
            visit(child.children, kind_of(child))
            out.append(child.name)

    visit(roots, "service")
    return out
