"""An HTTP poller in the client namespace: overlapping requests, to time an outage.

A new request starts every ``interval`` (50 ms) whether or not the earlier ones answered,
each with its own ``timeout`` (0.2 s), so a slow or dead server does not slow the clock
down (one blocking loop would undercount the outage). Every result is kept as a Sample.
The answering node is read from the ``X-Hacore-Node`` response header, else from a body
that is a single short word (e.g. a page holding only the hostname).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

from hacore.testing.netns import in_netns


@dataclass(frozen=True)
class Sample:
    """One request: when it was sent (time.monotonic()), how it ended, and who answered."""

    sent: float
    elapsed: float
    ok: bool
    status: int | None
    node: str | None
    error: str | None = None


def node_from_response(headers: dict[str, str], body: bytes) -> str | None:
    """Which node answered: header ``X-Hacore-Node``, else a one-word body of up to 64 bytes."""
    if "x-hacore-node" in headers:
        return headers["x-hacore-node"]
    text = body.strip()
    if 0 < len(text) <= 64 and len(text.split()) == 1:
        return text.decode(errors="replace")
    return None


class HttpPoller:
    """Polls ``url`` from inside the network namespace at ``netns_path`` until stopped."""

    def __init__(self, netns_path: str, url: str, interval: float = 0.05, timeout: float = 0.2) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or ""
        self.port = parts.port or 80
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.netns_path = netns_path
        self.interval = interval
        self.timeout = timeout
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hacore-http-poller", daemon=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> HttpPoller:
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        """Stop polling (requests in flight finish or time out); returns the samples."""
        self._stop.set()
        self._thread.join(timeout=10)
        return self.samples

    def first_answer_after(self, t: float, node: str | None = None) -> Sample | None:
        """The first successful request sent at or after monotonic time ``t`` (from ``node``)."""
        for sample in sorted(self.samples, key=lambda s: s.sent):
            if sample.sent >= t and sample.ok and (node is None or sample.node == node):
                return sample
        return None

    def wait_for_answer(self, node: str | None = None, timeout: float = 30.0) -> Sample | None:
        """Block until a request sent from now on succeeds (from ``node``), or ``timeout``."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            found = self.first_answer_after(start, node)
            if found:
                return found
            time.sleep(self.interval)
        return None

    def _run(self) -> None:
        with in_netns(self.netns_path):
            asyncio.run(self._main())

    async def _main(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        next_at = time.monotonic()
        while not self._stop.is_set():
            task = asyncio.create_task(self._one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            next_at += self.interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if tasks:
            await asyncio.wait(tasks, timeout=self.timeout * 2)

    async def _one(self) -> None:
        sent = time.monotonic()
        writer = None
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(
                    f"GET {self.path} HTTP/1.0\r\nHost: {self.host}\r\nUser-Agent: hacore-testbed\r\n\r\n".encode()
                )
                data = await reader.read()
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode(errors="replace").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
            sample = Sample(sent, time.monotonic() - sent, 200 <= status < 400, status,
                            node_from_response(headers, body))
        except (OSError, TimeoutError, ValueError, IndexError) as exc:
            sample = Sample(sent, time.monotonic() - sent, False, None, None, type(exc).__name__)
        finally:
            if writer is not None:
                writer.close()
        self.samples.append(sample)
