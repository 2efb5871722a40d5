"""OCF 1.1 meta-data: generated from a native agent's schema, parsed from a script's output."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, SubElement, indent, tostring

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from hacore.agent.base import ACTIONS, Agent
from hacore.agent.info import ActionInfo, AgentInfo, ParameterInfo
from hacore.errors import InputError

_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|msec|s|sec|m|min|h|hr)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {None: 1.0, "ms": 0.001, "msec": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0,
                 "min": 60.0, "h": 3600.0, "hr": 3600.0}
MAX_METADATA_BYTES = 1 << 20


class MetadataError(InputError):
    """Meta-data XML that cannot be read."""


def parse_duration(text: str) -> float:
    """Seconds in an OCF time value: ``20``, ``20s``, ``500ms``, ``2min``."""
    match = _TIME.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration (e.g. 20s, 500ms, 2min)")
    unit = match.group(2).lower() if match.group(2) else None
    return float(match.group(1)) * _UNIT_SECONDS[unit]


def format_duration(seconds: float) -> str:
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def _desc(parent: Element, tag: str, text: str) -> None:
    SubElement(parent, tag, lang="en").text = text


def native_metadata(cls: type[Agent]) -> str:
    """The OCF 1.1 meta-data XML of a native agent, generated from its class."""
    root = Element("resource-agent", name=cls.name, version=cls.version)
    SubElement(root, "version").text = "1.1"
    _desc(root, "longdesc", cls.longdesc or cls.shortdesc)
    _desc(root, "shortdesc", cls.shortdesc)
    params = SubElement(root, "parameters")
    for param in cls.parameters:
        attrs = {"name": param.name, "required": "1" if param.required else "0"}
        if param.unique_group:
            attrs["unique-group"] = param.unique_group
        if param.reloadable:
            attrs["reloadable"] = "1"
        node = SubElement(params, "parameter", attrs)
        _desc(node, "longdesc", param.longdesc or param.shortdesc)
        _desc(node, "shortdesc", param.shortdesc)
        content_attrs = {"type": param.type}
        if param.default_text is not None:
            content_attrs["default"] = param.default_text
        content = SubElement(node, "content", content_attrs)
        for option in param.options:
            SubElement(content, "option", value=option)
    actions = SubElement(root, "actions")
    for action in ("start", "stop"):
        SubElement(actions, "action", name=action, timeout=format_duration(cls.timeout_for(action)))
    for depth in cls.monitor_depths:
        SubElement(actions, "action", name="monitor", timeout=format_duration(cls.timeout_for("monitor")),
                   interval=format_duration(cls.monitor_interval), depth=str(depth))
    SubElement(actions, "action", name="validate-all", timeout=format_duration(cls.timeout_for("validate")))
    SubElement(actions, "action", name="meta-data", timeout="5s")
    indent(root)
    return '<?xml version="1.0"?>\n' + tostring(root, encoding="unicode") + "\n"


def _text(node: Element | None, tag: str) -> str:
    if node is None:
        return ""
    for child in node.findall(tag):
        if child.get("lang", "en") == "en" and child.text:
            return " ".join(child.text.split())
    found = node.find(tag)
    return " ".join(found.text.split()) if found is not None and found.text else ""


def _flag(value: str | None) -> bool:
    return (value or "0").strip().lower() in ("1", "true", "yes")


def parse_metadata(xml: str, *, name: str, agent_class: str, origin: str) -> AgentInfo:
    """Read OCF meta-data (1.0 or 1.1) into an AgentInfo. Hostile XML is refused."""
    if len(xml.encode()) > MAX_METADATA_BYTES:
        raise MetadataError(f"agent {name}: meta-data is larger than {MAX_METADATA_BYTES} bytes")
    try:
        root = SafeET.fromstring(xml)
    except DefusedXmlException as exc:
        raise MetadataError(f"agent {name}: meta-data refused ({exc})") from None
    except SafeET.ParseError as exc:
        raise MetadataError(f"agent {name}: meta-data is not well-formed XML ({exc})") from None
    if root.tag != "resource-agent":
        raise MetadataError(f"agent {name}: meta-data root element is <{root.tag}>, expected <resource-agent>")
    warnings: list[str] = []
    parameters: list[ParameterInfo] = []
    for param in root.iterfind("parameters/parameter"):
        content = param.find("content")
        ptype = content.get("type", "string") if content is not None else "string"
        default = content.get("default") if content is not None else None
        options = tuple(o.get("value", "") for o in content.iterfind("option")) if content is not None else ()
        parameters.append(ParameterInfo(
            name=param.get("name", ""), type=ptype, required=_flag(param.get("required")),
            default=default, shortdesc=_text(param, "shortdesc"), longdesc=_text(param, "longdesc"),
            options=options, unique_group=param.get("unique-group")))
    actions: list[ActionInfo] = []
    for action in root.iterfind("actions/action"):
        try:
            timeout = parse_duration(action.get("timeout", ""))
        except ValueError:
            warnings.append(f"action {action.get('name')!r} has no valid timeout")
            timeout = 20.0
        try:
            interval = parse_duration(action.get("interval") or "0")
        except ValueError:
            interval = 0.0
        depth_text = action.get("depth") or "0"
        actions.append(ActionInfo(action.get("name", ""), timeout, interval,
                                  int(depth_text) if depth_text.isdigit() else 0))
    return AgentInfo(
        name=name, agent_class=agent_class, origin=origin,
        shortdesc=_text(root, "shortdesc"), longdesc=_text(root, "longdesc"),
        version=(root.findtext("version") or "").strip(),
        parameters=tuple(parameters), actions=tuple(actions), warnings=tuple(warnings))


def native_info(cls: type[Agent], origin: str) -> AgentInfo:
    """AgentInfo of a native agent, straight from its class (no XML round trip)."""
    params = tuple(
        ParameterInfo(p.name, p.type, p.required, p.default_text, p.shortdesc, p.longdesc,
                      p.options, p.unique_group)
        for p in cls.parameters)
    actions = [ActionInfo(a, cls.timeout_for(a)) for a in ACTIONS if a != "monitor"]
    actions += [ActionInfo("monitor", cls.timeout_for("monitor"), cls.monitor_interval, d)
                for d in cls.monitor_depths]
    return AgentInfo(cls.name, "native", origin, cls.shortdesc, cls.longdesc, cls.version,
                     params, tuple(actions))
