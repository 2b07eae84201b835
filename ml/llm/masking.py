"""Keep API keys out of logs and error messages.

Keys live in ``SecretStr`` fields; the only place their plain value is read is where the
openai client is built. Everything that turns a provider failure into text goes through
:func:`mask`, and :class:`SecretMaskingFilter` scrubs log records from the loggers that sit on
the request path (our own, openai's, and the HTTP transport's), as a second line of defence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "***"
# Loggers on the request path. A logging.Filter only sees records created by the logger it is
# attached to (not by children), so the filter is attached to each existing child as well.
REQUEST_PATH_LOGGERS = ("ml.llm", "openai", "httpx", "httpx2", "httpcore", "httpcore2")
_MIN_SECRET_LEN = 4  # masking 1-3 character "secrets" would shred ordinary text


def mask(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every occurrence of each secret replaced by ``***``."""
    # Longest first, so a key that contains another key is masked whole.
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}, key=len,
                         reverse=True):
        text = text.replace(secret, MASK)
    return text


class SecretMaskingFilter(logging.Filter):
    """Rewrites a record's message (with its args applied) so that no secret survives."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = {s for s in secrets if s and len(s) >= _MIN_SECRET_LEN}

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix; mask the raw parts
            message = f"{record.msg} {record.args}"
        masked = mask(message, self.secrets)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_text:
            record.exc_text = mask(record.exc_text, self.secrets)
        return True


_SHARED_FILTER = SecretMaskingFilter(())


def install_masking_filter(secrets: Iterable[str]) -> SecretMaskingFilter:
    """Add ``secrets`` to the one shared masking filter and attach it to the request-path
    loggers and their existing children (idempotent: a logger gets the filter once)."""
    _SHARED_FILTER.secrets.update(s for s in secrets if s and len(s) >= _MIN_SECRET_LEN)
    names = set(REQUEST_PATH_LOGGERS)
    names.update(
        name for name in logging.root.manager.loggerDict
        if any(name.startswith(prefix + ".") for prefix in REQUEST_PATH_LOGGERS)
    )
    for name in sorted(names):
        logger = logging.getLogger(name)
        if _SHARED_FILTER not in logger.filters:
            logger.addFilter(_SHARED_FILTER)
    return _SHARED_FILTER
