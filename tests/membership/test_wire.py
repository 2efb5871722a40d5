"""The wire format: authentication, versions, malformed input, replay window, fuzzing."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hacore.membership import wire

KEY = wire.mac_key(b"s" * 32, "alpha")
TAG = wire.cluster_tag("alpha")


def packet(version: int = 1, body: bytes = b"{}", seq: int = 1) -> wire.Packet:
    return wire.Packet(version, wire.KIND_HEARTBEAT, 1, 2, 12345, seq, body)


def test_round_trip() -> None:
    """A packet encoded with the cluster key decodes to the same fields, flags included."""
    p = packet(body=wire.heartbeat_body(wire.Heartbeat(ack_seq=7, grant=True)))
    assert wire.decode(wire.encode(p, KEY, TAG), KEY, TAG) == p
    asking = replace(p, flags=wire.FLAG_ACK_REQUEST)
    assert wire.decode(wire.encode(asking, KEY, TAG), KEY, TAG).flags == wire.FLAG_ACK_REQUEST


def test_heartbeat_body_round_trip() -> None:
    """Every heartbeat field, the view included, survives encoding."""
    hb = wire.Heartbeat(ack_incarnation=3, ack_seq=9, grant=True, candidate=True, follows=2,
                        epoch=4, seen_all=True, view=wire.ViewClaim(4, ((1, 5), (2, 6)), 3, 0.25))
    assert wire.parse_heartbeat(wire.heartbeat_body(hb)) == hb


#: a heartbeat packet as the first release wrote it (wire version 1, ack request flag set):
#: any change to the encoding (body layout, number formatting, MAC) breaks mixed clusters
GOLDEN_HEARTBEAT = bytes.fromhex(
    "4841434d010100012945ea1617f7e33e00010002187be00710fba00000000000000000630"
    "0a57b226169223a313736343235303030303030303030303030312c226173223a343536372c2267223a"
    "312c2263223a302c2266223a312c2265223a352c2277223a312c227370223a5b312c325d2c2276223a"
    "7b2265223a352c226d223a5b5b312c313736343235303030303030303030303030305d2c5b322c3137"
    "36343235303030303030303030303030315d5d2c2278223a332c226c223a302e3439352c2261223a31"
    "7d7dcdeeb53493a059878b08ac0224d8262e7532128e10760eaa963c399519e6a430")


def test_heartbeat_bytes_are_those_of_the_first_release() -> None:
    """A heartbeat (view included) encodes byte for byte as release 1 wrote it."""
    key, tag = wire.mac_key(bytes(range(32)), "golden"), wire.cluster_tag("golden")
    hb = wire.Heartbeat(ack_incarnation=1764250000000000001, ack_seq=4567, grant=True,
                        follows=1, epoch=5, seen_all=True, speaks=(1, 2),
                        view=wire.ViewClaim(5, ((1, 1764250000000000000),
                                                (2, 1764250000000000001)), 3, 0.4949999, True))
    p = wire.Packet(1, wire.KIND_HEARTBEAT, 1, 2, 1764250000000000000, 99,
                    wire.heartbeat_body(hb), wire.FLAG_ACK_REQUEST)
    assert wire.encode(p, key, tag) == GOLDEN_HEARTBEAT
    assert wire.parse_heartbeat(wire.decode(GOLDEN_HEARTBEAT, key, tag).body) == replace(
        hb, view=replace(hb.view, lease_left=0.495))


def test_wrong_key_is_refused() -> None:
    """A packet signed with another key fails the MAC check."""
    data = wire.encode(packet(), wire.mac_key(b"x" * 32, "alpha"), TAG)
    with pytest.raises(wire.DecodeError) as err:
        wire.decode(data, KEY, TAG)
    assert err.value.reason == "mac"


def test_same_key_other_cluster_is_refused() -> None:
    """Another cluster's packet is refused even if its key is the same."""
    other = wire.encode(packet(), wire.mac_key(b"s" * 32, "beta"), wire.cluster_tag("beta"))
    with pytest.raises(wire.DecodeError) as err:
        wire.decode(other, KEY, TAG)
    assert err.value.reason == "cluster"


def test_altered_byte_is_refused() -> None:
    """Flipping any one byte of a signed packet makes it undecodable."""
    data = bytearray(wire.encode(packet(), KEY, TAG))
    for i in range(len(data)):
        altered = bytearray(data)
        altered[i] ^= 0x01
        with pytest.raises(wire.DecodeError):
            wire.decode(bytes(altered), KEY, TAG)


def test_oversize_and_short_packets() -> None:
    """Oversize and truncated packets are refused with their own reasons."""
    with pytest.raises(wire.DecodeError) as err:
        wire.decode(b"\0" * (wire.MAX_PACKET + 1), KEY, TAG)
    assert err.value.reason == "oversize"
    with pytest.raises(wire.DecodeError) as err:
        wire.decode(b"HACM", KEY, TAG)
    assert err.value.reason == "malformed"


def test_next_version_is_read_and_unknown_version_refused() -> None:
    """Version N+1 is read (it may only add keys); a version beyond is refused, by name."""
    body = b'{"as":4,"new_key_of_v2":[1,2]}'
    p = wire.decode(wire.encode(packet(version=2, body=body), KEY, TAG), KEY, TAG)
    assert wire.parse_heartbeat(p.body).ack_seq == 4
    with pytest.raises(wire.UnsupportedVersion) as err:
        wire.decode(wire.encode(packet(version=wire.MAX_WIRE_VERSION + 1), KEY, TAG), KEY, TAG)
    assert err.value.version == wire.MAX_WIRE_VERSION + 1 and err.value.sender == 1


@pytest.mark.parametrize("body", [b"[]", b"not json", b'{"as": -1}', b'{"as": "1"}',
                                  b'{"g": 2}', b'{"sp": [1]}', b'{"v": {"m": [[0, 1]]}}',
                                  b'{"v": {"m": [], "l": "x"}}', b"\xff\xfe", b'{"as": 1.5}',
                                  b"[" * 5000])
def test_malformed_bodies_are_refused(body: bytes) -> None:
    """Bodies of the wrong shape raise DecodeError, never anything else."""
    with pytest.raises(wire.DecodeError):
        wire.parse_heartbeat(body)


def test_replay_window() -> None:
    """Each sequence number is taken once; reordering inside 64 is fine, older is not."""
    w = wire.ReplayWindow()
    assert w.accept(10) and w.accept(12) and w.accept(11)
    assert not w.accept(11) and not w.accept(12)
    assert w.accept(100)
    assert w.accept(40) and not w.accept(36)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_decode_raw(data: bytes) -> None:
    """Random bytes never crash the decoder: they decode or raise DecodeError."""
    try:
        wire.decode(data, KEY, TAG)
    except wire.DecodeError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 255), st.integers(0, 255))
def test_fuzz_signed_bodies(body: bytes, version: int, kind: int) -> None:
    """Validly signed packets with arbitrary bodies, versions and kinds never crash parsing."""
    try:
        p = wire.decode(wire.encode(wire.Packet(version, kind, 1, 2, 3, 4, body), KEY, TAG),
                        KEY, TAG)
        if p.kind == wire.KIND_HEARTBEAT:
            wire.parse_heartbeat(p.body)
    except wire.DecodeError:
        pass


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                  max_size=4), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(list(wire.HEARTBEAT_KEYS) + ["zz"]), json_values))
def test_fuzz_json_bodies(raw: dict) -> None:
    """Any JSON object as a body parses into a checked Heartbeat or raises DecodeError."""
    import json
    try:
        hb = wire.parse_heartbeat(json.dumps(raw).encode())
    except wire.DecodeError:
        return
    assert isinstance(hb.ack_seq, int) and hb.ack_seq >= 0
    assert hb.view is None or all(0 < i < 65536 for i, _ in hb.view.members)
