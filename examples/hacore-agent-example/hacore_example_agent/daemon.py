"""The tiny daemon the agent manages: writes its pid file, sleeps, removes it on SIGTERM.

Run as ``python -m hacore_example_agent.daemon PIDFILE``.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def write_pidfile(path: str) -> None:
    temp = f"{path}.tmp.{os.getpid()}"
    with open(temp, "w") as handle:
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def main() -> None:
    pidfile = sys.argv[1]

    def on_term(signum, frame):
        try:
            with open(pidfile) as handle:
                if handle.read().strip() == str(os.getpid()):
                    os.unlink(pidfile)
        except OSError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    write_pidfile(pidfile)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
