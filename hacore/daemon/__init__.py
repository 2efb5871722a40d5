"""The node daemon: membership, the coordinator's policy cycle, the runner, the control API.

``hacore daemon --config FILE --node NAME`` runs ``hacore.daemon.supervisor``, which runs
``hacore.daemon.node.NodeDaemon`` in a child process and cleans up after it if it dies.
"""
