"""Every kind of daemon message some module sends can be encoded (a kind missing from
``messages.KINDS`` made each forwarded ``hacore cluster remove``/``join`` an internal error
on any node but the coordinator)."""

from __future__ import annotations

import pytest

from hacore.bootstrap import endpoint
from hacore.daemon import configsync, messages


@pytest.mark.parametrize("kind", sorted(endpoint.KINDS | configsync.KINDS
                                        | {"journal-req", "journal-part", "cluster-exit"}))
def test_every_kind_sent_by_a_module_round_trips(kind: str) -> None:
    """encode accepts it and decode gives the same body back."""
    body = messages.decode(messages.encode(kind, {"id": "n2.1", "op": "remove"}))
    assert body == {"id": "n2.1", "op": "remove", "t": kind}


def test_an_unknown_kind_is_refused() -> None:
    """A typo in a kind is a programming error, caught at the sender."""
    with pytest.raises(ValueError, match="unknown message kind 'boot-rq'"):
        messages.encode("boot-rq", {})
