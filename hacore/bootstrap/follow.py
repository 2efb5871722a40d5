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
    from hacore.daemon.channel import _PeerLink, node_addresses

    names = {n.name for n in config.nodes}
    for name in [n for n in channel.links if n not in names]:
        link = channel.links.pop(name)
        if link.task is not None:
            link.task.cancel()
        link.close()
    for node in config.nodes:
        addresses = node_addresses(node.addresses, config.message_port)
        link = channel.links.get(node.name)
        if node.name != daemon.node and (link is None or link.addresses != addresses):
            if link is not None:
                if link.task is not None:
                    link.task.cancel()
                link.close()
            channel.links[node.name] = _PeerLink(channel, node.name, addresses)
