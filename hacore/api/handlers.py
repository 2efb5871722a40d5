"""API handlers: one name per request, JSON-able params in, a JSON-able dict out.

Transport-free: the unix socket server and a future HTTPS server both call
``Api.call(method, params)``. An error comes back as ``{"error": {"message", "exit_code",
"kind"}}`` (``exit_code`` 2 for bad input, 1 for refused or failed), so every client can
render it as one line and exit with the same code the CLI would.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from hacore.errors import HacoreError, InputError

log = logging.getLogger("hacore.api")

#: methods that change something (a future HTTPS server asks for more than a read token)
WRITE_METHODS = frozenset({"service", "node", "config_push", "cluster_token", "cluster_remove",
                           "cluster_stop", "cluster_maintenance"})
#: the ``node`` method's operations (fence-ack: an operator confirms a manual fence)
NODE_OPERATIONS = ("standby", "unstandby", "leave", "fence-ack")


class Backend(Protocol):
    """What the daemon offers to the API (implemented by ``hacore.daemon.node.NodeDaemon``)."""

    def api_status(self) -> dict[str, Any]:
        """The cluster as ``hacore status --json`` prints it."""

    def api_nodes(self) -> dict[str, Any]:
        """The nodes as ``hacore nodes --json`` prints them."""

    async def api_service(self, op: str, service: str, node: str | None) -> dict[str, Any]:
        """Record an admin request (acknowledged once a quorum holds it)."""

    async def api_node(self, op: str, node: str) -> dict[str, Any]:
        """standby / unstandby / leave a node, or fence-ack (a manual fence confirmed)."""

    async def api_events(self, since: float | None = None, incident: str | None = None,
                         service: str | None = None, after: int = 0) -> dict[str, Any]:
        """This node's journal: ``{"node", "events": [event dicts], "truncated"}``."""

    async def api_cluster_events(self, *, since: float | None, incident: str | None,
                                 service: str | None, after: dict[str, int]) -> dict[str, Any]:
        """Every reachable member's journal merged: ``{..., "nodes": {name: "ok"|why}}``."""

    def api_why(self, service: str) -> dict[str, Any]:
        """Where a service runs and why, or why not (``hacore why --json``)."""

    async def api_config_push(self, text: str, filename: str = "<pushed>") -> dict[str, Any]:
        """Validate a cluster.toml text (problems name ``filename``), replicate it;
        ``{"version": N}`` once a quorum stored it (``hacore config push``)."""


def _string(params: dict[str, Any], key: str, required: bool = True) -> str | None:
    value = params.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(f"request parameter {key!r} must be a non-empty string, got {value!r}")
    return value


class Api:
    """Dispatches requests by name to a Backend; every failure becomes an error dict."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "status": self._status, "nodes": self._nodes, "service": self._service,
            "node": self._node, "ping": self._ping, "events": self._events, "why": self._why,
            "config_push": self._config_push,
            "config_show": self._config_show,
            "cluster_token": self._cluster_token, "cluster_remove": self._cluster_remove,
            "cluster_maintenance": self._cluster_maintenance,
        }
        self._methods["cluster_stop"] = self._cluster_stop

    def methods(self) -> list[str]:
        return sorted(self._methods)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one request; never raises (errors are returned as ``{"error": ...}``)."""
        handler = self._methods.get(method)
        try:
            if handler is None:
                raise InputError(f"unknown API method {method!r} (valid: "
                                 f"{', '.join(self.methods())})")
            if params is not None and not isinstance(params, dict):
                raise InputError("request params must be a JSON object")
            return await handler(params or {})
        except HacoreError as exc:
            return error_reply(exc)
        except Exception as exc:  # a bug must not take the daemon down with it
            log.exception("API method %s failed", method)
            return error_reply(HacoreError(f"internal error in {method}: {exc!r} (see the "
                                           "daemon's log)"))

    async def _ping(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"pong": True}

    async def _status(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.backend.api_status()

    async def _nodes(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.backend.api_nodes()

    async def _service(self, params: dict[str, Any]) -> dict[str, Any]:
        op = _string(params, "op")
        service = _string(params, "service")
        node = _string(params, "node", required=False)
        assert op is not None and service is not None
        return await self.backend.api_service(op, service, node)

    async def _node(self, params: dict[str, Any]) -> dict[str, Any]:
        op = _string(params, "op")
        node = _string(params, "node")
        assert op is not None and node is not None
        if op not in NODE_OPERATIONS:
            raise InputError(f"unknown node operation {op!r} "
                             f"(valid: {', '.join(NODE_OPERATIONS)})")
        return await self.backend.api_node(op, node)


    async def _events(self, params: dict[str, Any]) -> dict[str, Any]:
        since = params.get("since")
        if since is not None and (isinstance(since, bool) or not isinstance(since, (int, float))):
            raise InputError(f"request parameter 'since' must be epoch seconds, got {since!r}")
        after = params.get("after", 0)
        if params.get("cluster"):  # after: node -> the last seq seen from it
            after = after or {}
            if not isinstance(after, dict) or not all(
                    isinstance(v, int) and not isinstance(v, bool) for v in after.values()):
                raise InputError("request parameter 'after' must map node names to seqs "
                                 f"when 'cluster' is true, got {after!r}")
            return await self.backend.api_cluster_events(
                since=float(since) if since is not None else None,
                incident=_string(params, "incident", required=False),
                service=_string(params, "service", required=False), after=after)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise InputError(f"request parameter 'after' must be a seq >= 0, got {after!r}")
        return await self.backend.api_events(
            since=float(since) if since is not None else None,
            incident=_string(params, "incident", required=False),
            service=_string(params, "service", required=False), after=after)

    async def _config_show(self, params: dict[str, Any]) -> dict[str, Any]:
        """The configuration this daemon runs, as cluster.toml text and as ``hacore config
        show --json`` (secrets included: the socket and the console are for administrators)."""
        from hacore.config.dump import config_to_dict, config_to_toml

        config = self.backend.config  # type: ignore[attr-defined]
        return {"version": config.config_version, "text": config_to_toml(config),
                "config": config_to_dict(config, mask=False)}

    async def _why(self, params: dict[str, Any]) -> dict[str, Any]:
        service = _string(params, "service")
        assert service is not None
        return self.backend.api_why(service)

    async def _config_push(self, params: dict[str, Any]) -> dict[str, Any]:
        text = _string(params, "text")
        filename = _string(params, "filename", required=False) or "<pushed>"
        assert text is not None
        return await self.backend.api_config_push(text, filename)


    async def _cluster_token(self, params: dict[str, Any]) -> dict[str, Any]:
        """A fresh single-use join token (``hacore cluster token``)."""
        from hacore.bootstrap.token import DEFAULT_TTL

        ttl = params.get("ttl", DEFAULT_TTL)
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
            raise InputError(f"request parameter 'ttl' must be seconds, got {ttl!r}")
        return self.backend.api_cluster_token(float(ttl))  # type: ignore[attr-defined]

    async def _cluster_stop(self, params: dict[str, Any]) -> dict[str, Any]:
        """Stop every service in order, then every daemon (``hacore cluster stop``)."""
        return await _cluster_stop_request(self.backend, params)

    async def _cluster_maintenance(self, params: dict[str, Any]) -> dict[str, Any]:
        """The whole cluster in maintenance (``on``: true) or out of it."""
        on = params.get("on")
        if not isinstance(on, bool):
            raise InputError(f"request parameter 'on' must be true or false, got {on!r}")
        return await self.backend.api_cluster_maintenance(on)  # type: ignore[attr-defined,no-any-return]

    async def _cluster_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        """Remove a stopped or fenced node (``hacore cluster remove``)."""
        node = _string(params, "node")
        return await self.backend.api_cluster_remove(node)  # type: ignore[attr-defined]


async def _cluster_stop_request(backend: Any, params: dict[str, Any]) -> dict[str, Any]:
    timeout = params.get("timeout", 600.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise InputError(f"request parameter 'timeout' must be seconds > 0, got {timeout!r}")
    cancel = params.get("cancel", False)
    if not isinstance(cancel, bool):
        raise InputError(f"request parameter 'cancel' must be true or false, got {cancel!r}")
    return await backend.api_cluster_stop(float(timeout), cancel)  # type: ignore[no-any-return]


def error_reply(exc: HacoreError) -> dict[str, Any]:
    """The JSON form of a handled error."""
    return {"error": {"message": str(exc), "exit_code": exc.exit_code,
                      "kind": type(exc).__name__}}
