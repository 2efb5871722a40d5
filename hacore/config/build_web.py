"""``[web]``: the HTTPS API and web console settings (hacore.config.model.WebSettings)."""

from __future__ import annotations

import ipaddress
from typing import Any

from hacore.config.fields import Table
from hacore.config.model import WebSettings
from hacore.config.problems import Findings

WEB_KEYS = ("address", "port", "certificate", "key", "password_file", "session_timeout")


def read_web(f: Findings, data: dict[str, Any]) -> WebSettings | None:
    """The [web] table, or None when there is none (the console is off)."""
    if "web" not in data:
        return None
    t = Table(f, data["web"], ("web",), WEB_KEYS, "[web]")
    d = WebSettings()
    address = t.string("address", None)
    if address is not None:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            f.error(("web", "address"), f"address = {address!r} is not an IP address; give "
                    "one of this cluster's addresses, 0.0.0.0 or ::, or leave it out to "
                    "listen on each node's first address")
            address = None
    paths = {}
    for key in ("certificate", "key", "password_file"):
        value = t.string(key, getattr(d, key))
        if isinstance(value, str) and not value.startswith("/"):
            f.error(("web", key), f"{key} = {value!r} must be an absolute path")
            value = getattr(d, key)
        paths[key] = value
    if t.has("certificate") != t.has("key"):
        f.error(("web",), "give both certificate and key, or neither (a self-signed pair is "
                "made at first start)")
    return WebSettings(port=t.integer("port", d.port, minimum=1, maximum=65535),
                       address=address, session_timeout=t.number(
                           "session_timeout", d.session_timeout, positive=True), **paths)
