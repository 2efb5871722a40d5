"""hacore: a high-availability cluster resource manager."""

__version__ = "0.1.0"
