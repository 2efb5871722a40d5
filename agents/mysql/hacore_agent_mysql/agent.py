"""Start, check and stop one MariaDB server; parameters as rgmanager's mysql resource."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from typing import ClassVar

import psutil

from hacore.agent import OCF, Agent, AgentFailure, Param, Result
from hacore_agent_mysql.server import (
    CLIENTS,
    INSTALLERS,
    SERVERS,
    account,
    find_program,
    is_initialised,
    log_tail,
    owned_directory,
    run_dir_for,
    select_one,
    server_process,
)

POLL = 0.2
KILL_WAIT = 5.0


class MySQL(Agent):
    """A MariaDB/MySQL server with its own datadir, unix socket and pid file."""

    name = "mysql"
    shortdesc = "A MariaDB or MySQL server with its own datadir, socket and pid file"
    longdesc = (
        "Runs mariadbd (or mysqld) as user with datadir, socket and pid_file of its own, so "
        "several instances live on one host. config_file is read when given (else no option "
        "file is read). listen_address empty means no TCP at all (unix socket only). With "
        "init_datadir, an empty datadir is initialised with mariadb-install-db (root may log "
        "in over the socket). Start returns once SELECT 1 answers over the socket, waiting at "
        "most startup_wait seconds. Monitor depth 0 checks the pid file and the process; "
        "depth 10 connects and runs SELECT 1. Stop asks for a clean shutdown (SIGTERM), "
        "waits shutdown_wait seconds, then kills."
    )
    parameters = (
        Param("config_file", "Option file (my.cnf) to read; empty: none", default=""),
        Param("listen_address", "Address for TCP; empty: unix socket only", default=""),
        Param("port", "TCP port when listen_address is set", type="integer", default=3306),
        Param("mysqld_options", "Extra server command-line options", default=""),
        Param(
            "startup_wait",
            "Seconds start waits for the server to answer",
            type="integer",
            default=30,
        ),
        Param(
            "shutdown_wait",
            "Seconds a clean shutdown may take before the kill",
            type="integer",
            default=30,
        ),
        Param(
            "datadir", "Data directory (default: the option file's, else the server's)", default=""
        ),
        Param("socket", "Unix socket (default: RUN_DIR/mysqld.sock)", default=""),
        Param("pid_file", "Pid file (default: RUN_DIR/mysqld.pid)", default=""),
        Param(
            "run_dir",
            "Directory for socket, pid file and error log (default /run/hacore/mysql/INSTANCE)",
            default="",
        ),
        Param("user", "System user the server runs as", default="mysql"),
        Param(
            "init_datadir", "Initialise an empty datadir on start", type="boolean", default=False
        ),
        Param("mysqld", "Server binary (default /usr/sbin/mariadbd, else mysqld)", default=""),
        Param("monitor_user", "Database user of the SELECT 1 check", default="root"),
        Param(
            "monitor_password",
            "Its password (empty: socket authentication)",
            default="",
            secret=True,
        ),
    )
    timeouts: ClassVar[dict[str, float]] = {
        "start": 60.0,
        "stop": 60.0,
        "monitor": 30.0,
        "validate": 10.0,
    }
    monitor_interval = 60.0
    monitor_depths = (0, 10)

    # -- the instance's files ------------------------------------------------------------------

    @property
    def run_dir(self) -> str:
        return run_dir_for(self.instance, self.params["run_dir"])

    @property
    def socket_path(self) -> str:
        return self.params["socket"] or os.path.join(self.run_dir, "mysqld.sock")

    @property
    def pid_file(self) -> str:
        return self.params["pid_file"] or os.path.join(self.run_dir, "mysqld.pid")

    @property
    def error_log(self) -> str:
        return os.path.join(self.run_dir, "error.log")

    def _check_paths(self) -> None:
        for key in ("config_file", "datadir", "socket", "pid_file", "run_dir"):
            value = self.params[key]
            if value and not os.path.isabs(value):
                raise AgentFailure(OCF.ERR_CONFIGURED, f"{key}={value!r} is not an absolute path")
        for key in ("startup_wait", "shutdown_wait"):
            if self.params[key] < 0:
                raise AgentFailure(OCF.ERR_CONFIGURED, f"{key} must not be negative")

    def _defaults(self) -> list[str]:
        config = self.params["config_file"]
        if not config:
            return ["--no-defaults"]
        if not os.path.isfile(config):
            raise AgentFailure(OCF.ERR_INSTALLED, f"config_file {config} does not exist here")
        return [f"--defaults-file={config}"]

    def _server_argv(self, server: str) -> list[str]:
        argv = [
            server,
            *self._defaults(),
            f"--user={self.params['user']}",
            f"--socket={self.socket_path}",
            f"--pid-file={self.pid_file}",
        ]
        if self.params["datadir"]:
            argv.append(f"--datadir={self.params['datadir']}")
        if not self.params["config_file"]:
            argv.append(f"--log-error={self.error_log}")
        if self.params["listen_address"]:
            argv += [
                f"--bind-address={self.params['listen_address']}",
                f"--port={self.params['port']}",
            ]
        else:
            argv.append("--skip-networking")
        return argv + shlex.split(self.params["mysqld_options"])

    def _initialise(self) -> None:
        datadir = self.params["datadir"]
        if not datadir:
            return
        if is_initialised(datadir):
            return
        if os.path.isdir(datadir) and os.listdir(datadir) and not self.params["init_datadir"]:
            raise AgentFailure(
                OCF.ERR_ARGS,
                f"datadir {datadir} is not empty but holds no database (no mysql/ schema)",
            )
        if not self.params["init_datadir"]:
            raise AgentFailure(
                OCF.ERR_ARGS,
                f"datadir {datadir} holds no database; set init_datadir=1 to create one",
            )
        owned_directory(datadir, self.params["user"])
        installer = find_program("", INSTALLERS, "mariadb-install-db")
        argv = [
            installer,
            *self._defaults(),
            f"--datadir={datadir}",
            f"--user={self.params['user']}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
            "--skip-name-resolve",
        ]
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0 or not is_initialised(datadir):
            said = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
            raise AgentFailure(
                OCF.ERR_GENERIC,
                f"initialising {datadir} failed (exit "
                f"{proc.returncode}): {said[-1] if said else ''}",
            )

    def _ask(self) -> tuple[bool, str]:
        client = find_program("", CLIENTS, "client")
        return select_one(
            client, self.socket_path, self.params["monitor_user"], self.params["monitor_password"]
        )

    # -- the four operations -------------------------------------------------------------------

    def validate(self) -> Result:
        self._check_paths()
        if self.context.depth >= 10:
            find_program(self.params["mysqld"], SERVERS, "server")
            account(self.params["user"])
            self._defaults()
        return Result.ok()

    def start(self) -> Result:
        self._check_paths()
        server = find_program(self.params["mysqld"], SERVERS, "server")
        if server_process(self.pid_file) is not None:
            return Result.ok("already running")
        self._initialise()
        for directory in {
            self.run_dir,
            os.path.dirname(self.socket_path),
            os.path.dirname(self.pid_file),
        }:
            owned_directory(directory, self.params["user"])
        for stale in (self.pid_file, self.socket_path):
            try:
                os.unlink(stale)
            except FileNotFoundError:
                pass
        with open(self.error_log, "ab") as log:
            proc = subprocess.Popen(
                self._server_argv(server),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + min(
            float(self.params["startup_wait"]), max(1.0, self.context.timeout - 2.0)
        )
        why = "no answer yet"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AgentFailure(
                    OCF.ERR_GENERIC,
                    f"{os.path.basename(server)} exited "
                    f"{proc.returncode} while starting: "
                    f"{log_tail(self.error_log)}",
                )
            if os.path.exists(self.socket_path):
                ok, why = self._ask()
                if ok:
                    return Result.ok()
            time.sleep(POLL)
        raise AgentFailure(
            OCF.ERR_GENERIC,
            f"server did not answer SELECT 1 within "
            f"{self.params['startup_wait']} s ({why}); "
            f"log: {log_tail(self.error_log)}",
        )

    def monitor(self) -> Result:
        self._check_paths()
        proc = server_process(self.pid_file)
        if proc is None:
            if os.path.exists(self.pid_file) and not self.context.probe:
                return Result.error(
                    OCF.ERR_GENERIC,
                    f"pid file {self.pid_file} names no running server (it crashed?)",
                )
            return Result.not_running(f"no server runs from {self.pid_file}")
        if self.context.depth >= 10:
            ok, why = self._ask()
            if not ok:
                return Result.error(
                    OCF.ERR_GENERIC,
                    f"server pid {proc.pid} runs but SELECT 1 "
                    f"over {self.socket_path} failed: {why}",
                )
        return Result.ok()

    def stop(self) -> Result:
        self._check_paths()
        proc = server_process(self.pid_file)
        note = ""
        if proc is not None:
            proc.send_signal(signal.SIGTERM)  # the server's clean shutdown
            if not self._gone(proc, float(self.params["shutdown_wait"])):
                proc.send_signal(signal.SIGKILL)
                if not self._gone(proc, KILL_WAIT):
                    raise AgentFailure(OCF.ERR_GENERIC, f"server pid {proc.pid} survives SIGKILL")
                note = (
                    f"no clean shutdown within {self.params['shutdown_wait']} s: "
                    f"killed pid {proc.pid}"
                )
        for leftover in (self.pid_file, self.socket_path):
            try:
                os.unlink(leftover)
            except FileNotFoundError:
                pass
        return Result.ok(note)

    @staticmethod
    def _gone(proc: psutil.Process, budget: float) -> bool:
        deadline = time.monotonic() + budget
        while True:
            try:
                if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                    return True
            except psutil.Error:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)
