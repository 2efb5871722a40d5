"""Fixtures of the web tests (helpers to import live in web_support.py)."""
