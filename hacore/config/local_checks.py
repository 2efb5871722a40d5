"""`--local`: does this machine have what the configuration names (devices, scripts, binaries)?"""

from __future__ import annotations

import os
from pathlib import Path

from hacore.config.model import ClusterConfig, Resource
from hacore.config.problems import Findings

OCF_ROOT = os.environ.get("OCF_ROOT", "/usr/lib/ocf")
#: agent -> (parameter, what it names): "device", "executable" or "file"
LOCAL_PARAMS: dict[str, tuple[tuple[str, str], ...]] = {
    "fs": (("device", "device"),),
    "ocf:heartbeat:Filesystem": (("device", "device"),),
    "script": (("file", "executable"),),
    "apache": (("httpd", "executable"), ("config_file", "file")),
    "mysql": (("config_file", "file"),),
}


def _device_exists(spec: str) -> bool:
    for prefix, folder in (("LABEL=", "/dev/disk/by-label"), ("UUID=", "/dev/disk/by-uuid")):
        if spec.startswith(prefix):
            return Path(folder, spec[len(prefix):]).exists()
    return Path(spec).exists()


def _problem(kind: str, value: str) -> str | None:
    if kind == "device" and not _device_exists(value):
        return f"device {value} does not exist on this machine"
    if kind == "executable" and not (os.path.isfile(value) and os.access(value, os.X_OK)):
        return f"{value} is not an executable file on this machine"
    if kind == "file" and value.startswith("/") and not os.path.isfile(value):
        return f"file {value} does not exist on this machine"
    return None


def _check_agent_script(f: Findings, res: Resource, path: tuple) -> None:
    if res.agent.startswith("lsb:"):
        script = Path("/etc/init.d", res.agent[4:])
        if not os.access(script, os.X_OK):
            f.error(path + ("agent",), f"init script {script} is missing on this machine")
    elif res.agent.startswith("ocf:") and res.agent.count(":") == 2:
        _, provider, kind = res.agent.split(":")
        script = Path(OCF_ROOT, "resource.d", provider, kind)
        if not os.access(script, os.X_OK):
            f.error(path + ("agent",), f"OCF script {script} is missing on this machine")


def check_local(f: Findings, config: ClusterConfig) -> None:
    """Errors for devices, scripts, binaries and secret files this machine lacks."""
    seen: set[int] = set()
    places: list[tuple[Resource, tuple]] = [(r, ("resources", r.name)) for r in config.resources]
    for svc in config.services:
        places += [(r, ("services", svc.name)) for r in svc.walk()]
    for res, path in places:
        if id(res) in seen:
            continue
        seen.add(id(res))
        _check_agent_script(f, res, path)
        for param, kind in LOCAL_PARAMS.get(res.agent, ()):
            value = res.params.get(param)
            why = _problem(kind, value) if value else None
            if why:
                f.error(path + ("params", param), f"resource {res.name!r}: {why}")
        for param, file in res.secret_files.items():
            if not os.path.isfile(file):
                f.error(path + ("secrets", param), f"secret file {file} does not exist here")
    for dev in config.fence_devices:
        path = ("fence_devices", dev.name)  # the agent itself is checked with its metadata
        for param, file in dev.secret_files.items():
            if not os.path.isfile(file):
                f.error(path + ("secrets", param), f"secret file {file} does not exist here")
