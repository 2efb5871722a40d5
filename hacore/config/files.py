"""Writing a configuration file atomically (see hacore.files)."""

from hacore.files import write_atomically as write_atomic

__all__ = ["write_atomic"]
