"""Start, check and stop one Apache httpd instance; parameters as rgmanager's apache resource."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import time
from typing import ClassVar

import psutil

from hacore.agent import OCF, Agent, AgentFailure, Param, Result
from hacore_agent_apache.http_get import http_status as get_status
from hacore_agent_apache.instance import (
    Instance,
    debian_environment,
    find_httpd,
    first_listen,
    generated_config,
    run_dir_for,
    split_listen,
    url_for,
    write_atomically,
)

DEFAULT_SERVER_ROOT = "/etc/apache2"
#: the start's readiness poll: httpd writes its pid file 0-7 ms after ``-k start``
#: returns, so the first check comes after 2 ms, each next one POLL_GROWTH times later,
#: up to POLL (2, 3, 4.5, 6.8, 10 ms...: found within about a third of the wait, where
#: 5 ms doubling found a pid file written at 6 ms at 15 ms; a check is a stat and a read)
FIRST_POLL = 0.002
POLL_GROWTH = 1.5
POLL = 0.05
STOP_POLL = 0.01
CONFIG_ERRORS = ("Syntax error", "Configuration error", "AH00526", "AH00534")
TERM_WAIT = 5.0
REQUEST_TIMEOUT = 5.0


def _tail(path: str, lines: int = 1) -> str:
    try:
        with open(path, errors="replace") as handle:
            text = handle.read()[-4000:]
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def http_status(url: str, timeout: float = REQUEST_TIMEOUT) -> tuple[int | None, str]:
    """The HTTP status a GET of ``url`` gets (None when nothing answers) and why."""
    return get_status(url, timeout)


class Apache(Agent):
    """An Apache httpd with its own configuration, pid file and run directory."""

    name = "apache"
    shortdesc = "An Apache httpd instance with its own pid file and run directory"
    longdesc = (
        "Runs httpd (Debian's /usr/sbin/apache2 by default) with either a given configuration "
        "(config_file, relative to server_root; the APACHE_* variables of Debian's apache2ctl "
        "are set per instance) or, when config_file is empty, a generated self-contained one "
        "serving document_root on listen. Each instance keeps its pid file and run files in "
        "run_dir (default /run/hacore/apache/INSTANCE), so several live on one host. Start "
        "returns once the server answers HTTP. Monitor depth 0 checks the pid file and the "
        "process; depth 10 also GETs status_url (any answer below 500 is healthy). Stop sends "
        "SIGTERM (as rgmanager's apache resource does): httpd ends its children at once, "
        "in-flight requests are cut; after shutdown_wait seconds whatever is left is killed. "
        "With graceful_stop the stop first asks for a graceful stop (SIGWINCH): httpd stops "
        "listening at once and lets in-flight requests finish, for at most shutdown_wait "
        "seconds, then SIGTERM and SIGKILL follow. A graceful stop takes about a second more "
        "even when nothing is in flight (httpd reaps its children once a second), so it "
        "lengthens every relocation."
    )
    parameters = (
        Param(
            "server_root", "ServerRoot of a given configuration (default /etc/apache2)", default=""
        ),
        Param(
            "config_file", "httpd.conf, relative to server_root; empty: generate one", default=""
        ),
        Param("httpd", "The httpd binary (default /usr/sbin/apache2, else httpd)", default=""),
        Param("httpd_options", "Extra httpd command-line options", default=""),
        Param(
            "graceful_stop",
            "Let in-flight requests finish on stop (SIGWINCH) instead of SIGTERM",
            type="boolean",
            default=False,
        ),
        Param(
            "shutdown_wait",
            "Seconds the stop may take (graceful or after SIGTERM) before the next signal",
            type="integer",
            default=10,
        ),
        Param("listen", "ADDRESS:PORT the generated configuration listens on", default="80"),
        Param(
            "document_root", "Directory the generated configuration serves", default="/var/www/html"
        ),
        Param("status_url", "URL monitor depth 10 requests (default: from listen)", default=""),
        Param("user", "User the server processes run as", default="www-data"),
        Param("group", "Group the server processes run as", default="www-data"),
        Param("run_dir", "Directory for pid file, locks and generated configuration", default=""),
    )
    timeouts: ClassVar[dict[str, float]] = {
        "start": 40.0,
        "stop": 60.0,
        "monitor": 20.0,
        "validate": 20.0,
    }
    monitor_interval = 60.0
    monitor_depths = (0, 10)

    # -- the instance's files ------------------------------------------------------------------

    def _instance(self) -> Instance:
        run_dir = run_dir_for(self.instance, self.params["run_dir"])
        if not os.path.isabs(run_dir):
            raise AgentFailure(OCF.ERR_CONFIGURED, f"run_dir={run_dir!r} is not an absolute path")
        given = self.params["config_file"]
        if not given:
            return Instance(run_dir, os.path.join(run_dir, "httpd.conf"), run_dir, True)
        root = self.params["server_root"] or DEFAULT_SERVER_ROOT
        return Instance(run_dir, os.path.join(root, given), root, False)

    def _prepare(self, inst: Instance) -> None:
        os.makedirs(inst.run_dir, mode=0o755, exist_ok=True)
        if inst.generated:
            split_listen(self.params["listen"])
            root = self.params["document_root"]
            if not os.path.isdir(root):
                raise AgentFailure(OCF.ERR_ARGS, f"document_root {root} is not a directory here")
            write_atomically(
                inst.config_file,
                generated_config(
                    inst, self.params["listen"], root, self.params["user"], self.params["group"]
                ),
            )
        elif not os.path.isfile(inst.config_file):
            raise AgentFailure(
                OCF.ERR_INSTALLED, f"config_file {inst.config_file} does not exist on this host"
            )

    def _argv(self, inst: Instance, httpd: str) -> list[str]:
        argv = [
            httpd,
            "-d",
            inst.server_root,
            "-f",
            inst.config_file,
            "-c",
            f'PidFile "{inst.pid_file}"',
        ]
        if self.params["httpd_options"]:
            argv += shlex.split(self.params["httpd_options"])
        return argv

    def _url(self, inst: Instance) -> str:
        if self.params["status_url"]:
            return self.params["status_url"]
        listen = self.params["listen"] if inst.generated else first_listen(inst.config_file)
        return url_for(listen or "80")

    def _running_pid(self, inst: Instance) -> int | None:
        """The pid of this instance's main httpd process, or None (stale or no pid file)."""
        try:
            with open(inst.pid_file) as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            return None
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            names = {os.path.basename(find_httpd(self.params["httpd"])), "apache2", "httpd"}
            if proc.name() not in names:
                return None
        except psutil.Error:
            return None
        return pid

    def _run(self, argv: list[str], inst: Instance) -> tuple[int, str]:
        env = debian_environment(inst, self.params["user"], self.params["group"])
        with tempfile.TemporaryFile() as output:
            status = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
                check=False,
            ).returncode
            output.seek(0)
            lines = output.read().decode("utf-8", "replace").strip().splitlines()
        return status, " | ".join(line.strip() for line in lines if line.strip())[-600:]

    # -- the four operations -------------------------------------------------------------------

    def validate(self) -> Result:
        inst = self._instance()
        if inst.generated:
            split_listen(self.params["listen"])
        if self.context.depth < 10:
            return Result.ok()
        httpd = find_httpd(self.params["httpd"])
        self._prepare(inst)
        status, said = self._run(self._argv(inst, httpd) + ["-t"], inst)
        if status != 0:
            return Result.error(OCF.ERR_CONFIGURED, f"{inst.config_file}: {said}")
        return Result.ok()

    def start(self) -> Result:
        inst = self._instance()
        httpd = find_httpd(self.params["httpd"])
        if self._running_pid(inst) is not None:
            return Result.ok("already running")
        self._prepare(inst)
        try:
            os.unlink(inst.pid_file)
        except FileNotFoundError:
            pass
        status, said = self._run(self._argv(inst, httpd) + ["-k", "start"], inst)
        if status != 0:
            # httpd checks its configuration before it forks: say so when that is what failed
            rejected = any(word in said for word in CONFIG_ERRORS)
            raise AgentFailure(
                OCF.ERR_CONFIGURED if rejected else OCF.ERR_GENERIC,
                f"{httpd} rejects {inst.config_file}: {said}"
                if rejected
                else f"{httpd} -k start exited {status}: {said}",
            )
        url = self._url(inst)
        deadline = time.monotonic() + max(1.0, self.context.timeout - 2.0)
        why = "no pid file yet"
        delay = FIRST_POLL
        while time.monotonic() < deadline:
            pid = self._running_pid(inst)
            if pid is None and os.path.exists(inst.pid_file):
                why = "the server process ended"
                break
            if pid is not None:
                code, why = http_status(url, timeout=1.0)
                if code is not None and code < 500:
                    return Result.ok()
                why = f"GET {url}: {code or why}"
            time.sleep(delay)
            delay = min(delay * POLL_GROWTH, POLL)
        log = _tail(inst.error_log) if inst.generated else said
        raise AgentFailure(
            OCF.ERR_GENERIC,
            f"apache did not come up ({why})" + (f"; error log: {log}" if log else ""),
        )

    def monitor(self) -> Result:
        inst = self._instance()
        pid = self._running_pid(inst)
        if pid is None:
            if os.path.exists(inst.pid_file) and not self.context.probe:
                return Result.error(
                    OCF.ERR_GENERIC,
                    f"pid file {inst.pid_file} names no running apache (it crashed?)",
                )
            return Result.not_running(f"no apache runs from {inst.pid_file}")
        if self.context.depth >= 10:
            url = self._url(inst)
            code, why = http_status(url)
            if code is None or code >= 500:
                return Result.error(
                    OCF.ERR_GENERIC, f"apache pid {pid} runs but GET {url} failed: {code or why}"
                )
        return Result.ok()

    def stop(self) -> Result:
        inst = self._instance()
        pid = self._running_pid(inst)
        if pid is None:
            self._forget(inst)
            return Result.ok()
        try:
            main = psutil.Process(pid)
        except psutil.Error:  # it ended between the two looks
            self._forget(inst)
            return Result.ok()
        try:
            family = [main] + main.children(recursive=True)
        except psutil.Error:  # the children are reached through the main process anyway
            family = [main]
        wait = float(self.params["shutdown_wait"])
        if self.params["graceful_stop"]:
            # graceful-stop: stop listening, finish in-flight requests, then exit
            self._signal(family[:1], signal.SIGWINCH)
            left = self._wait(family, wait)
            if left:
                self._signal(left, signal.SIGTERM)
                left = self._wait(left, TERM_WAIT)
        else:
            # httpd's parent ends its children itself on SIGTERM
            self._signal(family[:1], signal.SIGTERM)
            left = self._wait(family, wait)
        if left:
            self._signal(left, signal.SIGKILL)
            left = self._wait(left, TERM_WAIT)
        if left:
            pids = ", ".join(str(p.pid) for p in left)
            raise AgentFailure(OCF.ERR_GENERIC, f"apache processes {pids} survive SIGKILL")
        again = self._running_pid(inst)
        if again is not None:  # never report a stop while httpd still runs
            raise AgentFailure(OCF.ERR_GENERIC, f"apache pid {again} still runs after the stop")
        self._forget(inst)
        return Result.ok()

    @staticmethod
    def _signal(procs: list[psutil.Process], signum: int) -> None:
        for proc in procs:
            try:
                proc.send_signal(signum)
            except psutil.Error:
                pass

    @staticmethod
    def _wait(procs: list[psutil.Process], budget: float) -> list[psutil.Process]:
        deadline = time.monotonic() + budget
        while True:
            left = still_running(procs)
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(STOP_POLL)

    @staticmethod
    def _forget(inst: Instance) -> None:
        try:
            os.unlink(inst.pid_file)
        except FileNotFoundError:
            pass


def still_running(procs: list[psutil.Process]) -> list[psutil.Process]:
    """The processes of ``procs`` that have not exited (zombies count as gone)."""
    left = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except psutil.Error:
            pass
    return left
