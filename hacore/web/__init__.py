"""The HTTPS API and web console (what Conga's luci and ricci were).

Imported by the daemon only when ``[web]`` is configured. ``start_web`` is its one door.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hacore.api.handlers import Api
    from hacore.config.model import ClusterConfig
    from hacore.web.server import WebServer

log = logging.getLogger("hacore.web")


async def start_web(api: Api, config: ClusterConfig, node: str) -> WebServer | None:
    """Start the console of ``node`` as ``config.web`` says; None when it is off or could
    not start (logged: the cluster goes on without its console)."""
    if config.web is None:
        return None
    from hacore.errors import HacoreError
    from hacore.web.server import WebServer, listen_address

    me = config.node(node)
    address = listen_address(config.web, me.addresses if me else ())
    server = WebServer(api, config.web, node, address)
    try:
        await server.start()
    except (HacoreError, OSError, ValueError) as exc:
        log.error("web console of %s not started on %s:%d: %s", node, address,
                  config.web.port, exc)
        return None
    return server
