"""Structural checks of OCF meta-data against OCF 1.1 (``ra-api.rng``), written out by hand.

Errors are what OCF 1.1 forbids; warnings are what only fits the old OCF 1.0 DTD
(``ra-api-1.dtd``, which ocf-tester uses) or is deprecated in 1.1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from hacore.agent.metadata import parse_duration

CONTENT_TYPES = ("boolean", "string", "integer", "select")
MANDATORY_ACTIONS = ("start", "stop", "monitor")
FLAGS = ("0", "1")


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_ocf11(xml: str) -> Findings:
    """Every way ``xml`` departs from OCF 1.1 meta-data."""
    found = Findings()
    try:
        root = SafeET.fromstring(xml)
    except (DefusedXmlException, SafeET.ParseError) as exc:
        found.errors.append(f"not readable XML: {exc}")
        return found
    if root.tag != "resource-agent":
        found.errors.append(f"root element is <{root.tag}>, not <resource-agent>")
        return found
    if not root.get("name"):
        found.errors.append("<resource-agent> has no name attribute")
    _check_version(root, found)
    _check_descs(root, "the agent", found, required=False)
    if root.find("shortdesc") is None:
        found.errors.append("the agent has no <shortdesc>")
    _check_parameters(root, found)
    _check_actions(root, found)
    return found


def _check_version(root: Element, found: Findings) -> None:
    version = root.find("version")
    if version is None:
        found.warnings.append("no <version>: the agent claims OCF 1.0 (write <version>1.1</version>)")
        return
    text = (version.text or "").strip()
    if text != "1.1":
        found.warnings.append(f"<version>{text}</version>: the agent claims OCF {text or '?'}, not 1.1")


def _check_descs(node: Element, who: str, found: Findings, required: bool) -> None:
    for tag in ("longdesc", "shortdesc"):
        elements = node.findall(tag)
        if required and not elements:
            found.errors.append(f"{who} has no <{tag}>")
        for element in elements:
            if not element.get("lang"):
                found.errors.append(f"<{tag}> of {who} has no lang attribute (write lang=\"en\")")


def _check_parameters(root: Element, found: Findings) -> None:
    block = root.find("parameters")
    if block is None:
        found.errors.append("no <parameters> element")
        return
    params = block.findall("parameter")
    if not params:
        found.warnings.append("<parameters> is empty (OCF 1.1 expects at least one <parameter>)")
    seen: set[str] = set()
    for param in params:
        name = param.get("name")
        if not name:
            found.errors.append("a <parameter> has no name attribute")
            continue
        who = f"parameter {name!r}"
        if name in seen:
            found.errors.append(f"{who} is declared twice")
        seen.add(name)
        for attr in ("required", "reloadable", "unique"):
            value = param.get(attr)
            if value is not None and value not in FLAGS:
                found.errors.append(f"{who}: {attr}={value!r} is not 0 or 1")
        if param.get("unique") is not None:
            found.warnings.append(f"{who}: unique= is deprecated in OCF 1.1 (use unique-group)")
        _check_descs(param, who, found, required=True)
        _check_content(param, who, found)


def _check_content(param: Element, who: str, found: Findings) -> None:
    content = param.find("content")
    if content is None:
        found.errors.append(f"{who} has no <content type=...>")
        return
    ctype = content.get("type")
    if ctype == "time":
        found.warnings.append(f"{who}: content type 'time' exists only in the old DTD (use string)")
    elif ctype not in CONTENT_TYPES:
        found.errors.append(f"{who}: content type {ctype!r} is not one of {', '.join(CONTENT_TYPES)}")
    options = [o.get("value") for o in content.findall("option")]
    if ctype == "select" and not options:
        found.errors.append(f"{who}: a select has no <option value=...>")
    default = content.get("default")
    if ctype == "select" and default is not None and options and default not in options:
        found.errors.append(f"{who}: default {default!r} is not one of its options")
    if ctype == "integer" and default not in (None, ""):
        try:
            int(default)
        except ValueError:
            found.errors.append(f"{who}: default {default!r} is not an integer")


def _check_actions(root: Element, found: Findings) -> None:
    block = root.find("actions")
    if block is None:
        found.errors.append("no <actions> element")
        return
    names = set()
    for action in block.findall("action"):
        name = action.get("name")
        if not name:
            found.errors.append("an <action> has no name attribute")
            continue
        names.add(name)
        timeout = action.get("timeout")
        if timeout is None:
            found.errors.append(f"action {name!r} has no timeout")
        else:
            try:
                parse_duration(timeout)
            except ValueError:
                found.errors.append(f"action {name!r}: timeout {timeout!r} is not a duration (e.g. 20s)")
        depth = action.get("depth")
        if depth is not None and depth not in ("0", "10", "20"):
            found.warnings.append(f"action {name!r}: depth {depth!r} is not 0, 10 or 20")
    for name in MANDATORY_ACTIONS:
        if name not in names:
            found.errors.append(f"no <action name=\"{name}\" timeout=...> (start, stop and monitor are mandatory)")
    if "meta-data" not in names:
        found.warnings.append("no meta-data action advertised")
