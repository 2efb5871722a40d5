"""docs/configuration.md stays true: its example loads and every schema key is documented."""

from __future__ import annotations

import re

from hacore.config import load_config_text
from hacore.config.build_cluster import (
    DOMAIN_KEYS,
    FENCE_DEVICE_KEYS,
    NODE_KEYS,
    QUORUM_KEYS,
    TIMING_KEYS,
)
from hacore.config.build_services import RESOURCE_KEYS, SERVICE_KEYS, TREE_KEYS

from .conftest import DATA

DOC = (DATA.parents[2] / "docs" / "configuration.md").read_text()


def test_annotated_example_loads():
    """The complete annotated example in the docs is a valid configuration."""
    example = re.search(r"```toml\n(.*?)```", DOC, re.DOTALL).group(1)
    cfg = load_config_text(example, "docs-example.toml")
    assert cfg.service("web").depend == "db"
    assert cfg.node("n3").fence[0].devices[0].device == "ipmi-n3"


def test_every_key_is_documented():
    """Each key the loader accepts appears in the docs as `key`."""
    keys = set(NODE_KEYS + QUORUM_KEYS + TIMING_KEYS + FENCE_DEVICE_KEYS + DOMAIN_KEYS
               + RESOURCE_KEYS + SERVICE_KEYS + TREE_KEYS)
    missing = sorted(k for k in keys if f"`{k}`" not in DOC and f"{k} =" not in DOC)
    assert not missing
