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
