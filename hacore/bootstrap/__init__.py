"""Cluster bootstrap: ``hacore cluster init / join / remove / token`` (docs/bootstrap.md).

``token``: the join token (format, secret derived from the cluster key, proofs);
``wire``: the join endpoint's framing; ``endpoint``: the daemon's join listener;
``joiner``: the joining side; ``nodes``: adding and removing a node in a configuration;
``local``: the files init and join write and how the daemon is started.
"""
