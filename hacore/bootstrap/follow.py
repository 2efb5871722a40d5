"""A running daemon follows a configuration whose node list changed (join or remove).

The membership provider heartbeats the new node (or forgets the removed one) and takes the
new expected votes (``replace_nodes``; a provider without it needs a daemon restart, which
is logged); the message channel gets (or drops) the node's outgoing link. Services are not
touched: a node joining or leaving the configuration is not a membership change.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hacore.config.model import ClusterConfig

if TYPE_CHECKING:
    from hacore.daemon.node import NodeDaemon

log = logging.getLogger("hacore.bootstrap")


def follow_nodes(daemon: NodeDaemon, config: ClusterConfig) -> None:
    """Bring ``daemon``'s provider and channel to ``config``'s nodes."""
    replace_nodes = getattr(daemon.provider, "replace_nodes", None)
    if replace_nodes is None:
        log.error("%s: the membership provider %s cannot change its nodes while running; "
                  "restart this node's daemon to follow the new node list", daemon.node,
                  type(daemon.provider).__name__)
    else:
        replace_nodes(config)
    channel = daemon.channel
    if channel is None:
        return
    from hacore.daemon.channel import node_addresses

    channel.set_peers({n.name: node_addresses(n.addresses, config.message_port)
                       for n in config.nodes})
