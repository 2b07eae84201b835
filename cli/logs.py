"""What the command line prints besides its results: warnings and errors only, one line per
failure; with -v every step at INFO, library warnings and the traceback of a failure."""

from __future__ import annotations

import logging
import warnings

# Libraries that log set-up chatter (database migrations, preview APIs) at INFO or WARNING.
CHATTY = ("mlflow", "alembic", "dagster", "py.warnings", "urllib3", "httpx", "orchestration.backfill")


def configure(verbose: bool) -> None:
    """Log at INFO with -v; otherwise warnings only, and the libraries' chatter not at all."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    level = logging.INFO if verbose else logging.WARNING
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:  # records of a more talkative logger (progress feeds) stop here
        handler.setLevel(level)
    logging.captureWarnings(True)  # Python warnings become log records of "py.warnings"
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.ERROR)
    if not verbose:
        warnings.simplefilter("ignore")


def verbose() -> bool:
    """Whether -v was given (the root logger logs INFO)."""
    return logging.getLogger().isEnabledFor(logging.INFO)


def dagster_console() -> dict[str, object]:
    """Run config for Dagster's console logger: step logs with -v, nothing but the CLI's line without."""
    level = "INFO" if verbose() else "CRITICAL"
    return {"loggers": {"console": {"config": {"log_level": level}}}}
