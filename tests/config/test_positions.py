"""The TOML position scanner: every key path maps to the line it starts on."""

from __future__ import annotations

from hacore.config.positions import scan_positions

TEXT = '''\
[cluster]
name = "x"  # comment
[[nodes]]
name = "n1"
fence = [ { method = "a" },
  { method = "b", devices = ["d"] } ]
[[nodes]]
"quoted key" = 1
doc = """
fake = 1
"""
[services.web]
tree = [
  "vip",
  { resource = "data", children = ["app"] },
]
[[nodes.fence]]
method = "m"
'''


def test_tables_keys_and_array_elements_have_lines():
    """Headers, keys, array-of-tables indexes and inline elements map to their lines."""
    pos = scan_positions(TEXT)
    assert pos.line(("cluster", "name")) == 2
    assert pos.line(("nodes", 0, "fence", 1, "devices", 0)) == 6
    assert pos.line(("nodes", 1, "quoted key")) == 8
    assert pos.line(("services", "web", "tree", 1, "children", 0)) == 15
    assert pos.line(("nodes", 1, "fence", 0, "method")) == 18


def test_multiline_strings_are_not_keys():
    """A key = value line inside a multi-line string is not recorded."""
    assert ("nodes", 1, "fake") not in scan_positions(TEXT).lines


def test_unknown_path_falls_back_to_parent():
    """A path never written (a default) resolves to its nearest written ancestor."""
    assert scan_positions(TEXT).line(("services", "web", "domain")) == 12
    assert scan_positions(TEXT).line(("nowhere",)) is None


def test_garbage_never_raises():
    """The scanner survives text tomllib would reject."""
    for text in ("[[", "a = [", "= = =", '"unterminated', "[a.b\nc = {", "\x00"):
        scan_positions(text)
