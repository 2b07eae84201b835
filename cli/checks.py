"""What the CLI checks before it starts a run, so that a missing prerequisite fails in seconds
with one line naming the cause and the fix, instead of deep inside a Dagster step."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cli.errors import CLIError

UNREACHABLE = (
    "the Dukascopy datafeed at {url} could not be reached ({error}): check your connection, or "
    "point ALPHAFORGE_DUKASCOPY_URL at a local mirror of .bi5 files, or run offline on generated "
    "prices with {offline}")


def datafeed_reachable(source: str, symbol: str, day: dt.date, offline: str) -> None:
    """Fetch one hour of ``symbol`` on ``day`` (one try, 5 s); raise :class:`CLIError` (exit 2)
    when the datafeed cannot be reached. ``offline`` is the command to suggest instead."""
    from assets.resources import MarketDataResource
    from marketdata.errors import DatafeedUnavailableError
    from orchestration.resources import build_resources

    market: MarketDataResource = build_resources(source=source)["market"]
    if market.source != "dukascopy":
        return
    client = market.model_copy(update={"retries": 1, "timeout_s": 5.0}).tick_source()
    try:
        client.fetch_hour(symbol, dt.datetime.combine(day, dt.time(12), dt.UTC))  # type: ignore[attr-defined]
    except DatafeedUnavailableError as exc:
        raise CLIError(UNREACHABLE.format(url=market.dukascopy_url, error=exc, offline=offline),
                       exit_code=2) from exc


def _store() -> object:
    """The configured market-data store (the lake, or ClickHouse in production)."""
    from orchestration.resources import build_resources

    return build_resources()["market"].store()


def features_stored(where: str, symbols: list[str]) -> None:
    """Raise :class:`CLIError` when no feature day is stored for any of ``symbols``."""
    store = _store()
    if not any(store.days("features", s) for s in symbols):  # type: ignore[attr-defined]
        raise CLIError(f"no features stored for {','.join(symbols)} under {where}: run alphaforge ingest "
                       "first, e.g. alphaforge ingest --source synthetic --start 2024-03-04 --end 2024-03-08")


def stored_days(symbol: str, start: dt.date | None, end: dt.date | None) -> tuple[Any, list[dt.date]]:
    """The store and the days of ``symbol``'s 1-minute bars from ``start`` to ``end`` (default:
    all); raises :class:`CLIError` when there are none."""
    from orchestration import settings

    store = _store()
    days = [d for d in store.days("bars", symbol)  # type: ignore[attr-defined]
            if (start is None or d >= start) and (end is None or d <= end)]
    if not days:
        span = f" from {start or 'the first day'} to {end or 'the last'}" if start or end else ""
        raise CLIError(f"no 1-minute bars of {symbol} stored{span} under {settings.data_dir() / 'lake'}: "
                       f"run alphaforge ingest --symbols {symbol} --start YYYY-MM-DD --end YYYY-MM-DD first")
    return store, days


def stored_bars(symbol: str, start: dt.date | None, end: dt.date | None) -> int:
    """How many 1-minute bars of ``symbol`` are stored from ``start`` to ``end`` (default: all);
    raises :class:`CLIError` when there are none."""
    store, days = stored_days(symbol, start, end)
    return len(store.read_bars(symbol, days[0], days[-1]))


def version_registered(tracking_uri: str, name: str, version: int) -> None:
    """Raise :class:`CLIError` when ``name`` has no version ``version`` in the registry."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        MlflowClient(tracking_uri=tracking_uri).get_model_version(name, str(version))
    except MlflowException:
        raise CLIError(f"model version {version} of {name} is not registered in {tracking_uri}: "
                       "run alphaforge train first, or pick a version the MLflow UI lists "
                       "(make mlflow)") from None


def model_registered(tracking_uri: str, name: str) -> None:
    """Raise :class:`CLIError` (exit 3) when no version of ``name`` is registered: there is
    nothing to serve, not even signals."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        versions = list(MlflowClient(tracking_uri=tracking_uri).search_model_versions(f"name='{name}'"))
    except MlflowException:
        versions = []
    if not versions:
        raise CLIError(f"no model registered as {name} in {tracking_uri}: run alphaforge train (or "
                       "alphaforge demo) first, or point REALTIME_MLFLOW_TRACKING_URI at the store "
                       "that holds it", exit_code=3)
