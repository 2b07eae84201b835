"""The CLI's errors: each becomes one line on stderr, ``alphaforge COMMAND: error: ...``."""

from __future__ import annotations


class CLIError(Exception):
    """A command cannot do its work; the message names the cause and, where there is one, the fix.

    ``exit_code`` is the status the ``alphaforge`` command exits with.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        self.exit_code = exit_code
        super().__init__(message)


class InputError(CLIError):
    """A command-line value the user can fix; raised before anything runs."""
