"""The daemon process: load the config, join with the built-in provider, run until SIGTERM.

``python -m hacore.daemon.main --config FILE --node NAME --state-dir DIR --socket PATH``
is what the supervisor starts; ``hacore daemon`` runs the supervisor.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from hacore.errors import HacoreError

log = logging.getLogger("hacore.daemon")


def setup_logging(node: str) -> None:
    """One line per record; <N> priorities and no timestamps under systemd (logformat)."""
    from hacore.daemon.logformat import setup_logging as setup

    setup(node)


def make_provider(config, node: str, key_file: str):  # type: ignore[no-untyped-def]
    """The built-in heartbeat provider for ``node``, keyed by the cluster key file."""
    from hacore.membership.heartbeat import HeartbeatMembership
    from hacore.membership.keyfile import load_key

    return HeartbeatMembership(config, node, load_key(key_file))


async def run_daemon(config_path: str, node: str, state_dir: str, socket_path: str,
                     key_file: str) -> int:
    """Run one node until SIGTERM/SIGINT, ``hacore node leave`` or the end of ``hacore
    cluster stop`` (nothing runs here then); then move its services to other nodes, stop
    what is left, tell the cluster it leaves, and return 0."""
    from hacore.config import load_config
    from hacore.daemon.node import NodeDaemon
    from hacore.membership.keyfile import load_key

    config = load_config(config_path)
    daemon = NodeDaemon(config, node, make_provider(config, node, key_file),
                        state_dir=state_dir, socket_path=socket_path,
                        metrics_listen=config.metrics.listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    daemon.on_leave = stop.set  # hacore node leave: the same clean departure
    daemon.use_channel(load_key(key_file))  # node messages over TLS, cluster CA from the key
    await daemon.start()
    await stop.wait()
    log.info("%s is shutting down: moving its services away, stopping what is left, then "
             "leaving", node)
    await daemon.stop(stop_services=True, drain=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hacore-daemon")
    parser.add_argument("--config", required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--key-file", required=True)
    args = parser.parse_args(argv)
    setup_logging(args.node)
    try:
        return asyncio.run(run_daemon(args.config, args.node, args.state_dir, args.socket,
                                      args.key_file))
    except HacoreError as exc:  # a handled error can only come from start-up (bad config,
        log.error("%s", exc)     # key, socket): restarting would not help, so the
        return 2                 # supervisor stops too


if __name__ == "__main__":
    sys.exit(main())
