"""What a node tells monitoring systems: Prometheus metrics (``metrics``: the registry and
the text format; ``cluster``: the metrics hacore exports, by name)."""

from hacore.observability.cluster import ClusterMetrics
from hacore.observability.metrics import (
    CONTENT_TYPE,
    Counter,
    Gauge,
    Histogram,
    Registry,
    parse_exposition,
)

__all__ = ["CONTENT_TYPE", "ClusterMetrics", "Counter", "Gauge", "Histogram", "Registry",
           "parse_exposition"]
