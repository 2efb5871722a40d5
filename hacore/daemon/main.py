"""The daemon process: load the config, join with the built-in provider, run until SIGTERM.

``python -m hacore.daemon.main --config FILE --node NAME --state-dir DIR --socket PATH``
is what the supervisor starts; ``hacore daemon`` runs the supervisor.
"""

from __future__ import annotations

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


OPTIONS = ("--config", "--node", "--state-dir", "--socket", "--key-file")
USAGE = ("usage: python -m hacore.daemon.main --config FILE --node NAME --state-dir DIR "
         "--socket PATH --key-file FILE")


def parse_options(argv: list[str]) -> dict[str, str] | None:
    """``--name value`` (or ``--name=value``) for each of OPTIONS, all required; None when
    an option is missing, unknown or has no value. (No argparse: the supervisor is the
    only caller, and argparse with gettext is 0.3 MiB of every node's daemon.)"""
    found: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if name not in OPTIONS:
            return None
        if not eq:
            value = next(args, "")
        if not value or value.startswith("--"):
            return None
        found[name] = value
    return found if len(found) == len(OPTIONS) else None


def main(argv: list[str] | None = None) -> int:
    options = parse_options(sys.argv[1:] if argv is None else argv)
    if options is None:
        print(USAGE, file=sys.stderr)
        return 2
    setup_logging(options["--node"])
    try:
        return asyncio.run(run_daemon(options["--config"], options["--node"],
                                      options["--state-dir"], options["--socket"],
                                      options["--key-file"]))
    except HacoreError as exc:  # a handled error can only come from start-up (bad config,
        log.error("%s", exc)     # key, socket): restarting would not help, so the
        return 2                 # supervisor stops too


if __name__ == "__main__":
    sys.exit(main())
