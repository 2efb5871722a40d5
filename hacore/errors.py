"""The one family of errors library code raises; the CLI renders them as one line."""


class HacoreError(Exception):
    """A handled error: the message names the thing and says what to do next.

    ``exit_code`` is what the CLI exits with: 2 for usage or input errors, 1 for an
    operation that failed.
    """

    exit_code = 1


class InputError(HacoreError):
    """Bad input from a user: a file, a parameter, a name. Exit code 2."""

    exit_code = 2


class AgentNotFound(InputError):
    """No installed agent answers to a name."""


class PluginError(HacoreError):
    """A plugin (agent or fence device distribution) is broken and was refused."""


class OperationFailed(HacoreError):
    """An operation ran and did not succeed."""
