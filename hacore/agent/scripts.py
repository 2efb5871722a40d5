"""OCF and LSB scripts as agents: how each is called and how its exit status is read."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hacore.agent.base import OperationContext
from hacore.agent.codes import OCF, lsb_action_to_ocf, lsb_status_to_ocf
from hacore.agent.info import ActionInfo, AgentInfo

DEFAULT_OCF_ROOT = "/usr/lib/ocf"
INIT_DIR = "/etc/init.d"
OCF_ACTION = {"start": "start", "stop": "stop", "monitor": "monitor",
              "validate": "validate-all", "meta-data": "meta-data"}
LSB_ACTION = {"start": "start", "stop": "stop", "monitor": "status"}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ocf_root() -> str:
    return os.environ.get("OCF_ROOT", DEFAULT_OCF_ROOT)


@dataclass(frozen=True)
class ScriptAgent:
    """An executable run with one argument, the action; parameters travel in the environment."""

    name: str
    agent_class: str  # "ocf" or "lsb"
    path: str
    provider: str = ""
    type: str = ""

    @property
    def origin(self) -> str:
        return self.path

    def argv(self, action: str) -> list[str]:
        table = OCF_ACTION if self.agent_class == "ocf" else LSB_ACTION
        return [self.path, table[action]]

    def environment(self, params: dict[str, str], instance: str, ctx: OperationContext,
                    base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of one call: the standard OCF variables and one per parameter."""
        env = dict(base if base is not None else _clean_base_environment())
        if self.agent_class == "ocf":
            env.update({
                "OCF_ROOT": ocf_root(),
                "OCF_RA_VERSION_MAJOR": "1",
                "OCF_RA_VERSION_MINOR": "1",
                "OCF_RESOURCE_INSTANCE": instance,
                "OCF_RESOURCE_TYPE": self.type,
                "OCF_RESOURCE_PROVIDER": self.provider,
                "OCF_RESKEY_CRM_meta_timeout": str(int(ctx.timeout * 1000)),
                "OCF_RESKEY_CRM_meta_interval": str(int(ctx.interval * 1000)),
                "OCF_RESKEY_CRM_meta_name": ctx.action if ctx.action != "validate" else "validate-all",
                "OCF_CHECK_LEVEL": str(ctx.depth),
                "OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:",
                "__OCF_ACTION": OCF_ACTION.get(ctx.action, ctx.action),
            })
            for key, value in params.items():
                env[f"OCF_RESKEY_{key}"] = value
        return env

    def result_code(self, action: str, status: int) -> OCF:
        """The OCF code an exit status means for this kind of script and action."""
        if self.agent_class == "ocf":
            return OCF.from_exit(status)
        if action == "monitor":
            return lsb_status_to_ocf(status)
        return lsb_action_to_ocf(status)

    def check_params(self, params: dict[str, str]) -> str | None:
        """Why parameters cannot reach this script, or None."""
        if self.agent_class == "lsb" and params:
            return f"LSB script {self.path} takes no parameters (got {', '.join(sorted(params))})"
        bad = [k for k in params if not _ENV_NAME.match(k)]
        if bad:
            return f"parameter name {bad[0]!r} cannot be an environment variable (letters, digits, _)"
        for key, value in params.items():
            if "\0" in value:
                return f"parameter {key!r} contains a NUL byte"
        return None


def _clean_base_environment() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "HA_debug", "OCF_TRACE_RA", "OCF_TRACE_FILE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    return env


def lsb_info(agent: ScriptAgent) -> AgentInfo:
    """Describe an init script from its LSB header (no meta-data action exists for LSB)."""
    header = read_lsb_header(agent.path)
    return AgentInfo(
        name=agent.name, agent_class="lsb", origin=agent.path,
        shortdesc=header.get("Short-Description", ""), longdesc=header.get("Description", ""),
        actions=(ActionInfo("start", 20.0), ActionInfo("stop", 20.0),
                 ActionInfo("monitor", 20.0, 15.0)))


def read_lsb_header(path: str, limit: int = 65536) -> dict[str, str]:
    """The fields of an init script's ``### BEGIN INIT INFO`` block."""
    fields: dict[str, str] = {}
    try:
        with open(path, "rb") as handle:
            text = handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return fields
    inside = False
    last = None
    for line in text.splitlines():
        if line.startswith("### BEGIN INIT INFO"):
            inside = True
            continue
        if line.startswith("### END INIT INFO"):
            break
        if not inside or not line.startswith("#"):
            continue
        body = line[1:]
        match = re.match(r"\s*([A-Za-z-]+):\s*(.*)$", body)
        if match:
            last = match.group(1)
            fields[last] = match.group(2).strip()
        elif last and body.startswith(("\t", "  ")):
            fields[last] += " " + body.strip()
    return fields


_SHORTDESC = re.compile(rb"<shortdesc[^>]*>(.*?)</shortdesc>", re.DOTALL)


def quick_ocf_shortdesc(path: str, limit: int = 262144) -> str:
    """The agent's short description read from the script text, without running it.

    Most OCF scripts carry their meta-data inline; the first <shortdesc> after
    <resource-agent> is the agent's own. Empty when it cannot be found this way.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit)
    except OSError:
        return ""
    start = data.find(b"<resource-agent")
    if start < 0:
        return ""
    params = data.find(b"<parameters", start)
    match = _SHORTDESC.search(data, start, params if params > 0 else len(data))
    return " ".join(match.group(1).decode("utf-8", "replace").split()) if match else ""


def is_executable_file(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)
