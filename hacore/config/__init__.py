"""The cluster configuration: TOML file -> checked, immutable ClusterConfig.

``from hacore.config import load_config`` is the entry point for everyone who reads a
cluster.toml; see docs/configuration.md for the file format.
"""

from hacore.config.loader import (
                                  DEFAULT_PATH,
                                  CheckResult,
                                  check_config,
                                  check_config_text,
                                  load_config,
                                  load_config_text,
)
from hacore.config.problems import ConfigError, Problem

__all__ = ["DEFAULT_PATH", "CheckResult", "ConfigError", "Problem", "check_config",
           "check_config_text", "load_config", "load_config_text"]
