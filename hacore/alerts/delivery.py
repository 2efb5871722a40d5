"""Deliver one alert: run a script (environment + JSON on stdin) or POST the JSON to a URL.

A script runs in its own session with a hard timeout; at the timeout its whole process
group is killed. It gets the event as ``HACORE_ALERT_*`` environment variables and as one
JSON object on stdin. A URL gets the same JSON in a POST (``Content-Type:
application/json``, ``X-Hacore-Alert-Seq``); any 2xx answer counts as delivered.
"""

from __future__ import annotations

import json
import os
import time as clock
from dataclasses import dataclass
from typing import Any

from hacore.config.model import AlertHook
from hacore.program import run_agent_process

#: the environment a script gets besides the HACORE_ALERT_* variables
BASE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")
STDERR_KEPT = 400


@dataclass(frozen=True)
class Alert:
    """What a hook is told: one journal event with its topic."""

    seq: int
    time: float
    node: str
    topic: str
    kind: str
    message: str
    service: str | None = None
    incident: str | None = None
    fields: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON a hook receives (stdin of a script, body of a POST)."""
        return {"seq": self.seq, "time": self.time, "node": self.node, "topic": self.topic,
                "kind": self.kind, "service": self.service, "incident": self.incident,
                "message": self.message, "fields": self.fields or {}}

    def environment(self, hook: str) -> dict[str, str]:
        """The HACORE_ALERT_* variables of a script."""
        return {
            "HACORE_ALERT_HOOK": hook, "HACORE_ALERT_SEQ": str(self.seq),
            "HACORE_ALERT_TOPIC": self.topic, "HACORE_ALERT_KIND": self.kind,
            "HACORE_ALERT_NODE": self.node, "HACORE_ALERT_SERVICE": self.service or "",
            "HACORE_ALERT_INCIDENT": self.incident or "",
            "HACORE_ALERT_TIME": f"{self.time:.6f}",
            "HACORE_ALERT_TIME_ISO": clock.strftime("%Y-%m-%dT%H:%M:%SZ", clock.gmtime(self.time)),
            "HACORE_ALERT_MESSAGE": self.message,
        }


@dataclass(frozen=True)
class DeliveryResult:
    """Whether the hook took the alert, and what it said or what went wrong."""

    ok: bool
    detail: str
    duration: float


def deliver(hook: AlertHook, alert: Alert) -> DeliveryResult:
    """Run or post ``alert`` to ``hook`` within ``hook.timeout``; never raises."""
    started = clock.monotonic()
    try:
        if hook.script:
            ok, detail = _run_script(hook, alert)
        else:
            ok, detail = _post(hook, alert)
    except Exception as exc:  # noqa: BLE001 - a hook never takes the caller down
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return DeliveryResult(ok, detail, clock.monotonic() - started)


def _run_script(hook: AlertHook, alert: Alert) -> tuple[bool, str]:
    assert hook.script is not None
    env = {k: os.environ[k] for k in BASE_ENV if k in os.environ}
    env.update(alert.environment(hook.name))
    body = json.dumps(alert.to_dict(), default=str)
    result = run_agent_process([hook.script], body, hook.timeout, env=env)
    if result.exit_status is None and not result.timed_out:
        return False, result.error
    if result.timed_out:
        return False, f"{hook.script} timed out after {hook.timeout:g} s and was killed"
    tail = result.stderr.strip()[-STDERR_KEPT:]
    if result.exit_status != 0:
        return False, f"{hook.script} exited with {result.exit_status}" + (f": {tail}" if tail else "")
    return True, f"{hook.script} exited 0"


def _post(hook: AlertHook, alert: Alert) -> tuple[bool, str]:
    import urllib.error  # only when a URL hook posts (the daemon's memory)
    import urllib.request

    assert hook.url is not None
    body = json.dumps(alert.to_dict(), default=str).encode()
    request = urllib.request.Request(hook.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Hacore-Alert-Seq": str(alert.seq),
        "User-Agent": "hacore-alert"})
    try:
        with urllib.request.urlopen(request, timeout=hook.timeout) as response:
            return True, f"{hook.url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{hook.url} answered {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        return False, f"{hook.url}: {exc.reason}"
    except TimeoutError:
        return False, f"{hook.url} did not answer within {hook.timeout:g} s"
