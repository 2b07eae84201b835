"""A Dagster instance in a fresh $DAGSTER_HOME: SQLite by default, or runs and events in PostgreSQL
as deploy/dagster.yaml keeps them in production. For tests and benchmarks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg


def instance_yaml(database_url: str | None = None) -> str:
    """The dagster.yaml of such a home: PostgreSQL storage at ``database_url`` when given."""
    config: dict[str, object] = {"telemetry": {"enabled": False}}
    if database_url is not None:
        config["storage"] = {"postgres": {"postgres_url": database_url}}
    return json.dumps(config)


@contextmanager
def dagster_home(home: Path, database_url: str | None = None) -> Iterator[dg.DagsterInstance]:
    """An instance read from a new ``home`` (created here), disposed on exit."""
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml(database_url))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        yield instance
