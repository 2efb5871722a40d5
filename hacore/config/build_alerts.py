"""[[alerts]] -> AlertHook: scripts or URLs to notify on cluster events (hacore.alerts)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from hacore.alerts.topics import TOPICS
from hacore.config.build_cluster import _named_tables, check_name
from hacore.config.fields import Table
from hacore.config.model import AlertHook
from hacore.config.problems import Findings

ALERT_KEYS = ("name", "script", "url", "events", "services", "timeout")


def read_alerts(f: Findings, data: dict[str, Any], services: set[str]) -> tuple[AlertHook, ...]:
    """Every alert hook; exactly one of ``script`` (absolute path) or ``url`` (http/https)."""
    hooks = []
    for name, item, path in _named_tables(f, data.get("alerts"), "alerts"):
        check_name(f, path, name, "alert")
        t = Table(f, item, path, ALERT_KEYS, "an alert")
        script, url = t.string("script"), t.string("url")
        if (script is None) == (url is None):
            f.error(path, f"alert {name!r} needs exactly one of script = \"/path\" or "
                    "url = \"http://...\"")
        if isinstance(script, str) and not script.startswith("/"):
            f.error(path + ("script",), f"script must be an absolute path, not {script!r}")
        if isinstance(url, str):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                f.error(path + ("url",), f"url {url!r} is not valid; use http://HOST[:PORT]/PATH "
                        "or https://...")
        events = t.string_list("events")
        for i, topic in enumerate(events):
            if topic not in TOPICS:
                f.error(path + ("events", i), f"event {topic!r} is not known; events: "
                        + ", ".join(TOPICS))
        only = t.string_list("services")
        for i, svc in enumerate(only):
            if svc not in services:
                f.error(path + ("services", i), f"service {svc!r} is not defined")
        timeout = t.number("timeout", 10.0, positive=True)
        hooks.append(AlertHook(name, script=script, url=url, events=tuple(events),
                               services=tuple(only), timeout=timeout))
    return tuple(hooks)
