"""Read a cluster.conf safely: hardened expat (no entities, no external references), a size
cap, a nesting cap, and the source line of every element for the messages."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from hacore.errors import InputError

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64


class _LinedParser(DefusedXMLParser):
    """Records ``sourceline`` on each element and refuses deep nesting."""

    def __init__(self, filename: str) -> None:
        super().__init__(forbid_dtd=False, forbid_entities=True, forbid_external=True)
        self.filename = filename
        self.depth = 0

    def _start(self, tag, attrs):  # type: ignore[override]
        self.depth += 1
        line = self.parser.CurrentLineNumber
        if self.depth > MAX_DEPTH:
            raise InputError(f"{self.filename}:{line}: elements nested deeper than "
                             f"{MAX_DEPTH} levels; refused")
        elem = super()._start(tag, attrs)
        elem.sourceline = line  # type: ignore[attr-defined]
        return elem

    def _end(self, tag):  # type: ignore[override]
        self.depth -= 1
        return super()._end(tag)


def parse_cluster_conf(path: str | Path) -> ET.Element:
    """The root <cluster> element; InputError with file and line for anything malformed."""
    name = str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file; give the path of a cluster.conf") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not a cluster.conf") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise InputError(f"{name}: larger than {MAX_BYTES // 1024 // 1024} MiB; a cluster.conf "
                         "is never that big, refused")
    return parse_text(data, name)


def parse_text(data: bytes | str, name: str = "cluster.conf") -> ET.Element:
    parser = _LinedParser(name)
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as exc:
        line, col = exc.position
        reason = str(exc).split(":")[0]
        raise InputError(f"{name}:{line}: malformed XML ({reason}, column {col + 1})") from None
    except DefusedXmlException as exc:
        expat = getattr(parser, "parser", None)
        line = expat.CurrentLineNumber if expat is not None else "?"
        raise InputError(f"{name}:{line}: refused: {type(exc).__name__} (entity declarations "
                         "and external references are not allowed in a cluster.conf)") from None
    except RecursionError:
        raise InputError(f"{name}: elements nested too deeply; refused") from None
    if root.tag != "cluster":
        raise InputError(f"{name}:{getattr(root, 'sourceline', 1)}: the root element is "
                         f"<{root.tag}>, expected <cluster>")
    return root
