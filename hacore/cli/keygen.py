"""`hacore keygen`: make the cluster key that authenticates membership traffic."""

from __future__ import annotations

import click

from hacore.cli.render import handled
from hacore.membership.keyfile import DEFAULT_KEY_FILE


@click.command()
@click.option("-o", "--output", default=DEFAULT_KEY_FILE, show_default=True,
              help="Where to write the key (mode 0400, written atomically).")
@click.option("--force", is_flag=True, help="Replace an existing key file.")
@handled
def keygen(output: str, force: bool) -> None:
    """Make the cluster key: 32 random bytes every node needs, in a root-only file.

    Copy the same file to every node (it is the cluster's shared secret). An existing key is
    never replaced unless --force is given.

    Example: hacore keygen -o /etc/hacore/cluster.key
    """
    from hacore.membership.keyfile import new_key, write_key

    write_key(output, new_key(), force=force)
    click.echo(f"wrote {output} (mode 0400); copy it to every node")
