"""Shared click pieces: ``--param K=V`` parsing."""

from __future__ import annotations

import click


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("a=1", "b=x=y")`` -> ``{"a": "1", "b": "x=y"}``; a pair without '=' is a usage error."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--param")
        params[key] = value
    return params


param_option = click.option("--param", "-p", "params", multiple=True, metavar="K=V",
                            help="An instance parameter; repeat for several.")
