"""The control API: named handlers with JSON in and out, served on a root-only unix socket.

The handlers (``hacore.api.handlers.Api``) know nothing of the transport: the unix socket
server here, and later the web console's HTTPS server, call ``Api.call(method, params)``
and send back what it returns. Public API::

    from hacore.api.handlers import Api, Backend
    from hacore.api.server import UnixApiServer
    from hacore.api.client import ApiClient, default_socket_path
"""
