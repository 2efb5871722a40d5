"""fence_hacore_testbed: a fence device for the namespace testbed, with the fence-agents interface.

Reads ``name=value`` lines on stdin (``#`` lines ignored, last duplicate wins, unknown
names ignored), or ``-o ACTION -n PLUG --testbed-socket PATH`` on the command line.
Parameters: ``action`` (alias ``option``; default ``reboot``), ``plug``/``port`` (or
``nodename``) naming the node, ``testbed_socket`` (alias ``ipaddr``; default from
$HACORE_TESTBED_SOCKET) pointing at the testbed's control socket (``Cluster.control_socket``).

``off`` crashes the node for real, ``on`` boots it, ``status`` exits 0 when the node's
PID 1 lives and 2 when it is dead, 1 when the testbed cannot be reached. Example::

    printf 'action=off\\nplug=n2\\ntestbed_socket=/var/tmp/hacore-testbed-x/control.sock\\n' \\
        | fence_hacore_testbed
"""

from __future__ import annotations

import json
import os
import socket
import sys

from hacore.fencing.stdin import parse_stdin  # not .protocol: see that module

EC_OK, EC_ERROR, EC_OFF = 0, 1, 2
ACTIONS = ("on", "off", "reboot", "status", "list", "list-status", "monitor", "metadata", "validate-all")

METADATA = """<?xml version="1.0" ?>
<resource-agent name="fence_hacore_testbed" shortdesc="Fence agent for the hacore namespace testbed">
<longdesc>Powers testbed nodes off (a real crash: link down, every process killed) and on (fresh namespaces) through the testbed's control socket.</longdesc>
<vendor-url>https://example.invalid/hacore</vendor-url>
<parameters>
	<parameter name="action" unique="0" required="1">
		<getopt mixed="-o, --action=[action]" />
		<content type="string" default="reboot"  />
		<shortdesc lang="en">Fencing action</shortdesc>
	</parameter>
	<parameter name="plug" unique="0" required="1" obsoletes="port">
		<getopt mixed="-n, --plug=[name]" />
		<content type="string"  />
		<shortdesc lang="en">Node name (n1, n2, ...)</shortdesc>
	</parameter>
	<parameter name="port" unique="0" required="0" deprecated="1">
		<getopt mixed="-n, --plug=[name]" />
		<content type="string"  />
		<shortdesc lang="en">Node name (n1, n2, ...)</shortdesc>
	</parameter>
	<parameter name="testbed_socket" unique="0" required="0">
		<getopt mixed="--testbed-socket=[path]" />
		<content type="string"  />
		<shortdesc lang="en">Path of the testbed's control socket (default: $HACORE_TESTBED_SOCKET)</shortdesc>
	</parameter>
</parameters>
<actions>
	<action name="on" automatic="0"/>
	<action name="off" />
	<action name="reboot" />
	<action name="status" />
	<action name="list" />
	<action name="list-status" />
	<action name="monitor" />
	<action name="metadata" />
	<action name="validate-all" />
</actions>
</resource-agent>
"""


def parse_argv(argv: list[str]) -> dict[str, str]:
    """Command-line mode (for debugging): -o/--action, -n/--plug, --testbed-socket."""
    names = {"-o": "action", "--action": "action", "-n": "plug", "--plug": "plug",
             "--testbed-socket": "testbed_socket"}
    options: dict[str, str] = {}
    args = iter(argv)
    for arg in args:
        flag, eq, value = arg.partition("=")
        if flag in names:
            options[names[flag]] = value if eq else next(args, "")
    return options


def request(path: str, op: str, node: str = "", timeout: float = 120.0) -> dict:
    """One request to the testbed's control socket; raises OSError when it cannot be reached."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall((json.dumps({"op": op, "node": node}) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data or b'{"ok": false, "error": "empty reply"}')


def run(options: dict[str, str]) -> int:
    """Carry out one fence action; prints what happened and returns the exit code."""
    action = options.get("action") or options.get("option") or "reboot"
    if action == "metadata":
        print(METADATA, end="")
        return EC_OK
    if action not in ACTIONS:
        print(f"Failed: unknown action '{action}' (valid: {', '.join(ACTIONS)})", file=sys.stderr)
        return EC_ERROR
    plug = options.get("plug") or options.get("port") or options.get("nodename") or ""
    path = options.get("testbed_socket") or options.get("ipaddr") or os.environ.get("HACORE_TESTBED_SOCKET", "")
    if not path:
        print("Failed: no testbed_socket given (nor $HACORE_TESTBED_SOCKET)", file=sys.stderr)
        return EC_ERROR
    if action == "validate-all":
        return EC_OK if os.path.exists(path) else EC_ERROR
    if action in ("on", "off", "reboot", "status") and not plug:
        print(f"Failed: action '{action}' needs plug=NODE", file=sys.stderr)
        return EC_ERROR
    op = {"list-status": "list"}.get(action, action)
    try:
        reply = request(path, op, plug)
    except (OSError, ValueError) as exc:
        print(f"Failed: cannot reach the testbed at {path}: {exc}", file=sys.stderr)
        return EC_ERROR
    if not reply.get("ok"):
        print(f"Failed: {reply.get('error', 'unknown error')}", file=sys.stderr)
        return EC_ERROR
    if action == "status":
        print(f"Status: {reply['state'].upper()}")
        return EC_OK if reply["state"] == "on" else EC_OFF
    if action in ("list", "list-status"):
        for name in reply.get("nodes", []):
            print(f"{name},{name}")
        return EC_OK
    if action == "monitor":
        return EC_OK
    if action == "reboot":
        print("Success: Rebooted")
        return EC_OK
    want = "off" if action == "off" else "on"
    if reply.get("state") != want:
        print(f"Failed: node {plug} is {reply.get('state')} after {action}", file=sys.stderr)
        return EC_ERROR
    print("Success: Powered OFF" if action == "off" else "Success: Powered ON")
    return EC_OK


def main() -> None:
    """Console entry point ``fence_hacore_testbed``."""
    options = parse_argv(sys.argv[1:])
    if not options and not sys.stdin.isatty():
        options = parse_stdin(sys.stdin.read())
    sys.exit(run(options))


if __name__ == "__main__":
    main()
