"""`hacore web passwd`: set the web console's password on this node (like ricci passwd)."""

from __future__ import annotations

import sys

import click

from hacore.cli.render import handled
from hacore.web.passwords import DEFAULT_PASSWORD_FILE


@click.group()
def web() -> None:
    """The web console and HTTPS API ([web] in cluster.toml).

    Example: hacore web passwd
    """


@web.command()
@click.option("--file", "path", default=DEFAULT_PASSWORD_FILE, show_default=True,
              help="Where the hash is kept (mode 0600, written atomically); the [web] "
                   "password_file of the configuration.")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the password from the first line of standard input (scripts).")
@handled
def passwd(path: str, from_stdin: bool) -> None:
    """Set the console password of this node, stored as a salted scrypt hash.

    Each node keeps its own password file: set it on every node whose console you use.
    A running console reads the file at each login, so no restart is needed.

    \b
    Example: hacore web passwd            (asks twice)
    Example: echo 's3cret-pass' | hacore web passwd --stdin --file /etc/hacore/web.passwd
    """
    from hacore.errors import InputError
    from hacore.web.passwords import write_password_file

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New console password", hide_input=True,
                                confirmation_prompt="Again", err=True)
    if not password:
        raise InputError("no password given (an empty line on standard input?)")
    write_password_file(path, password)
    click.echo(f"console password set in {path} (scrypt hash, mode 0600)")
