"""[metrics] -> Metrics: where each node serves its Prometheus /metrics (hacore.daemon)."""

from __future__ import annotations

from typing import Any

from hacore.config.fields import Table
from hacore.config.model import DEFAULT_METRICS_LISTEN, Metrics
from hacore.config.problems import Findings

METRICS_KEYS = ("listen",)


def split_listen(text: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (IPv6 as ``[::1]:9664``) -> (host, port); None when malformed."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        return None
    return host, int(port)


def read_metrics(f: Findings, data: dict[str, Any]) -> Metrics:
    """``listen = "HOST:PORT"`` (default loopback), or ``listen = ""`` for no endpoint."""
    if "metrics" not in data:
        return Metrics()
    t = Table(f, data["metrics"], ("metrics",), METRICS_KEYS, "[metrics]")
    listen = t.string("listen", DEFAULT_METRICS_LISTEN)
    if not isinstance(listen, str):
        return Metrics()
    if listen and split_listen(listen) is None:
        f.error(("metrics", "listen"), f"listen = {listen!r} is not HOST:PORT; use e.g. "
                f"\"{DEFAULT_METRICS_LISTEN}\" (this node only), \"0.0.0.0:9664\" (every "
                "address), \"[::1]:9664\", or \"\" for no metrics endpoint")
        return Metrics()
    return Metrics(listen or None)
