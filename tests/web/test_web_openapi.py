"""docs/openapi.json documents every method of the control API, as the server serves it."""

from __future__ import annotations

import json
from pathlib import Path

from web_support import FakeBackend

from hacore.api.handlers import Api
from hacore.web.server import READ_METHODS

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_every_api_method_is_documented_with_its_http_verb():
    """Each Api method is /api/<method>: GET for the server's reads, POST for the rest."""
    paths = json.loads(DOC.read_text())["paths"]
    for method in Api(FakeBackend()).methods():
        entry = paths.get(f"/api/{method}")
        assert entry is not None, f"/api/{method} is missing from {DOC}"
        verb = "get" if method in READ_METHODS else "post"
        assert set(entry) == {verb}, f"/api/{method} should be {verb.upper()} only"


def test_nothing_documented_that_the_api_lacks():
    """No documented /api/<method> is unknown to Api (the stream aside)."""
    paths = json.loads(DOC.read_text())["paths"]
    methods = set(Api(FakeBackend()).methods()) | {"stream"}
    documented = {p[len("/api/"):] for p in paths if p.startswith("/api/")}
    assert documented <= methods, documented - methods
    assert {"/health", "/login", "/logout"} <= set(paths)


def test_writes_need_csrf_and_reads_do_not():
    """Every POST under /api documents the 403 of a refused write; no GET does."""
    paths = json.loads(DOC.read_text())["paths"]
    for path, entry in paths.items():
        if path.startswith("/api/") and path != "/api/stream":
            (verb, op), = entry.items()
            assert ("403" in op["responses"]) == (verb == "post"), path
