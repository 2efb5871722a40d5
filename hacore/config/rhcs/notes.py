"""What the importer could not carry over, element by element, with the source line."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

_NAME_BAD = re.compile(r"[^A-Za-z0-9_.@:-]")


def where(elem: ET.Element) -> str:
    return str(getattr(elem, "sourceline", "?"))


def describe(elem: ET.Element) -> str:
    """``<fs name="data">``: the element as an admin would grep for it."""
    key = next((a for a in ("name", "address", "ref", "agent") if a in elem.attrib), None)
    return f"<{elem.tag} {key}=\"{elem.attrib[key]}\">" if key else f"<{elem.tag}>"


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "yes", "true", "on")


def seconds(value: str) -> float:
    """rgmanager times: ``30``, ``30s``, ``5m``, ``1h``."""
    text = value.strip().lower()
    scale = {"s": 1, "m": 60, "h": 3600}.get(text[-1:], None)
    if scale is not None:
        text = text[:-1]
    return float(text) * (scale or 1)


def safe_name(text: str) -> str:
    """A name the TOML schema accepts, made from an rgmanager name."""
    name = _NAME_BAD.sub("-", text.strip()) or "unnamed"
    return name if name[0].isalnum() else "r" + name


@dataclass
class Notes:
    """Collects not-carried-over findings; ``take`` marks attributes as handled."""

    filename: str
    items: list[str] = field(default_factory=list)
    taken: dict[int, set[str]] = field(default_factory=dict)

    def add(self, elem: ET.Element, message: str) -> None:
        self.items.append(f"{self.filename}:{where(elem)}: {describe(elem)}: {message}")

    def take(self, elem: ET.Element, *attrs: str) -> None:
        self.taken.setdefault(id(elem), set()).update(attrs)

    def get(self, elem: ET.Element, attr: str, default: str | None = None) -> str | None:
        self.take(elem, attr)
        return elem.attrib.get(attr, default)

    def leftovers(self, elem: ET.Element, reasons: dict[str, str] | None = None) -> None:
        """Report every attribute of ``elem`` nobody took."""
        done = self.taken.get(id(elem), set())
        for attr, value in elem.attrib.items():
            if attr in done:
                continue
            reason = (reasons or {}).get(attr, "hacore has no such setting")
            self.add(elem, f"attribute {attr}=\"{value}\" not carried over: {reason}")

    def element(self, elem: ET.Element, reason: str) -> None:
        """Report a whole element (and, one by one, its descendants) as not carried over."""
        self.add(elem, f"element not carried over: {reason}")
        for child in elem:
            if isinstance(child.tag, str):
                self.element(child, f"inside <{elem.tag}>, which is not carried over")
