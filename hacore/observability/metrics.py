"""Prometheus metrics: a small registry of counters, gauges and histograms with labels, and
the text exposition format (version 0.0.4) written by hand.

Why not ``prometheus_client``: the daemon needs a dozen metrics and the text format, which is
about a hundred lines; the client would add a dependency (and its process/platform
collectors, global default registry and HTTP server) that the daemon's own API server makes
unnecessary. ``parse_exposition`` reads the format back (tests, ``hacore status`` tooling).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence

NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
#: operation and failover durations: from a few milliseconds to ten minutes
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
                   600)


def _value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if v != int(v) or abs(v) >= 1e15 else str(int(v))


def _escape_label(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape_label(v)}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class Metric:
    """A named family with fixed label names; one child per label value combination."""

    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        if not NAME_RE.match(name):
            raise ValueError(f"metric name {name!r} is not valid")
        for label in labels:
            if not LABEL_RE.match(label) or label.startswith("__") or label == "le":
                raise ValueError(f"label name {label!r} of {name} is not valid")
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)
        self._lock = threading.Lock()
        self._values: dict[tuple[str, ...], float] = {}

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {', '.join(self.label_names) or 'none'},"
                             f" not {', '.join(sorted(labels)) or 'none'}")
        return tuple(str(labels[n]) for n in self.label_names)

    def samples(self) -> Iterable[str]:
        with self._lock:
            items = sorted(self._values.items())
        for key, v in items:
            yield f"{self.name}{_labels(self.label_names, key)} {_value(v)}"

    def expose(self) -> list[str]:
        help_text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        return [f"# HELP {self.name} {help_text}", f"# TYPE {self.name} {self.kind}",
                *self.samples()]


class Counter(Metric):
    """A value that only goes up (events counted since the daemon started)."""

    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError(f"{self.name}: a counter cannot go down ({amount})")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)


class Gauge(Metric):
    """A value that goes up and down (members, services running)."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def clear(self) -> None:
        """Forget every child (a service removed from the configuration)."""
        with self._lock:
            self._values.clear()


class Histogram(Metric):
    """Observations counted in cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = (),
                 buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        super().__init__(name, help_text, labels)
        if list(buckets) != sorted(buckets) or not buckets:
            raise ValueError(f"{name}: buckets must be given in increasing order")
        self.buckets = tuple(float(b) for b in buckets)
        self._obs: dict[tuple[str, ...], list[float]] = {}  # counts per bucket + [sum, count]

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            row = self._obs.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    row[i] += 1
            row[-2] += value
            row[-1] += 1

    def count(self, **labels: str) -> float:
        with self._lock:
            row = self._obs.get(self._key(labels))
            return row[-1] if row else 0.0

    def samples(self) -> Iterable[str]:
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._obs.items())
        for key, row in items:
            for bound, n in zip(self.buckets, row):
                le = f'le="{_value(bound)}"'
                yield f"{self.name}_bucket{_labels(self.label_names, key, le)} {_value(n)}"
            inf = _labels(self.label_names, key, 'le="+Inf"')
            yield f"{self.name}_bucket{inf} {_value(row[-1])}"
            yield f"{self.name}_sum{_labels(self.label_names, key)} {_value(row[-2])}"
            yield f"{self.name}_count{_labels(self.label_names, key)} {_value(row[-1])}"


class Registry:
    """The metrics one process exports, in registration order."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    def register(self, metric: Metric) -> Metric:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is registered twice")
        self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        return self.register(Counter(name, help_text, labels))  # type: ignore[return-value]

    def gauge(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Gauge:
        return self.register(Gauge(name, help_text, labels))  # type: ignore[return-value]

    def histogram(self, name: str, help_text: str, labels: Sequence[str] = (),
                  buckets: Sequence[float] = DEFAULT_BUCKETS) -> Histogram:
        return self.register(Histogram(name, help_text, labels, buckets))  # type: ignore[return-value]

    def get(self, name: str) -> Metric | None:
        return self._metrics.get(name)

    def exposition(self) -> str:
        """The text format (``Content-Type: text/plain; version=0.0.4``)."""
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.expose())
        return "\n".join(lines) + "\n"


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL_PAIR_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_exposition(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Read the text format back: (sample name, sorted labels) -> value. ValueError on a
    malformed line."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _SAMPLE_RE.match(line)
        if not match:
            raise ValueError(f"line {n}: not a sample: {line!r}")
        name, _, raw_labels, raw_value = match.groups()
        labels = []
        if raw_labels:
            pos = 0
            for pair in _LABEL_PAIR_RE.finditer(raw_labels):
                if pair.start() != pos:
                    raise ValueError(f"line {n}: bad labels: {raw_labels!r}")
                value = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1),
                               pair.group(2))
                labels.append((pair.group(1), value))
                pos = pair.end()
            if pos != len(raw_labels):
                raise ValueError(f"line {n}: bad labels: {raw_labels!r}")
        out[(name, tuple(sorted(labels)))] = float(raw_value.replace("Inf", "inf"))
    return out
