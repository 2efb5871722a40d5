"""Password hashing, sessions, CSRF and origin checks, and the console's certificate."""

from __future__ import annotations

import os
import stat

import pytest

from hacore.errors import InputError
from hacore.web.certificate import ensure_certificate
from hacore.web.passwords import (
    check_password_file,
    hash_password,
    verify_password,
    write_password_file,
)
from hacore.web.sessions import (
    FAILED_LOGINS,
    SessionStore,
    cookie_header,
    csrf_ok,
    same_origin,
    session_id_from,
)


def test_password_hash_is_salted_scrypt_and_verifies():
    """Two hashes of one password differ (salt); each verifies it and refuses another."""
    a, b = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert a != b and a.startswith("scrypt$16384$8$1$")
    assert "s3cret-pass" not in a
    assert verify_password("s3cret-pass", a) and verify_password("s3cret-pass", b)
    assert not verify_password("s3cret-pasS", a)


def test_malformed_stored_hash_refuses_every_password():
    """A damaged file never lets a login in (and does not raise)."""
    for stored in ("", "plain", "scrypt$x$8$1$AA==$AA==", "md5$1$1$1$AA==$AA==",
                   "scrypt$16384$8$1$!!$AA=="):
        assert not verify_password("anything", stored)


def test_short_password_is_refused():
    """Fewer than 8 characters: InputError."""
    with pytest.raises(InputError, match="at least 8"):
        hash_password("short")


def test_password_file_is_root_only(tmp_path):
    """The file is 0600 and no file means no login at all."""
    path = tmp_path / "web.passwd"
    assert not check_password_file(path, "anything-at-all")
    write_password_file(path, "s3cret-pass")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert check_password_file(path, "s3cret-pass")
    assert not check_password_file(path, "wrong-pass")


def test_sessions_expire_when_idle_and_are_random():
    """A session lives while used; idle past the timeout it is gone."""
    store = SessionStore(idle_timeout=100)
    s = store.create(now=1000)
    other = store.create(now=1000)
    assert s.id != other.id and s.csrf != other.csrf and len(s.id) >= 40
    assert store.get(s.id, now=1090) is s
    assert store.get(s.id, now=1180) is s  # used at 1090: still alive
    assert store.get(s.id, now=1300) is None
    assert store.get(None) is None and store.get("forged") is None


def test_csrf_token_must_match_the_session():
    """Only the session's own token passes."""
    store = SessionStore()
    s, t = store.create(), store.create()
    assert csrf_ok(s, s.csrf)
    assert not csrf_ok(s, t.csrf) and not csrf_ok(s, None) and not csrf_ok(s, "")


def test_same_origin_accepts_only_this_https_host():
    """Origin (or Referer) must be https://<Host>; none, null or another site is refused."""
    host = "10.77.1.1:8443"
    assert same_origin({"origin": "https://10.77.1.1:8443"}, host)
    assert same_origin({"referer": "https://10.77.1.1:8443/x?y"}, host)
    assert not same_origin({}, host)
    assert not same_origin({"origin": "null"}, host)
    assert not same_origin({"origin": "http://10.77.1.1:8443"}, host)
    assert not same_origin({"origin": "https://evil.example"}, host)
    assert not same_origin({"origin": "https://evil.example",
                            "referer": "https://10.77.1.1:8443/"}, host)
    assert not same_origin({"origin": "https://10.77.1.1:8443"}, None)


def test_cookie_flags_and_parsing():
    """The cookie is HttpOnly, Secure, SameSite=Strict; the id is read back from Cookie."""
    s = SessionStore().create()
    value = cookie_header(s)
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert flag in value
    assert session_id_from(f"a=b; hacore_session={s.id}; c=d") == s.id
    assert session_id_from("a=b") is None and session_id_from(None) is None
    assert "Max-Age=0" in cookie_header(None)


def test_failed_logins_slow_down_further_logins():
    """After FAILED_LOGINS failures within a minute every login waits; later it does not."""
    store = SessionStore()
    for _ in range(FAILED_LOGINS):
        assert store.login_delay(now=100) == 0
        store.failed_login(now=100)
    assert store.login_delay(now=101) > 0
    assert store.login_delay(now=300) == 0


def test_certificate_is_made_once_with_a_root_only_key(tmp_path):
    """First start makes a self-signed pair (key 0600) naming the node and its address;
    the second start keeps it."""
    from cryptography import x509

    cert, key = tmp_path / "web.crt", tmp_path / "web.key"
    assert ensure_certificate(cert, key, "n1", ["n1", "10.77.1.1"])
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    parsed = x509.load_pem_x509_certificate(cert.read_bytes())
    assert parsed.issuer == parsed.subject
    san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["10.77.1.1"]
    assert san.get_values_for_type(x509.DNSName) == ["n1"]
    before = cert.read_bytes()
    assert not ensure_certificate(cert, key, "n1", ["n1"])
    assert cert.read_bytes() == before


def test_half_a_supplied_pair_is_an_error(tmp_path):
    """A certificate without its key (or the reverse) is refused with both paths named."""
    cert, key = tmp_path / "web.crt", tmp_path / "web.key"
    cert.write_text("x")
    with pytest.raises(InputError, match="web.key"):
        ensure_certificate(cert, key, "n1", ["n1"])


def test_alive_does_not_count_as_use():
    """An open event stream checking its session does not keep it from expiring."""
    store = SessionStore(idle_timeout=100)
    s = store.create(now=1000)
    assert store.alive(s.id, now=1050) and store.alive(s.id, now=1099)
    assert not store.alive(s.id, now=1101)
