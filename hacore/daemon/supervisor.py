"""The supervisor: a tiny parent that restarts the daemon, and first stops what it ran.

A dead daemon is not a dead node: its addresses, mounts and processes live on, and once the
survivors' wait is over they start the same services elsewhere. So when the daemon process
dies (anything but a clean exit: exit status 0 after SIGTERM, ``hacore node leave`` or
``hacore cluster stop``, which the supervisor follows by exiting 0 itself, so systemd's
Restart=on-failure leaves it stopped), the supervisor stops every resource of every
configured service on this node before it starts a new daemon: addresses first (they are
what clients reach), then each service in its stop order. Stop on a stopped resource
succeeds, so stopping everything is safe and needs no trust in the dead daemon's state file.
The supervisor imports almost nothing until it has to clean up.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hacore.daemon.watchdog import WatchdogFeeder

log = logging.getLogger("hacore.supervisor")

ADDRESS_AGENTS = ("ip", "ocf:heartbeat:IPaddr2", "ocf:heartbeat:IPaddr", "ocf:heartbeat:IPv6addr")
MAX_BACKOFF = 30.0
#: hacore.config.model.Timing.node_loss_timeout's default, repeated so the supervisor needs
#: no configuration package in memory (a test keeps the two equal)
DEFAULT_NODE_LOSS_TIMEOUT = 1.0
CLEAN_EXIT = 0
CONFIG_ERROR = 2


def stop_order_addresses_first(config) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """(service, resource) pairs to stop: every address first, then each service's stop order."""
    first: list[tuple[str, object]] = []
    rest: list[tuple[str, object]] = []
    for svc in config.services:
        by_name = {r.name: r for r in svc.walk()}
        for name in svc.stop_order:
            res = by_name[name]
            (first if res.agent in ADDRESS_AGENTS else rest).append((svc.name, res))
    return first + rest


def stop_node_resources(config_path: str, node: str, state_dir: str,
                        env: dict[str, str] | None = None) -> bool:
    """Stop every resource of this node (addresses first). True when every stop succeeded."""
    from hacore.config import load_config
    from hacore.daemon.runner import read_params
    from hacore.daemon.store import LocalStore
    from hacore.executor import run_operation
    from hacore.executor.operation import OperationRequest

    config = load_config(config_path)
    ok = True
    for service, res in stop_order_addresses_first(config):
        request = OperationRequest(res.agent, "stop", res.name, read_params(res),  # type: ignore[attr-defined]
                                   timeout=res.stop_timeout,  # type: ignore[attr-defined]
                                   env={"HACORE_NODE": node, **(env or {})})
        result = run_operation(request)
        if not result.success:
            ok = False
            log.error("supervisor: stop of %s (%s) FAILED: %s %s", res.name, service,  # type: ignore[attr-defined]
                      result.code.label, result.reason)
    store = LocalStore(state_dir)
    try:
        state = store.load()
        state.local = {}
        store.save(state)
    except Exception as exc:  # noqa: BLE001 - the state file is the daemon's; a bad one must not stop us
        log.error("supervisor: could not clear the state file's service list: %s", exc)
    return ok


def watchdog_feeder(config_path: str, node: str) -> WatchdogFeeder | None:
    """The feeder of the node's watchdog (``[[nodes]] watchdog``), or None when none is set.

    Reads the TOML itself (no config import in the supervisor); the daemon checks the file."""
    import tomllib

    try:
        with open(config_path, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return None  # the daemon reports the bad file and exits 2
    entry = next((n for n in raw.get("nodes", []) if isinstance(n, dict)
                  and n.get("name") == node), {})
    device = entry.get("watchdog")
    if not isinstance(device, str) or not device:
        return None
    timing = raw.get("timing", {}) if isinstance(raw.get("timing"), dict) else {}
    loss = timing.get("node_loss_timeout", DEFAULT_NODE_LOSS_TIMEOUT)
    hang = max(1.0, float(loss) if isinstance(loss, (int, float)) else 1.0)
    from hacore.daemon.watchdog import WatchdogFeeder

    return WatchdogFeeder(device, hang_timeout=hang)


def supervise(daemon_argv: list[str], config_path: str, node: str, state_dir: str,
              max_restarts: int | None = None, env: dict[str, str] | None = None) -> int:
    """Run the daemon; restart it after a death, stopping this node's resources first.

    ``env``: the extra environment the daemon gives agent operations (the same here).
    With a watchdog configured for the node (``hacore.daemon.watchdog``), it is armed here,
    fed while the daemon says the node is healthy, and disarmed (magic close) only when the
    daemon exits cleanly or nothing is left running; a dead daemon whose resources cannot
    all be stopped is not restarted: the watchdog resets the node."""
    child: subprocess.Popen[bytes] | None = None
    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    feeder = watchdog_feeder(config_path, node)
    child_env: dict[str, str] | None = None
    pass_fds: tuple[int, ...] = ()
    if feeder is not None:
        from hacore.daemon.watchdog import ALIVE_FD_ENV

        feeder.arm()
        child_env = {**os.environ, ALIVE_FD_ENV: str(feeder.write_fd)}
        pass_fds = (feeder.write_fd,)
    disarm = False
    backoff = 1.0
    restarts = 0
    try:
        while True:
            started = time.monotonic()
            if feeder is not None:
                feeder.daemon_starting()
            child = subprocess.Popen(daemon_argv, env=child_env, pass_fds=pass_fds)
            code = child.wait()
            if code in (CLEAN_EXIT, CONFIG_ERROR):
                disarm = True
                return code
            if stopping:
                if feeder is not None:  # died while stopping: disarm only once all stopped
                    disarm = stop_node_resources(config_path, node, state_dir, env)
                return code
            how = f"signal {-code}" if code < 0 else f"exit status {code}"
            log.error("supervisor: the daemon of %s died (%s); stopping this node's resources, "
                      "addresses first, before starting it again", node, how)
            clean = stop_node_resources(config_path, node, state_dir, env)
            if not clean and feeder is not None:
                feeder.release()
                log.error("supervisor: some stops failed and %s has a watchdog: the daemon is "
                          "not restarted and the watchdog resets this node (S4)", node)
                return 1
            if not clean:
                log.error("supervisor: some stops failed; the daemon restarts anyway and the "
                          "cluster will see them (S4)")
            restarts += 1
            if max_restarts is not None and restarts > max_restarts:
                disarm = clean
                return 1
            if time.monotonic() - started > 60:
                backoff = 1.0
            if feeder is not None:
                feeder.hold(backoff + 1.0)  # nothing runs here: fed until the next daemon
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
    finally:
        if feeder is not None:
            feeder.close(magic=disarm)


def daemon_command(config_path: str, node: str, state_dir: str, socket_path: str,
                   key_file: str) -> list[str]:
    return [sys.executable, "-m", "hacore.daemon.main", "--config", config_path, "--node", node,
            "--state-dir", state_dir, "--socket", socket_path, "--key-file", key_file]


def main() -> None:
    """``python -m hacore.daemon.supervisor CONFIG NODE STATE_DIR SOCKET KEY_FILE`` (what
    ``hacore daemon`` execs once it has checked its arguments)."""
    config_path, node, state_dir, socket_path, key_file = sys.argv[1:6]
    from hacore.daemon.logformat import setup_logging

    setup_logging(node)  # one line per record; <N> priorities under systemd
    os.makedirs(state_dir, exist_ok=True)
    sys.exit(supervise(daemon_command(config_path, node, state_dir, socket_path, key_file),
                       config_path, node, state_dir))


if __name__ == "__main__":
    main()
