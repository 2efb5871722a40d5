"""The daemon's side of the message channel: only the current incarnation of a member is
heard, and messages really travel over TLS between in-process daemons."""

from __future__ import annotations

import asyncio

import pytest
from daemon_support import token_config
from inproc import inproc_cluster, wait_for

from hacore.daemon.messages import encode
from hacore.membership.contract import Message

pytestmark = pytest.mark.slow


def test_a_message_from_a_stale_incarnation_or_a_stranger_is_dropped(tmp_path, executor):
    """A state-req from n2's current incarnation is answered; the same from an older
    incarnation of n2, or from a node that is not a member, is not."""
    async def go() -> list[tuple[str, str]]:
        async with inproc_cluster(token_config(tmp_path), tmp_path, executor) as c:
            await wait_for(lambda: c.service("web")["state"] == "started")
            n1 = c.daemons["n1"]
            assert n1.channel is not None and n1.channel.links["n2"].connects >= 1
            sent: list[tuple[str, str]] = []
            n1.send = lambda node, kind, body: sent.append((node, kind)) \
                if kind == "state" else None  # type: ignore
            current = n1.provider.view().member("n2").incarnation
            ask = encode("state-req", {})
            n1._on_message(Message("n2", current - 1, ask))
            n1._on_message(Message("n9", current, ask))
            await asyncio.sleep(0.2)
            assert sent == []
            n1._on_message(Message("n2", current, ask))
            await asyncio.sleep(0.2)
            return sent

    assert asyncio.run(go()) == [("n2", "state")]
