"""Running the pipeline's Dagster jobs from the command line, in process, on the instance under the
data dir (so `make dev` shows every run), with the caller's settings instead of the environment."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration import settings
from orchestration.settings import BatchSettings

log = logging.getLogger(__name__)

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def dagster_home() -> Path:
    """$DAGSTER_HOME, else <data dir>/dagster_home (created), as `make dev` uses it."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir() / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    return home


def instance() -> dg.DagsterInstance:
    """The Dagster instance at :func:`dagster_home`."""
    return dg.DagsterInstance.from_config(str(dagster_home()))


def definitions(batch: BatchSettings | None = None) -> dg.Definitions:
    """The pipeline's Definitions for ``batch`` (default: the environment's settings)."""
    from orchestration.definitions import build_defs

    return build_defs(batch)


def batch_settings(symbols: list[str] | None = None, start: str | None = None,
                   source: str | None = None) -> BatchSettings:
    """The environment's settings with the command line's symbols, first day and source.

    The daily partitions start at the earlier of the environment's first day and ``start``.
    """
    env = BatchSettings.from_env()
    first = min(env.partition_start, start) if start else env.partition_start
    return BatchSettings(tuple(symbols) if symbols else env.symbols, first, source or env.source)


def report_failure(result: object, what: str) -> int:
    """Print the failing step's own message, not a traceback."""
    for event in result.all_events:  # type: ignore[attr-defined]
        if event.is_step_failure:
            err = event.step_failure_data.error
            cause = err.cause or err
            print(f"{what} failed in {event.step_key}: {cause.message.strip()}", file=sys.stderr)
            return 1
    print(f"{what} failed", file=sys.stderr)
    return 1


def run_job(defs: dg.Definitions, name: str, run_config: dict[str, Any]) -> Any:
    """Execute job ``name`` in process; on failure print the failing step's message."""
    result = defs.resolve_job_def(name).execute_in_process(
        instance=instance(), run_config={**QUIET, **run_config}, raise_on_error=False)
    if not result.success:
        report_failure(result, name)
    return result
