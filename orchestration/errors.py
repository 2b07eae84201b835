"""Errors raised by the orchestration layer: configuration problems found at load time."""

from __future__ import annotations


class OrchestrationError(Exception):
    """Base class for errors raised by ``orchestration``."""


class ConfigurationError(OrchestrationError):
    """A setting is missing or malformed; the message names the environment variable."""

    def __init__(self, setting: str, problem: str, hint: str = "") -> None:
        self.setting = setting
        message = f"{setting}: {problem}"
        super().__init__(f"{message}. {hint}".rstrip(". ") + ("." if hint else ""))


class InputError(OrchestrationError):
    """A command-line value the user can fix; the CLI shows the message on one line.

    ``exit_code`` is the status the ``alphaforge`` command exits with.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        self.exit_code = exit_code
        super().__init__(message)
