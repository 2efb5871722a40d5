"""The wire format of the built-in provider: a fixed, authenticated envelope, a versioned body.

Envelope (big-endian), the same in every version so that any node can authenticate a packet
and then say which version it speaks::

    magic "HACM" | version u8 | kind u8 | flags u16 | cluster 8 bytes | sender u16 | dest u16
    | incarnation u64 | seq u64 | body length u16 | body | HMAC-SHA256 (32 bytes)

Flags: bit 0 (``FLAG_ACK_REQUEST``) asks the receiver to answer with a heartbeat at once;
unknown bits are ignored, so a node that does not know a flag simply does not honour it.

The MAC covers everything before it and is keyed by a key derived from the cluster key and
the cluster name. The heartbeat body is compact JSON whose keys are listed in
``HEARTBEAT_KEYS``; a newer version may add keys, which older versions ignore. Nothing from
the network is unpickled or evaluated: JSON is parsed into plain values and checked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from dataclasses import dataclass
from typing import Any

MAGIC = b"HACM"
WIRE_VERSION = 1  # the version this code writes by default
MIN_WIRE_VERSION = 1  # the oldest version it still reads and writes
MAX_WIRE_VERSION = 2  # the newest version it reads: N+1 only adds body keys
HEADER = struct.Struct(">4sBBH8sHHQQH")
MAC_SIZE = 32
MAX_PACKET = 8192
KIND_HEARTBEAT = 1
KIND_MESSAGE = 2
KINDS = (KIND_HEARTBEAT, KIND_MESSAGE)
FLAG_ACK_REQUEST = 0x0001


class DecodeError(ValueError):
    """A packet that is not ours or not well formed; ``reason`` is a short log word."""

    def __init__(self, reason: str, detail: str = "", sender: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.sender = sender


class UnsupportedVersion(DecodeError):
    """An authenticated packet in a wire version this node cannot speak."""

    def __init__(self, version: int, sender: int,
                 speaks: tuple[int, int] = (MIN_WIRE_VERSION, MAX_WIRE_VERSION)) -> None:
        super().__init__("version", f"wire version {version}; this node speaks "
                         f"{speaks[0]}..{speaks[1]}", sender)
        self.version = version


def cluster_tag(cluster_name: str) -> bytes:
    """8 bytes naming the cluster, so packets of another cluster are told apart early."""
    return hashlib.sha256(b"hacore-cluster\0" + cluster_name.encode()).digest()[:8]


def mac_key(cluster_key: bytes, cluster_name: str) -> bytes:
    """The HMAC key: the cluster key bound to the cluster name."""
    return hmac.new(cluster_key, b"hacore-membership\0" + cluster_name.encode(),
                    hashlib.sha256).digest()


@dataclass(frozen=True)
class Packet:
    version: int
    kind: int
    sender: int
    dest: int
    incarnation: int
    seq: int
    body: bytes
    flags: int = 0


def encode(packet: Packet, key: bytes, cluster: bytes) -> bytes:
    """Serialise and sign a packet (``key`` from :func:`mac_key`, ``cluster`` from
    :func:`cluster_tag`)."""
    head = HEADER.pack(MAGIC, packet.version, packet.kind, packet.flags, cluster, packet.sender,
                       packet.dest, packet.incarnation, packet.seq, len(packet.body))
    data = head + packet.body
    if len(data) + MAC_SIZE > MAX_PACKET:
        raise ValueError(f"packet of {len(data) + MAC_SIZE} bytes exceeds {MAX_PACKET}")
    return data + hmac.digest(key, data, "sha256")


def decode(data: bytes, key: bytes, cluster: bytes,
           speaks: tuple[int, int] = (MIN_WIRE_VERSION, MAX_WIRE_VERSION)) -> Packet:
    """Check and parse a packet; raise DecodeError (or UnsupportedVersion) to drop it.

    ``speaks`` is the range of versions read (an older release reads an older range)."""
    if len(data) > MAX_PACKET:
        raise DecodeError("oversize", f"{len(data)} bytes")
    if len(data) < HEADER.size + MAC_SIZE:
        raise DecodeError("malformed", f"{len(data)} bytes is too short")
    (magic, version, kind, flags, tag, sender, dest, incarnation, seq,
     length) = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise DecodeError("malformed", "bad magic")
    if tag != cluster:
        raise DecodeError("cluster", "packet of another cluster", sender)
    if HEADER.size + length + MAC_SIZE != len(data):
        raise DecodeError("malformed", "length field does not match", sender)
    signed, mac = data[:-MAC_SIZE], data[-MAC_SIZE:]
    if not hmac.compare_digest(mac, hmac.digest(key, signed, "sha256")):
        raise DecodeError("mac", "bad MAC (wrong cluster key or altered)", sender)
    if not speaks[0] <= version <= speaks[1]:
        raise UnsupportedVersion(version, sender, speaks)
    if kind not in KINDS:
        raise DecodeError("malformed", f"unknown kind {kind}", sender)
    return Packet(version, kind, sender, dest, incarnation, seq, signed[HEADER.size:], flags)


@dataclass(frozen=True)
class ViewClaim:
    """A coordinator's view, carried in its heartbeats."""

    epoch: int
    members: tuple[tuple[int, int], ...]  # (node id, incarnation)
    expected: int
    lease_left: float  # seconds of lease the coordinator still holds when sending
    agreed: bool = False  # every member confirmed this epoch, no reached node is outside


@dataclass(frozen=True)
class Heartbeat:
    """The heartbeat body, addressed to one peer."""

    ack_incarnation: int = 0  # the destination's incarnation, as last heard
    ack_seq: int = 0  # the highest seq heard from the destination in that incarnation
    grant: bool = False  # the sender grants its vote to the destination, for ack_seq
    candidate: bool = False  # the sender asks for votes
    follows: int = 0  # the node the sender grants to (0: nobody)
    epoch: int = 0  # the highest epoch the sender knows
    seen_all: bool = False  # wait_for_all is satisfied for the sender
    speaks: tuple[int, int] = (MIN_WIRE_VERSION, MAX_WIRE_VERSION)
    view: ViewClaim | None = None


HEARTBEAT_KEYS = ("ai", "as", "g", "c", "f", "e", "w", "sp", "v")
#: json.dumps(body, separators=(",", ":")) without building an encoder per heartbeat
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def heartbeat_body(hb: Heartbeat) -> bytes:
    body: dict[str, Any] = {"ai": hb.ack_incarnation, "as": hb.ack_seq, "g": int(hb.grant),
                            "c": int(hb.candidate), "f": hb.follows, "e": hb.epoch,
                            "w": int(hb.seen_all), "sp": list(hb.speaks)}
    if hb.view is not None:
        body["v"] = {"e": hb.view.epoch, "m": [list(m) for m in hb.view.members],
                     "x": hb.view.expected, "l": round(hb.view.lease_left, 6)}
        if hb.view.agreed:
            body["v"]["a"] = 1
    return _COMPACT.encode(body).encode()


def _int(raw: dict[str, Any], key: str, maximum: int = 2**64 - 1) -> int:
    value = raw.get(key, 0)
    if type(value) is not int or not 0 <= value <= maximum:
        raise DecodeError("malformed", f"body key {key!r} is not an integer in range")
    return value


def parse_heartbeat(body: bytes) -> Heartbeat:
    """Parse and check a heartbeat body; unknown keys (a newer version's) are ignored."""
    try:
        raw = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DecodeError("malformed", "body is not JSON") from None
    if not isinstance(raw, dict):
        raise DecodeError("malformed", "body is not an object")
    speaks = raw.get("sp", [1, 1])
    if (not isinstance(speaks, list) or len(speaks) != 2
            or any(type(v) is not int or not 0 < v < 256 for v in speaks)):
        raise DecodeError("malformed", "body key 'sp' is not [min, max]")
    view = None
    if "v" in raw:
        view = _parse_view(raw["v"])
    return Heartbeat(
        ack_incarnation=_int(raw, "ai"), ack_seq=_int(raw, "as"), grant=bool(_int(raw, "g", 1)),
        candidate=bool(_int(raw, "c", 1)), follows=_int(raw, "f", 65535), epoch=_int(raw, "e"),
        seen_all=bool(_int(raw, "w", 1)), speaks=(speaks[0], speaks[1]), view=view)


def _parse_view(raw: Any) -> ViewClaim:
    if not isinstance(raw, dict):
        raise DecodeError("malformed", "view is not an object")
    members = raw.get("m")
    if not isinstance(members, list) or len(members) > 1024:
        raise DecodeError("malformed", "view members is not a list")
    pairs = []
    for item in members:
        if (not isinstance(item, list) or len(item) != 2
                or type(item[0]) is not int or type(item[1]) is not int
                or not 0 < item[0] < 65536 or not 0 <= item[1] < 2**64):
            raise DecodeError("malformed", "view member is not [id, incarnation]")
        pairs.append((item[0], item[1]))
    lease = raw.get("l", 0.0)
    if type(lease) not in (int, float) or not 0 <= lease < 3600:
        raise DecodeError("malformed", "view lease is not a number of seconds")
    return ViewClaim(_int(raw, "e"), tuple(pairs), _int(raw, "x", 65535), float(lease),
                     bool(_int(raw, "a", 1)))


class ReplayWindow:
    """Sequence numbers seen from one incarnation of one sender (a 64-wide sliding window,
    as IPsec does): a packet is fresh once; reordering inside the window is tolerated."""

    WIDTH = 64

    def __init__(self) -> None:
        self.highest = 0
        self.bits = 0  # bit i set: highest - i was seen

    def accept(self, seq: int) -> bool:
        """Record ``seq``; False if it was seen already or is too old."""
        if seq > self.highest:
            shift = seq - self.highest
            self.bits = ((self.bits << shift) | 1) & ((1 << self.WIDTH) - 1)
            self.highest = seq
            return True
        offset = self.highest - seq
        if offset >= self.WIDTH or self.bits & (1 << offset):
            return False
        self.bits |= 1 << offset
        return True
