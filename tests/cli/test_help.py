"""Every command has --help with an example, and the top-level help lists every noun."""

import click
import pytest
from click.testing import CliRunner

from hacore.cli.agent_tool import cli as agent_tool
from hacore.cli.main import COMMANDS, cli


def walk(command: click.Command, path: tuple[str, ...]):
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from walk(command.get_command(ctx, name), (*path, name))


def every_command():
    for noun in COMMANDS:
        yield from walk(cli.get_command(click.Context(cli), noun), ("hacore", noun))
    yield from walk(agent_tool, ("hacore-agent",))


@pytest.mark.parametrize("path,command", list(every_command()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_help_has_an_example(path, command):
    """`--help` of every command and subcommand shows an example."""
    root = agent_tool if path[0] == "hacore-agent" else cli
    result = CliRunner().invoke(root, [*path[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"{' '.join(path)} --help has no example"


def test_top_level_help_lists_every_noun():
    """`hacore --help` names every command of COMMANDS."""
    output = CliRunner().invoke(cli, ["--help"]).output
    for noun in COMMANDS:
        assert noun in output
