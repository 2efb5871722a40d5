"""Shared click pieces: ``--param K=V`` parsing."""

from __future__ import annotations

import click

from hacore.errors import InputError


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("a=1", "b=x=y")`` -> ``{"a": "1", "b": "x=y"}``; a pair without '=' is an InputError."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--param {pair!r} is not KEY=VALUE (e.g. --param state=/tmp/x.state)")
        params[key] = value
    return params


param_option = click.option("--param", "-p", "params", multiple=True, metavar="K=V",
                            help="An instance parameter; repeat for several.")
