"""The apache agent with Debian's real apache2 on 127.0.0.1 and free high ports."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from hacore.agent import OCF
from hacore.executor import OperationRequest, run_operation

pytestmark = pytest.mark.skipif(
    not os.path.exists("/usr/sbin/apache2"), reason="Debian's apache2 is not installed"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(port: int, path: str = "/") -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return response.read().decode()


class Site:
    """One apache instance under test: its parameters, and a kill of all it left at the end."""

    def __init__(self, base: Path, name: str, **extra: str) -> None:
        self.port = free_port()
        self.instance = f"{name}-{os.getpid()}"
        self.run_dir = base / self.instance
        self.docroot = base / f"{name}-docs"
        self.docroot.mkdir()
        (self.docroot / "index.html").write_text(f"hello from {name}\n")
        self.params = {
            "listen": f"127.0.0.1:{self.port}",
            "document_root": str(self.docroot),
            "run_dir": str(self.run_dir),
            **extra,
        }

    def op(self, action: str, depth: int = 0, interval: float = 0.0, **override: str):
        return run_operation(
            OperationRequest(
                "apache",
                action,
                self.instance,
                params={**self.params, **override},
                timeout=40.0,
                depth=depth,
                interval=interval,
            )
        )

    def main_pid(self) -> int | None:
        try:
            return int((self.run_dir / "httpd.pid").read_text())
        except (OSError, ValueError):
            return None

    def kill_all(self) -> None:
        pid = self.main_pid()
        if pid is None:
            return
        try:
            main = psutil.Process(pid)
            for proc in [main] + main.children(recursive=True):
                proc.kill()
        except psutil.Error:
            pass


@pytest.fixture
def base():
    """A world-readable directory (pytest's tmp_path is 0700, www-data could not read it)."""
    path = Path(tempfile.mkdtemp(prefix="hacore-apache-"))
    path.chmod(0o755)
    sites: list[Site] = []
    try:
        yield path, sites
    finally:
        for site in sites:
            site.kill_all()
        shutil.rmtree(path, ignore_errors=True)


def make_site(base, name: str, **extra: str) -> Site:
    path, sites = base
    site = Site(path, name, **extra)
    sites.append(site)
    return site


def test_start_serves_monitor_sees_stop_ends(base):
    """start returns once the page is served; monitor 0/10 pass; stop leaves no process."""
    site = make_site(base, "web")
    assert site.op("monitor").code == OCF.NOT_RUNNING
    result = site.op("start")
    assert result.code == OCF.SUCCESS, result.reason
    assert fetch(site.port) == "hello from web\n"
    assert site.op("start").code == OCF.SUCCESS
    assert site.op("monitor", interval=60).code == OCF.SUCCESS
    assert site.op("monitor", depth=10, interval=60).code == OCF.SUCCESS
    pid = site.main_pid()
    assert pid is not None
    family = [psutil.Process(pid)] + psutil.Process(pid).children(recursive=True)
    assert site.op("stop").code == OCF.SUCCESS
    _gone, alive = psutil.wait_procs(family, timeout=10)
    assert all(p.status() == psutil.STATUS_ZOMBIE for p in alive)
    assert site.op("monitor", interval=60).code == OCF.NOT_RUNNING
    assert site.op("stop").code == OCF.SUCCESS


def test_two_instances_live_side_by_side(base):
    """Two instances on one host: each its own pid file; stopping one leaves the other serving."""
    one, two = make_site(base, "one"), make_site(base, "two")
    assert one.op("start").code == OCF.SUCCESS
    assert two.op("start").code == OCF.SUCCESS
    assert one.main_pid() != two.main_pid()
    assert one.op("stop").code == OCF.SUCCESS
    assert one.op("monitor").code == OCF.NOT_RUNNING
    assert two.op("monitor", depth=10).code == OCF.SUCCESS
    assert fetch(two.port) == "hello from two\n"
    assert two.op("stop").code == OCF.SUCCESS


def test_crashed_server_fails_monitor_and_restarts(base):
    """After a SIGKILL monitor reports the stale pid file as a failure; stop and start recover."""
    site = make_site(base, "crash")
    assert site.op("start").code == OCF.SUCCESS
    main = psutil.Process(site.main_pid())
    for proc in [main] + main.children(recursive=True):
        proc.send_signal(signal.SIGKILL)
    psutil.wait_procs([main], timeout=10)
    result = site.op("monitor", interval=60)
    assert result.code == OCF.ERR_GENERIC and "crashed" in result.reason
    assert site.op("monitor").code == OCF.NOT_RUNNING  # a probe: nothing runs here
    assert site.op("stop").code == OCF.SUCCESS
    assert site.op("start").code == OCF.SUCCESS
    assert fetch(site.port) == "hello from crash\n"
    assert site.op("stop").code == OCF.SUCCESS


def test_deep_monitor_fails_when_status_url_does_not_answer(base):
    """Depth 10 GETs status_url: a URL nobody answers fails the monitor, depth 0 still passes."""
    site = make_site(base, "deaf")
    assert site.op("start").code == OCF.SUCCESS
    elsewhere = f"http://127.0.0.1:{free_port()}/"
    result = site.op("monitor", depth=10, status_url=elsewhere)
    assert result.code == OCF.ERR_GENERIC and elsewhere in result.reason
    assert site.op("monitor", status_url=elsewhere).code == OCF.SUCCESS
    assert site.op("stop").code == OCF.SUCCESS


def test_given_configuration_file(base):
    """A configuration written by the user (config_file under server_root) is started as is."""
    site = make_site(base, "given")
    root = base[0] / "conf-root"
    root.mkdir()
    (root / "site.conf").write_text(f"""\
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
ServerName localhost
Listen 127.0.0.1:{site.port}
ErrorLog {site.run_dir}/given-error.log
User ${{APACHE_RUN_USER}}
Group ${{APACHE_RUN_GROUP}}
DocumentRoot "{site.docroot}"
<Directory "{site.docroot}">
    Require all granted
</Directory>
""")
    params = {"server_root": str(root), "config_file": "site.conf"}
    assert site.op("start", **params).code == OCF.SUCCESS
    assert "hello from given" in fetch(site.port, "/index.html")
    assert site.op("monitor", depth=10, **params).code == OCF.SUCCESS
    assert site.op("stop", **params).code == OCF.SUCCESS


def test_broken_configuration_is_refused_with_httpd_words(base):
    """A configuration httpd -t rejects: start fails ERR_CONFIGURED quoting httpd."""
    site = make_site(base, "broken")
    root = base[0] / "bad-root"
    root.mkdir()
    (root / "bad.conf").write_text(
        "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n"
        "Listen 127.0.0.1:1\nNoSuchDirective here\n"
    )
    result = site.op("start", server_root=str(root), config_file="bad.conf")
    assert result.code == OCF.ERR_CONFIGURED
    assert "NoSuchDirective" in result.reason and "Traceback" not in result.reason
    missing = site.op("start", server_root=str(root), config_file="nope.conf")
    assert missing.code == OCF.ERR_INSTALLED and "nope.conf" in missing.reason


def test_missing_binary_is_not_installed(base):
    """httpd= naming no binary: ERR_INSTALLED with the path."""
    site = make_site(base, "nobin")
    result = site.op("start", httpd="/usr/sbin/no-such-httpd")
    assert result.code == OCF.ERR_INSTALLED and "/usr/sbin/no-such-httpd" in result.reason


def test_passes_the_conformance_harness(agent_harness, base):
    """The apache agent passes `hacore-agent test` with a generated configuration."""
    site = make_site(base, "harness")
    agent_harness.assert_passes("apache", params=site.params, instance=site.instance)


class SlowUpload:
    """A POST whose body the test holds back: in flight in a worker once 100 Continue came."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.sock.sendall(
            b"POST /index.html HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        said = self.sock.recv(1024)
        assert said.startswith(b"HTTP/1.1 100"), said  # the handler is reading the body now

    def finish(self) -> bytes:
        """Send the body and read all the server answers (b"" when the server cut it)."""
        answer = b""
        try:
            self.sock.sendall(b"body")
            while chunk := self.sock.recv(4096):
                answer += chunk
        except OSError:
            pass
        finally:
            self.sock.close()
        return answer


def wait_refused(port: int, within: float = 20.0) -> bool:
    """True once nothing listens on the port any more (bounded)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def listening_state(site: Site, procs: list[psutil.Process]) -> str:
    """What holds the port and how httpd's processes stand: said when a stop check fails."""
    holders = subprocess.run(["ss", "-Hltnp", f"sport = :{site.port}"], capture_output=True,
                             text=True, check=False).stdout.strip() or "no listener"
    states = []
    for proc in procs:
        try:
            masks = [line.strip() for line in open(f"/proc/{proc.pid}/status")
                     if line.startswith(("SigBlk", "SigPnd", "ShdPnd"))]
            states.append(f"{proc.pid} {proc.status()} {proc.num_threads()} threads {masks}")
        except (psutil.Error, OSError):
            states.append(f"{proc.pid} gone")
    try:
        log = (site.run_dir / "error.log").read_text()[-1500:]
    except OSError as exc:
        log = str(exc)
    return f"listening: {holders}; processes: {', '.join(states)}; error log: {log}"


def family_of(site: Site) -> list[psutil.Process]:
    main = psutil.Process(site.main_pid())
    return [main] + main.children(recursive=True)


def assert_all_gone(procs: list[psutil.Process]) -> None:
    _gone, alive = psutil.wait_procs(procs, timeout=10)
    assert all(p.status() == psutil.STATUS_ZOMBIE for p in alive)


def test_default_stop_is_sigterm_and_cuts_requests_in_flight(base):
    """Without graceful_stop, stop ends httpd at once: an in-flight upload gets no answer."""
    site = make_site(base, "term", shutdown_wait="30")
    assert site.op("start").code == OCF.SUCCESS
    procs = family_of(site)
    upload = SlowUpload(site.port)
    result = site.op("stop")
    assert result.code == OCF.SUCCESS, result.reason
    assert result.duration < 30  # it did not wait out shutdown_wait for the upload
    assert_all_gone(procs)
    assert b"200 OK" not in upload.finish()
    assert site.op("monitor").code == OCF.NOT_RUNNING


def test_graceful_stop_lets_a_request_in_flight_finish(base):
    """graceful_stop=true: httpd stops listening, the in-flight upload is answered, then it ends."""
    site = make_site(base, "graceful", graceful_stop="true")
    assert site.op("start").code == OCF.SUCCESS
    procs = family_of(site)
    upload = SlowUpload(site.port)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        stopping = pool.submit(site.op, "stop")
        refused = wait_refused(site.port)
        stop_done = stopping.done() and stopping.result()
        assert refused, ("httpd still accepts connections during a graceful stop: "
                         f"{listening_state(site, procs)}; stop: {stop_done}")
        assert not stopping.done()  # it waits for the request in flight
        answer = upload.finish()
        result = stopping.result(timeout=60)
    assert answer.startswith(b"HTTP/1.1 200") and b"hello from graceful" in answer, answer
    assert result.code == OCF.SUCCESS, result.reason
    assert_all_gone(procs)


def test_graceful_stop_is_bounded_by_shutdown_wait(base):
    """A request that never finishes holds a graceful stop only shutdown_wait seconds."""
    site = make_site(base, "bounded", graceful_stop="true", shutdown_wait="1")
    assert site.op("start").code == OCF.SUCCESS
    procs = family_of(site)
    upload = SlowUpload(site.port)
    result = site.op("stop")
    assert result.code == OCF.SUCCESS, result.reason
    assert_all_gone(procs)
    assert b"200 OK" not in upload.finish()


def test_httpd_starts_with_no_signal_blocked_whatever_the_caller_blocked(base):
    """A caller (a test, a daemon thread) that blocks SIGWINCH does not pass it on to httpd:
    a blocked SIGWINCH made a graceful stop wait out shutdown_wait (seen in CI)."""
    site = make_site(base, "mask", graceful_stop="true")
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGWINCH, signal.SIGTERM})
    try:
        assert site.op("start").code == OCF.SUCCESS
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    with open(f"/proc/{site.main_pid()}/status") as status:
        blocked = next(line.split()[1] for line in status if line.startswith("SigBlk"))
    assert int(blocked, 16) == 0, f"httpd starts with signals blocked: {blocked}"
    assert site.op("stop").code == OCF.SUCCESS
