"""Configuration distribution: ``hacore config push`` and the newest config_version winning.

A push (API ``config_push`` on any node) is validated there, then served by the
coordinator: it checks the text again, stores and applies it, sends it (``config``) to
every member until a quorum of them acknowledges it stored (``config-ack``), and only then
answers. Each node stores the text durably (``<state-dir>/cluster.toml``, mode 0600,
atomic) before acknowledging, and applies it: the policy engine starts new services and
leaves unchanged ones alone on its next cycle; a service removed from the configuration is
stopped where it runs.

Every node offers its config_version to every member now and then and on each membership
change (``config-offer``); a node with a newer configuration sends it to one with an older
one, so a node that was down gets the newest configuration when it returns. A daemon
started with an older ``--config`` file than the one it stored uses the stored one.

Changes a running cluster cannot take (cluster name, nodes and their addresses, quorum,
the message port) are refused by a push: they need the file changed on every node and the
daemons restarted one by one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hacore.config import check_config_text
from hacore.config.dump import config_to_toml
from hacore.config.model import ClusterConfig
from hacore.config.problems import ConfigError
from hacore.daemon.forwarding import (
    ServedRequests,
    ask_coordinator,
    refusal,
    still_coordinating,
)
from hacore.errors import HacoreError, InputError, OperationFailed
from hacore.files import write_atomically
from hacore.policy.quorum import is_quorate

if TYPE_CHECKING:
    from hacore.daemon.node import NodeDaemon

log = logging.getLogger("hacore.daemon")

STORED_NAME = "cluster.toml"
KINDS = frozenset({"config", "config-ack", "config-offer", "config-push", "config-pushed"})
PUSH_TIMEOUT = 60.0
RESEND = 0.5
OFFER_EVERY = 5.0


def stored_path(state_dir: str) -> str:
    return os.path.join(state_dir, STORED_NAME)


def read_stored(state_dir: str) -> tuple[str, ClusterConfig] | None:
    """The configuration this node stored from a push, if any and still valid."""
    path = stored_path(state_dir)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read the stored configuration %s: %s", path, exc)
        return None
    result = check_config_text(text, path)
    if result.config is None:
        log.warning("the stored configuration %s is not valid; ignored:\n%s", path,
                    "\n".join(str(p) for p in result.errors))
        return None
    return text, result.config


def newest_config(config: ClusterConfig, state_dir: str) -> ClusterConfig:
    """``config`` (from --config), or the stored configuration when that one is newer."""
    stored = read_stored(state_dir)
    if stored is None or stored[1].config_version <= config.config_version:
        return config
    if stored[1].name != config.name:
        log.warning("the stored configuration %s is of cluster %r, not %r; ignored",
                    stored_path(state_dir), stored[1].name, config.name)
        return config
    log.warning("using the configuration stored in %s (config_version %d): it is newer "
                "than the --config file's (config_version %d)", stored_path(state_dir),
                stored[1].config_version, config.config_version)
    return stored[1]


def unchangeable(old: ClusterConfig, new: ClusterConfig) -> str | None:
    """What in ``new`` a running cluster cannot take from a push, or None."""
    if new.name != old.name:
        return f"the cluster name ({old.name!r} -> {new.name!r})"
    if [(n.name, n.id, n.addresses, n.votes) for n in new.nodes] != \
            [(n.name, n.id, n.addresses, n.votes) for n in old.nodes]:
        return ("the nodes (names, ids, addresses or votes); add or remove a node with "
                "`hacore cluster join` / `hacore cluster remove`, and start from `hacore "
                "config show` (the running configuration)")
    if new.quorum != old.quorum:
        return "the [quorum] settings"
    if new.message_port != old.message_port:
        return "[cluster] message_port"
    if new.timing.node_loss_timeout != old.timing.node_loss_timeout or \
            new.timing.heartbeat_interval != old.timing.heartbeat_interval:
        return "the membership timing (node_loss_timeout, heartbeat_interval)"
    return None


def _with_nodes_of(config: ClusterConfig, other: ClusterConfig) -> ClusterConfig:
    """``config`` with the nodes and expected votes of ``other`` (to compare the rest)."""
    return replace(config, nodes=other.nodes,
                   quorum=replace(config.quorum, expected_votes=other.quorum.expected_votes))


class ConfigSync:
    """One node's part of configuration distribution (see the module docstring)."""

    def __init__(self, daemon: NodeDaemon) -> None:
        self.daemon = daemon
        stored = read_stored(daemon.state_dir)
        self.text = stored[0] if stored and stored[1].config_version == \
            daemon.config.config_version else config_to_toml(daemon.config)
        self._push_lock = asyncio.Lock()
        self._acks: dict[int, set[str]] = {}
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._pushes = ServedRequests(daemon, "config-pushed")
        self._offered_to: frozenset[str] = frozenset()
        self._last_offer = 0.0

    @property
    def version(self) -> int:
        return self.daemon.config.config_version

    # -- checking and applying ------------------------------------------------------------

    def check(self, text: str, filename: str = "<pushed>", allow_nodes: bool = False
              ) -> ClusterConfig:
        """The configuration in ``text`` if this cluster can take it; else InputError.
        ``allow_nodes``: the nodes and expected votes may differ (a configuration made by
        ``hacore cluster join/remove`` and replicated by a member; never a push)."""
        result = check_config_text(text, filename)
        if result.config is None:
            raise ConfigError(result.problems)
        new = result.config
        if new.config_version <= self.version:
            raise InputError(f"{filename}: config_version {new.config_version} is not greater "
                             f"than the running one ({self.version}); raise it to "
                             f"{self.version + 1} or more")
        if allow_nodes:
            if new.node(self.daemon.node) is None:
                raise InputError(f"{filename}: it does not name this node "
                                 f"({self.daemon.node}): this node was removed from the "
                                 "cluster; stop its daemon")
            what = unchangeable(self.daemon.config, _with_nodes_of(new, self.daemon.config))
        else:
            what = unchangeable(self.daemon.config, new)
        if what is not None:
            raise InputError(f"{filename}: a push cannot change {what}; change the file on "
                             "every node and restart the daemons one at a time")
        return new

    def store_and_apply(self, text: str, new: ClusterConfig) -> None:
        """Store ``text`` durably, then run with ``new`` (removed services are stopped)."""
        write_atomically(stored_path(self.daemon.state_dir), text, 0o600)
        old = self.daemon.config
        self.text = text
        self.daemon.apply_config(new)
        log.info("%s runs configuration version %d now (was %d)", self.daemon.node,
                 new.config_version, old.config_version)
        removed = [s.name for s in old.services if new.service(s.name) is None]
        local = self.daemon.local
        if local is not None:
            for name in removed:
                if name in local.active:
                    asyncio.ensure_future(self._stop_removed(old, name))

    async def _stop_removed(self, old: ClusterConfig, name: str) -> None:
        """Stop a service the new configuration removed, with its old definition."""
        local = self.daemon.local
        assert local is not None
        runner = local.runner
        runner.unmonitor(name)
        keep = runner.config
        runner.config = old
        try:
            outcome = await runner.stop(name)
        finally:
            runner.config = keep if keep is not old else self.daemon.config
        if outcome.ok:
            local.active.pop(name, None)
            local._save()
            log.info("%s stopped %s: the configuration no longer has it", self.daemon.node,
                     name)
        else:
            log.error("%s could not stop removed service %s: %s", self.daemon.node, name,
                      outcome.detail)

    # -- the push -------------------------------------------------------------------------

    async def push(self, text: str, filename: str = "<pushed>") -> dict[str, Any]:
        """API ``config_push``: returns ``{"version": N}`` once a quorum stored it.
        Problems in ``text`` name ``filename``."""
        new = self.check(text, filename)
        view = self.daemon.provider.view()
        if not view.quorate or view.coordinator is None:
            raise OperationFailed(f"this partition ({self.daemon.node}) is not quorate: a "
                                  "configuration push requires quorum")
        if view.coordinator == self.daemon.node:
            return await self.replicate(text, new, filename)
        reply = await ask_coordinator(
            self.daemon, "config-push", {"text": text, "filename": filename}, self._waiters,
            timeout=PUSH_TIMEOUT,
            late=f"the coordinator did not confirm the configuration within {PUSH_TIMEOUT:.0f} s")
        error = refusal(reply)
        if error is not None:
            raise error
        return {"version": int(reply["version"])}

    async def replicate(self, text: str, new: ClusterConfig, filename: str = "<pushed>"
                        ) -> dict[str, Any]:
        """On the coordinator: store, apply, send to every member; return at quorum."""
        async with self._push_lock:
            new = self.check(text, filename)  # again: another push may have won meanwhile
            version = new.config_version
            self.store_and_apply(text, new)
            acked = self._acks.setdefault(version, set())
            acked.add(self.daemon.node)
            deadline = time.monotonic() + PUSH_TIMEOUT
            while not is_quorate(new, acked):
                if time.monotonic() > deadline:
                    raise OperationFailed(
                        f"configuration version {version} is stored on "
                        f"{', '.join(sorted(acked))} only, not yet on a quorum; it reaches "
                        "the others when they are members")
                for name in self.daemon.provider.view().member_names():
                    if name not in acked:
                        self.daemon.send(name, "config", {"version": version, "text": text})
                await asyncio.sleep(RESEND)
            log.info("configuration version %d is stored on a quorum (%s)", version,
                     ", ".join(sorted(acked)))
            return {"version": version}

    async def replicate_nodes(self, build: Callable[[ClusterConfig],
                                                    tuple[str, ClusterConfig, ClusterConfig]],
                              used_tokens: list[str] | None = None) -> dict[str, Any]:
        """On the coordinator: a node added or removed (``hacore cluster join/remove``, by
        hacore.bootstrap, never by a push). ``build(current)`` returns (text, new
        configuration, the configuration whose quorum must store it: the old one when a
        node is added, since the new node runs only after this returns). Stored, applied,
        sent to every member with ``used_tokens``; returns ``{"version": N}`` at quorum."""
        async with self._push_lock:
            text, new, quorum_of = build(self.daemon.config)
            version = new.config_version
            if version <= self.version:
                raise OperationFailed(f"config_version {version} is not newer than "
                                      f"{self.version}")
            self.store_and_apply(text, new)
            acked = self._acks.setdefault(version, set())
            acked.add(self.daemon.node)
            body: dict[str, Any] = {"version": version, "text": text}
            if used_tokens:
                body["used_tokens"] = used_tokens
            deadline = time.monotonic() + PUSH_TIMEOUT
            while not is_quorate(quorum_of, acked):
                if time.monotonic() > deadline:
                    raise OperationFailed(
                        f"configuration version {version} is stored on "
                        f"{', '.join(sorted(acked))} only, not yet on a quorum")
                for name in self.daemon.provider.view().member_names():
                    if name not in acked and new.node(name) is not None:
                        self.daemon.send(name, "config", body)
                await asyncio.sleep(RESEND)
            log.info("configuration version %d (nodes: %s) is stored on a quorum (%s)",
                     version, ", ".join(n.name for n in new.nodes), ", ".join(sorted(acked)))
            return {"version": version}

    async def _serve_push(self, sender: str, body: dict[str, Any]) -> None:
        async def run() -> dict[str, Any]:
            still_coordinating(self.daemon)
            text, filename = str(body.get("text", "")), str(body.get("filename", "<pushed>"))
            return {"ok": True,
                    **await self.replicate(text, self.check(text, filename), filename)}

        await self._pushes.serve(sender, body, run)

    # -- messages and offers --------------------------------------------------------------

    def on_message(self, sender: str, kind: str, body: dict[str, Any]) -> None:
        """A ``config*`` message from member ``sender``."""
        if kind == "config-push":
            asyncio.ensure_future(self._serve_push(sender, body))
        elif kind == "config-pushed":
            waiter = self._waiters.get(str(body.get("id")))
            if waiter is not None and not waiter.done():
                waiter.set_result(body)
        elif kind == "config-ack":
            self._acks.setdefault(int(body.get("version", 0)), set()).add(sender)
        elif kind == "config-offer":
            offered = int(body.get("version", 0))
            if offered < self.version:
                self.daemon.send(sender, "config", {"version": self.version, "text": self.text})
            elif offered > self.version:
                self.daemon.send(sender, "config-offer", {"version": self.version})
        elif kind == "config":
            self._on_config(sender, int(body.get("version", 0)), str(body.get("text", "")),
                            body.get("used_tokens"))

    def _on_config(self, sender: str, version: int, text: str,
                   used_tokens: Any = None) -> None:
        if version < self.version:  # the sender is behind: the newest wins
            self.daemon.send(sender, "config", {"version": self.version, "text": self.text})
            return
        if version > self.version:
            try:
                new = self.check(text, f"<configuration from {sender}>", allow_nodes=True)
            except HacoreError as exc:
                log.error("%s refused configuration version %d from %s: %s",
                          self.daemon.node, version, sender, exc)
                return
            self.store_and_apply(text, new)
        if isinstance(used_tokens, list):  # a join: keep its token as spent (bootstrap)
            from hacore.bootstrap.state import record_used_tokens

            record_used_tokens(self.daemon.state_dir, [str(t) for t in used_tokens])
        self.daemon.send(sender, "config-ack", {"version": self.version})

    def offer(self, force: bool = False) -> None:
        """Offer this node's config_version to the members (on a change, or now and then)."""
        view = self.daemon.provider.view()
        members = frozenset(view.member_names()) - {self.daemon.node}
        now = time.monotonic()
        if not force and members == self._offered_to and now - self._last_offer < OFFER_EVERY:
            return
        self._offered_to, self._last_offer = members, now
        for name in sorted(members):
            self.daemon.send(name, "config-offer", {"version": self.version})

    async def run(self) -> None:
        """Offer on every membership change and every OFFER_EVERY seconds: woken by the
        provider's events (a member joining or leaving is one), not by polling the view
        five times a second (each wake-up of an idle daemon costs CPU).

        It waits on a plain future, not ``asyncio.wait_for``: in Python 3.11 that swallows a
        cancellation arriving as the event fires (a crash's events, then ``stop``), and the
        task would never end."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()

        def wake(timed_out: bool) -> None:
            if not waiter.done():
                waiter.set_result(timed_out)

        unsubscribe = self.daemon.provider.on_event(lambda _event: wake(False))
        timed_out = False
        try:
            while True:
                waiter = loop.create_future()
                try:
                    self.offer(force=timed_out)
                except Exception:
                    log.exception("offering the configuration version failed; going on")
                timer = loop.call_later(OFFER_EVERY, wake, True)
                try:
                    timed_out = await waiter
                finally:
                    timer.cancel()
        finally:
            try:
                unsubscribe()
            except ValueError:  # the provider forgot its callbacks already
                pass
