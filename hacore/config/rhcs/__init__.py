"""Import an RHCS (cman + rgmanager) cluster.conf as a hacore cluster.toml.

``convert_cluster_conf`` turns the XML into a ClusterConfig and a list of notes (every
element or attribute that could not be carried over, with its line);
``import_cluster_conf`` also writes the TOML atomically and checks that it validates.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hacore.config.dump import config_to_toml
from hacore.config.files import write_atomic
from hacore.config.loader import check_config_text, installed_agents
from hacore.config.model import ClusterConfig
from hacore.config.problems import Problem
from hacore.config.rhcs.convert_cluster import (
    ClusterPart,
    quorum,
    read_cman,
    read_domains,
    read_fence_daemon,
    read_fencedevices,
    read_head,
    read_nodes,
    read_quorumd,
    read_totem,
)
from hacore.config.rhcs.convert_rm import RmReader
from hacore.config.rhcs.notes import Notes
from hacore.config.rhcs.xmlread import parse_cluster_conf, parse_text
from hacore.errors import InputError

__all__ = ["Conversion", "ImportReport", "convert_cluster_conf", "convert_root",
           "import_cluster_conf", "parse_text"]


@dataclass
class Conversion:
    config: ClusterConfig
    notes: list[str]
    has_passwords: bool


@dataclass
class ImportReport:
    """What ``hacore config import`` tells the admin."""

    output: str
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    valid: bool = True
    summary: str = ""


def convert_root(root: ET.Element, filename: str,
                 catalogue: Callable[[str], Any] | None = None) -> Conversion:
    """Convert a parsed <cluster> element."""
    notes = Notes(filename)
    part = ClusterPart()
    read_head(root, notes, part)
    token = None
    fence_daemon = None
    domains: list[ET.Element] = []
    rm = RmReader(notes, catalogue)
    for child in root:
        if not isinstance(child.tag, str):
            continue
        tag = child.tag
        if tag == "cman":
            read_cman(child, notes, part)
        elif tag == "totem":
            token = read_totem(child, notes, part)
        elif tag == "clusternodes":
            read_nodes(child, notes, part)
        elif tag == "fencedevices":
            read_fencedevices(child, notes, part)
        elif tag == "fence_daemon":
            fence_daemon = child
        elif tag == "quorumd":
            read_quorumd(child, notes, part)
        elif tag == "rm":
            domains += rm.read_rm(child)
        else:
            notes.element(child, "hacore has no such section (logging, dlm, gfs_controld "
                          "and the like are configured elsewhere or not needed)")
    loss = token if token is not None else 10.0
    part.timing = type(part.timing).derived(loss)
    if fence_daemon is not None:
        part.timing = read_fence_daemon(fence_daemon, notes, part.timing)
    for elem in domains:
        read_domains(elem, notes, part)
    config = ClusterConfig(
        name=part.name, config_version=part.config_version, nodes=tuple(part.nodes),
        quorum=quorum(part, root, notes), timing=part.timing,
        fence_devices=tuple(part.fence_devices), domains=tuple(part.domains),
        resources=tuple(rm.part.resources), services=tuple(rm.part.services))
    return Conversion(config, sorted(notes.items, key=_note_line), part.has_passwords)


def _note_line(note: str) -> int:
    parts = note.split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def convert_cluster_conf(path: str | Path,
                         catalogue: Callable[[str], Any] | None = None) -> Conversion:
    """Read and convert a cluster.conf; InputError (with line) when the XML is malformed."""
    return convert_root(parse_cluster_conf(path), str(path), catalogue)


def import_cluster_conf(source: str | Path, output: str | Path, *, overwrite: bool = False,
                        catalogue: Callable[[str], Any] | None | str = "installed",
                        fence_agents: Callable[[str], Any] | None | str = "installed"
                        ) -> ImportReport:
    """Convert ``source`` and write ``output`` (mode 0600 when it holds passwords)."""
    if os.path.exists(output) and not overwrite:
        raise InputError(f"{output}: already exists; choose another file or pass --force")
    agents = installed_agents() if catalogue == "installed" else catalogue
    conversion = convert_cluster_conf(source, agents)  # type: ignore[arg-type]
    cfg = conversion.config
    header = (f"Imported by `hacore config import` from {source}.\n"
              "Check it with: hacore config validate FILE; see docs/configuration.md")
    text = config_to_toml(cfg, minimal=True, header=header)
    result = check_config_text(text, str(output))
    problems = list(result.problems)
    if agents is not None or fence_agents is not None:
        # agents are judged where they run: here their findings are warnings
        with_agents = check_config_text(text, str(output), agents=agents,  # type: ignore
                                        fence_agents=fence_agents)  # type: ignore
        problems += [Problem(p.file, p.line, p.key, p.message + " (check again with `hacore "
                             "config validate` on a cluster node)", "warning")
                     for p in with_agents.problems if p not in result.problems]
    write_atomic(output, text, 0o600 if conversion.has_passwords else 0o644)
    summary = (f"{len(cfg.nodes)} nodes, {len(cfg.fence_devices)} fence devices, "
               f"{len(cfg.domains)} domains, {len(cfg.resources)} global resources, "
               f"{len(cfg.services)} services; {len(conversion.notes)} items not carried over")
    return ImportReport(str(output), conversion.notes, problems, result.config is not None,
                        summary)
