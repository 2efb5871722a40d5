"""Headless Chromium driven by Selenium from inside the testbed's client namespace.

Every Selenium call runs in one worker thread that lives in the client's network
namespace: chromedriver (started by that thread) and Chromium inherit it, and so do the
WebDriver HTTP connections, so the browser reaches the nodes' addresses and nothing touches
the host's interfaces. Selenium Manager is never asked for anything: the driver and the
browser are Debian's, given by path.
"""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from hacore.testing.netns import in_netns

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def browser_missing() -> str | None:
    """Why a browser test cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


class Browser:
    """``Browser(netns_path).start()``; ``call(lambda d: d.get(url))``; ``close()``."""

    def __init__(self, netns_path: str) -> None:
        self.netns_path = netns_path
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="browser", daemon=True)
        self.driver: Any = None
        self.profile = tempfile.mkdtemp(prefix="hacore-web-chromium-")

    def start(self) -> Browser:
        self._thread.start()
        self.driver = self.run(self._make_driver, timeout=120)
        return self

    def _work(self) -> None:
        with in_netns(self.netns_path):
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                fn, box, done = job
                try:
                    box["value"] = fn()
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    box["error"] = exc
                done.set()

    def run(self, fn: Callable[[], T], timeout: float = 120.0) -> T:
        """Run ``fn`` in the browser thread and return its result (or raise its error)."""
        box: dict[str, Any] = {}
        done = threading.Event()
        self._jobs.put((fn, box, done))
        if not done.wait(timeout):
            raise TimeoutError(f"the browser thread did not finish within {timeout} s")
        if "error" in box:
            raise box["error"]
        return box["value"]

    def call(self, fn: Callable[[Any], T], timeout: float = 120.0) -> T:
        """``fn(driver)`` in the browser thread."""
        return self.run(lambda: fn(self.driver), timeout)

    def _make_driver(self) -> Any:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        options.accept_insecure_certs = True  # the console's certificate is self-signed
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--window-size=1280,860", "--no-first-run",
                    "--disable-crash-reporter", "--disable-breakpad",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-extensions", "--no-default-browser-check",
                    f"--user-data-dir={self.profile}"):
            options.add_argument(arg)
        service = Service(executable_path=CHROMEDRIVER, log_output=os.devnull)
        return webdriver.Chrome(service=service, options=options)

    def close(self) -> None:
        """Quit the browser and the driver, end the thread, remove the profile."""
        if self.driver is not None:
            try:
                self.run(self.driver.quit, timeout=60)
            finally:
                self.driver = None
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(30)
        shutil.rmtree(self.profile, ignore_errors=True)
