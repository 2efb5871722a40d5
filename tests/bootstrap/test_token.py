"""Join tokens: the text format, parse errors that name the wrong part, proofs."""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner

from hacore.bootstrap.token import (
    PREFIX,
    TokenError,
    check_token_secret,
    make_token,
    parse_token,
    proof,
    split_address,
)
from hacore.cli.main import cli

KEY = bytes(range(32))
FP = "ab" * 32


def _token(**changes):
    token = make_token(KEY, FP, 2, ["10.0.0.1:5417", "[fd00::1]:5417"], ttl=60, now=1000.0)
    body = json.loads(base64.urlsafe_b64decode(token.encode()[len(PREFIX):] + "=="))
    body.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del body[key]
    raw = json.dumps(body).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_round_trip_keeps_every_field():
    """A token parses back to the same id, node id, expiry, secret, fingerprint, addresses."""
    token = make_token(KEY, FP, 3, ["10.0.0.1:5417"], ttl=60, now=1000.0)
    back = parse_token(token.encode())
    assert back == token
    assert back.expires == 1060 and back.node_id == 3
    assert back.expired(now=1060) and not back.expired(now=1059)


@pytest.mark.parametrize("text,words", [
    ("hello", "must start with 'hcj1.'"),
    ("hcj1.!!!", "not base64url"),
    ("hcj1." + base64.urlsafe_b64encode(b"not json").decode(), "not JSON"),
])
def test_garbage_is_refused_with_the_reason(text, words):
    """Wrong prefix, bad base64 and non-JSON are each named."""
    with pytest.raises(TokenError) as err:
        parse_token(text)
    assert words in str(err.value)
    assert err.value.exit_code == 2


@pytest.mark.parametrize("changes,words", [
    ({"f": None}, "the CA fingerprint ('f') is missing"),
    ({"f": "xyz"}, "the CA fingerprint ('f') must be 64"),
    ({"i": "short"}, "the token id ('i') must be 16 hex"),
    ({"n": 0}, "the node id ('n') must be a positive integer"),
    ({"n": 70000}, "at most 65535"),
    ({"e": "soon"}, "the expiry ('e') must be a positive integer"),
    ({"s": base64.urlsafe_b64encode(b"abc").decode()}, "the secret ('s') must be 16 bytes"),
    ({"a": []}, "the addresses ('a') must be a non-empty list"),
    ({"a": ["10.0.0.1:99999"]}, "the port must be 1..65535"),
])
def test_each_bad_field_is_named(changes, words):
    """A missing or malformed field: the error says which one and what is valid."""
    with pytest.raises(TokenError) as err:
        parse_token(_token(**changes))
    assert words in str(err.value)


def test_proof_checks_only_with_the_same_key_nonces_and_certificate():
    """The proof verifies with the cluster key; another key, nonce, cert or name fails."""
    token = make_token(KEY, FP, 2, ["10.0.0.1:5417"], ttl=60)
    args = (b"s" * 32, b"c" * 32, b"cert", "n2", ["10.0.0.2"])
    answer = proof(token.secret, *args)
    assert check_token_secret(KEY, token.token_id, 2, token.expires, *args, answer)
    assert not check_token_secret(bytes(32), token.token_id, 2, token.expires, *args, answer)
    assert not check_token_secret(KEY, token.token_id, 3, token.expires, *args, answer)
    assert not check_token_secret(KEY, token.token_id, 2, token.expires + 1, *args, answer)
    other = (b"t" * 32, b"c" * 32, b"cert", "n2", ["10.0.0.2"])
    assert not check_token_secret(KEY, token.token_id, 2, token.expires, *other, answer)
    mitm = (b"s" * 32, b"c" * 32, b"other cert", "n2", ["10.0.0.2"])
    assert not check_token_secret(KEY, token.token_id, 2, token.expires, *mitm, answer)
    assert token.secret.hex() not in token.token_id


def test_addresses_with_and_without_ports():
    """host, host:port, [v6]:port and a bare IPv6 address are understood."""
    assert split_address("10.0.0.1", 5417) == ("10.0.0.1", 5417)
    assert split_address("10.0.0.1:6000", 5417) == ("10.0.0.1", 6000)
    assert split_address("[fd00::1]:6000", 5417) == ("fd00::1", 6000)
    assert split_address("fd00::1", 5417) == ("fd00::1", 5417)


def test_cli_join_with_a_malformed_token_exits_2_and_writes_nothing(tmp_path):
    """`hacore cluster join` with a broken token: exit 2, the part named, no files."""
    result = CliRunner().invoke(cli, ["cluster", "join", "10.0.0.1", "--token",
                                      _token(f=None), "--etc-dir", str(tmp_path / "etc"),
                                      "--state-dir", str(tmp_path / "state"), "--start",
                                      "none", "--address", "10.0.0.2"])
    assert result.exit_code == 2, result.output
    assert "the CA fingerprint ('f') is missing" in result.output
    assert not (tmp_path / "etc").exists()


def test_cli_join_with_an_expired_token_exits_1_and_writes_nothing(tmp_path):
    """An expired token is refused before anything is contacted or written."""
    token = make_token(KEY, FP, 2, ["10.0.0.1:5417"], ttl=60, now=1000.0)
    result = CliRunner().invoke(cli, ["cluster", "join", "--token", token.encode(),
                                      "--etc-dir", str(tmp_path / "etc"), "--start", "none",
                                      "--address", "10.0.0.2"])
    assert result.exit_code == 1, result.output
    assert "the token expired at 1970-01-01 00:17:40 UTC" in result.output
    assert not (tmp_path / "etc").exists()
