"""Alert hooks: run a script or POST JSON to a URL when something happens in the cluster.

Configured with ``[[alerts]]`` in the cluster file; delivered by ``AlertDispatcher``
(``hacore.alerts.dispatcher``), which never blocks the daemon: a bounded queue drained by one
worker thread, hooks run in order of the events' sequence numbers, each with a timeout.
"""

from hacore.alerts.topics import TOPICS, topic_of

__all__ = ["TOPICS", "topic_of"]
