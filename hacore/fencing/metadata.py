"""Fence agent meta-data: the fence-agents XML format (not OCF's), parsed and produced.

``<resource-agent name shortdesc><longdesc/><parameters><parameter name unique required
[deprecated] [obsoletes]><getopt mixed/><content type default/><shortdesc/></parameter>
</parameters><actions><action name [automatic]/></actions></resource-agent>``.
Parsed with defusedxml: meta-data comes from a program, and is untrusted input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hacore.errors import HacoreError

_TRUE = {"1", "true", "yes", "on"}


class FenceMetadataError(HacoreError):
    """A fence agent's meta-data is missing or not the fence-agents XML format."""


@dataclass(frozen=True)
class FenceParameter:
    """One parameter a fence agent reads from stdin.

    ``type`` is the ``<content type>`` (string, boolean, integer, second, select);
    ``deprecated`` names are accepted aliases; ``obsoletes`` names the alias this one
    replaces (``plug`` obsoletes ``port``).
    """

    name: str
    required: bool = False
    type: str = "string"
    default: str | None = None
    shortdesc: str = ""
    deprecated: bool = False
    obsoletes: str | None = None
    options: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        data = asdict(self)
        data["options"] = list(self.options)
        return data


@dataclass(frozen=True)
class FenceAgentInfo:
    """A fence agent's description: its parameters and the actions it implements."""

    name: str
    shortdesc: str
    longdesc: str
    parameters: tuple[FenceParameter, ...]
    actions: tuple[str, ...]
    origin: str = ""

    def parameter(self, name: str) -> FenceParameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def to_dict(self) -> dict:
        return {"name": self.name, "shortdesc": self.shortdesc, "longdesc": self.longdesc,
                "origin": self.origin, "actions": list(self.actions),
                "parameters": [p.to_dict() for p in self.parameters]}


def parse_fence_metadata(text: str, origin: str = "") -> FenceAgentInfo:
    """Parse fence-agents meta-data XML; FenceMetadataError says what is wrong."""
    # imported here: the fence path (catalog, device) imports this module, and these cost
    # a daemon's first fence about 14 ms (xml.sax.saxutils pulls in urllib and http.client)
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    where = f" from {origin}" if origin else ""
    if not text.strip():
        raise FenceMetadataError(f"fence agent meta-data{where} is empty")
    try:
        root = ElementTree.fromstring(text.strip().encode())
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise FenceMetadataError(f"fence agent meta-data{where} is not valid XML: {exc}") from None
    if root.tag != "resource-agent" or not root.get("name"):
        raise FenceMetadataError(f"fence agent meta-data{where}: the root element must be "
                                 f"<resource-agent name=...>, not <{root.tag}>")
    params = []
    block = root.find("parameters")
    for el in (block.findall("parameter") if block is not None else []):
        name = el.get("name")
        if not name:
            raise FenceMetadataError(f"fence agent meta-data{where}: a <parameter> has no name")
        content = el.find("content")
        options: tuple[str, ...] = ()
        if content is not None:
            options = tuple(o.get("value", "") for o in content.findall("option"))
        params.append(FenceParameter(
            name=name,
            required=(el.get("required") or "0").lower() in _TRUE,
            type=(content.get("type") if content is not None else None) or "string",
            default=content.get("default") if content is not None else None,
            shortdesc=(el.findtext("shortdesc") or "").strip(),
            deprecated=(el.get("deprecated") or "0").lower() in _TRUE,
            obsoletes=el.get("obsoletes") or None,
            options=options))
    actions_el = root.find("actions")
    actions = tuple(a.get("name", "") for a in (actions_el.findall("action")
                                                 if actions_el is not None else []))
    return FenceAgentInfo(
        name=root.get("name", ""), shortdesc=root.get("shortdesc", ""),
        longdesc=(root.findtext("longdesc") or "").strip(), parameters=tuple(params),
        actions=tuple(a for a in actions if a), origin=origin)


def render_fence_metadata(info: FenceAgentInfo) -> str:
    """The fence-agents XML for ``info`` (what a native fencer prints for ``metadata``)."""
    from xml.sax.saxutils import escape, quoteattr

    out = ['<?xml version="1.0" ?>',
           f"<resource-agent name={quoteattr(info.name)} shortdesc={quoteattr(info.shortdesc)}>",
           f"<longdesc>{escape(info.longdesc or info.shortdesc)}</longdesc>", "<parameters>"]
    for p in info.parameters:
        extra = ' deprecated="1"' if p.deprecated else ""
        if p.obsoletes:
            extra += f" obsoletes={quoteattr(p.obsoletes)}"
        default = f" default={quoteattr(p.default)}" if p.default is not None else ""
        out.append(f"\t<parameter name={quoteattr(p.name)} unique=\"0\" "
                   f"required=\"{int(p.required)}\"{extra}>")
        if p.options:
            out.append(f"\t\t<content type={quoteattr(p.type)}{default}>")
            out.extend(f"\t\t\t<option value={quoteattr(o)}/>" for o in p.options)
            out.append("\t\t</content>")
        else:
            out.append(f"\t\t<content type={quoteattr(p.type)}{default}/>")
        out.append(f"\t\t<shortdesc lang=\"en\">{escape(p.shortdesc)}</shortdesc>")
        out.append("\t</parameter>")
    out += ["</parameters>", "<actions>"]
    for action in info.actions:
        auto = ' automatic="0"' if action == "on" else ""
        out.append(f"\t<action name={quoteattr(action)}{auto}/>")
    out += ["</actions>", "</resource-agent>", ""]
    return "\n".join(out)
