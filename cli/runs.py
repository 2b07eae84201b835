"""Running the pipeline's Dagster jobs from the command line, in process, on the instance under the
data dir (so `make dev` shows every run), with the caller's settings instead of the environment."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from typing import Any

import dagster as dg

from cli import logs
from cli.errors import CLIError
from orchestration import settings
from orchestration.resources import DBT_EXECUTABLE, DBT_PROJECT_DIR
from orchestration.settings import BatchSettings

log = logging.getLogger(__name__)


def dagster_home() -> Path:
    """$DAGSTER_HOME, else <data dir>/dagster_home (created), as `make dev` uses it."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir() / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    return home


def instance() -> dg.DagsterInstance:
    """The Dagster instance at :func:`dagster_home`."""
    return dg.DagsterInstance.from_config(str(dagster_home()))


def prepare_dbt_manifest() -> None:
    """Write dbt's manifest when it is missing: the dbt assets read it when definitions load."""
    if (DBT_PROJECT_DIR / "target" / "manifest.json").exists():
        return
    log.info("preparing the dbt manifest (dbt parse) in %s", DBT_PROJECT_DIR)
    try:
        proc = subprocess.run([DBT_EXECUTABLE, "parse", "--profiles-dir", ".", "--quiet"],
                              cwd=DBT_PROJECT_DIR, capture_output=True, text=True, timeout=600)
    except OSError as exc:
        raise CLIError(f"cannot run dbt to prepare the analytics models ({exc}): "
                       "install the project with make setup") from None
    if proc.returncode != 0:
        log.error("dbt parse: %s", proc.stdout + proc.stderr)
        raise CLIError("dbt parse failed on the analytics models (see -v for its output): "
                       f"run `cd {DBT_PROJECT_DIR} && dbt parse --profiles-dir .` to see why")


def definitions(batch: BatchSettings | None = None) -> dg.Definitions:
    """The pipeline's Definitions for ``batch`` (default: the environment's settings)."""
    prepare_dbt_manifest()
    from orchestration.definitions import build_defs

    return build_defs(batch)


def batch_settings(symbols: list[str] | None = None, source: str | None = None) -> BatchSettings:
    """The environment's settings with the command line's symbols and source."""
    env = BatchSettings.from_env()
    return BatchSettings(tuple(symbols) if symbols else env.symbols, source or env.source)


def failure_message(result: object, what: str) -> str:
    """The failing step's own message, on one line (its traceback is in the run's log)."""
    for event in result.all_events:  # type: ignore[attr-defined]
        if event.is_step_failure:
            err = event.step_failure_data.error
            cause = err.cause or err
            text = " ".join(cause.message.strip().split())
            return f"{what} failed in {event.step_key}: {text} (make dev shows the run; -v logs it here)"
    return f"{what} failed (make dev shows the run; -v logs it here)"


def run_job(defs: dg.Definitions, name: str, run_config: dict[str, Any]) -> Any:
    """Execute job ``name`` in process; a failed run raises :class:`CLIError` with the step's message."""
    result = defs.resolve_job_def(name).execute_in_process(
        instance=instance(), run_config={**logs.dagster_console(), **run_config}, raise_on_error=False)
    if not result.success:
        raise CLIError(failure_message(result, name))
    return result
