"""The pieces of a MariaDB instance: binaries, its files, the server process, a SELECT 1."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess

import psutil

from hacore.agent import OCF, AgentFailure

RUN_BASE = "/run/hacore/mysql"
SERVERS = ("/usr/sbin/mariadbd", "/usr/sbin/mysqld")
CLIENTS = ("mariadb", "mysql")
INSTALLERS = ("mariadb-install-db", "mysql_install_db")
SERVER_NAMES = {"mariadbd", "mysqld"}
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def find_program(configured: str, candidates: tuple[str, ...], what: str) -> str:
    """An executable: the configured one, else the first candidate found."""
    for name in (configured,) if configured else candidates:
        path = name if os.path.isabs(name) else shutil.which(name)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    wanted = configured or " or ".join(candidates)
    raise AgentFailure(
        OCF.ERR_INSTALLED,
        f"{what} {wanted} is not installed here (Debian: apt-get install mariadb-server)",
    )


def run_dir_for(instance: str, configured: str) -> str:
    return configured or os.path.join(RUN_BASE, _SAFE.sub("_", instance) or "_")


def account(user: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(user)
    except KeyError:
        raise AgentFailure(OCF.ERR_ARGS, f"user {user!r} does not exist on this host") from None


def owned_directory(path: str, user: str) -> None:
    """Create ``path`` if needed and hand it to ``user`` (the server writes there)."""
    entry = account(user)
    os.makedirs(path, mode=0o750, exist_ok=True)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def is_initialised(datadir: str) -> bool:
    """A datadir holds a database once its ``mysql`` system schema exists."""
    return os.path.isdir(os.path.join(datadir, "mysql"))


def server_process(pid_file: str) -> psutil.Process | None:
    """The live server process named by ``pid_file``, or None."""
    try:
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE or proc.name() not in SERVER_NAMES:
            return None
    except (OSError, ValueError, psutil.Error):
        return None
    return proc


def select_one(
    client: str, socket_path: str, user: str, password: str, timeout: float = 5.0
) -> tuple[bool, str]:
    """Connect over the unix socket and run SELECT 1; (True, "") when the answer is 1."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TZ")}
    if password:
        env["MYSQL_PWD"] = password
    argv = [
        client,
        "--no-defaults",
        "--protocol=socket",
        f"--socket={socket_path}",
        f"--user={user}",
        f"--connect-timeout={max(1, int(timeout))}",
        "-N",
        "-B",
        "-e",
        "SELECT 1",
    ]
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout + 5,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"SELECT 1 got no answer within {timeout + 5:g} s"
    if proc.returncode == 0 and proc.stdout.strip() == "1":
        return True, ""
    said = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return False, said[-1] if said else f"client exited {proc.returncode}"


def log_tail(path: str, lines: int = 2) -> str:
    try:
        with open(path, errors="replace") as handle:
            text = handle.read()[-6000:]
    except OSError:
        return ""
    wanted = [line.strip() for line in text.splitlines() if "[ERROR]" in line]
    chosen = wanted[-lines:] or [line.strip() for line in text.splitlines()[-lines:]]
    return " | ".join(chosen)
