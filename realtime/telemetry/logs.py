"""Structured logs: one JSON object per line, secrets masked before anything is written.

``configure_logging`` (called in the app's lifespan) puts one JSON handler on the root logger
and routes uvicorn's loggers, its access log included, through it. The handler's
``SecretMasker`` filter rewrites each record: the configured secrets, ``api_key=``/``token=``
query values (uvicorn's access log prints the query string, and WebSocket clients may pass
their key there), ``X-API-Key``/``Authorization`` header values, bearer tokens, JWTs, issued
``af_`` keys and URL passwords all become ``***``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any, TextIO

MASK = "***"
_MARK = "_alphaforge_json"
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}
_RULES: list[tuple[re.Pattern[str], str]] = [
    # key=value, key: value, "key": "value" for secret-bearing names (query strings, headers, JSON)
    (
        re.compile(
            r"(?i)\b((?:x-)?api[_-]?key|(?:access_|refresh_)?token|password|passwd|client_secret|jwt_secret)"
            r"([\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;}\]]+)"
        ),
        rf"\1\2{MASK}",
    ),
    # Authorization: <scheme> <credentials>, scheme kept
    (
        re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token|digest)\s+)?)"
                   r"([^\s\"',;}]+)"),
        rf"\1{MASK}",
    ),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\1{MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),  # a JWT anywhere
    (re.compile(r"\b(af_[0-9a-f]{12}_)[A-Za-z0-9_-]+"), rf"\1{MASK}"),  # keys issued by the ledger
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]+:)[^@\s/]+(@)"), rf"\1{MASK}\2"),  # URL passwords
]


def mask(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secret values and anything shaped like a credential masked."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text


class SecretMasker(logging.Filter):
    """Masks secrets in a record's message, ``extra`` strings, exception and stack text.

    The message is rendered here (``args`` merged in) so a secret passed as an argument is
    masked too; the record leaves with its final text in ``msg`` and no ``args``.
    """

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drops it."""
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _version, status = record.args
            record.client, record.method, record.path, record.status = client, method, path, status
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log what there is rather than nothing
            message = f"{record.msg} {record.args}"
        record.msg, record.args = mask(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = mask(record.stack_info, self.secrets)
        for key, value in list(vars(record).items()):
            if key not in _STD_ATTRS and isinstance(value, str):
                setattr(record, key, mask(value, self.secrets))
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", ...extra fields, "exc_info"?}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON object."""
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and key not in out:
                out[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc_info"] = record.exc_text
        if record.stack_info:
            out["stack_info"] = record.stack_info
        return json.dumps(out, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (as logging's own last resort does), so
    a handler installed once keeps working when stderr is swapped (test capture, daemons)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def configure_logging(level: str | int = "INFO", secrets: Iterable[str] = ()) -> logging.Handler:
    """One JSON, secret-masking handler on the root logger; uvicorn's loggers routed to it.

    Idempotent: a handler installed by an earlier call (another app in the same process) is
    replaced. uvicorn's access logger is rerouted only when it has handlers: with
    ``--no-access-log`` it has none, and giving it a path to root would turn it back on.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _MARK, False):
            root.removeHandler(h)
    handler = _StderrHandler()
    setattr(handler, _MARK, True)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(SecretMasker(secrets))
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.access"):
        logger = logging.getLogger(name)
        if logger.handlers:
            for h in list(logger.handlers):
                logger.removeHandler(h)
            logger.propagate = True
    return handler
