"""Model reloads: when the alias moves, load the new version; on failure keep serving the old."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from realtime.errors import ModelUnavailableError
from realtime.model import LoadedModel, load_by_alias
from realtime.signals import SignalEngine

log = logging.getLogger(__name__)


class ModelReloader:
    """Checks ``models:/name@alias`` and swaps the engine's model when the version changes."""

    def __init__(
        self,
        engine: SignalEngine,
        tracking_uri: str,
        name: str,
        alias: str,
        on_swap: Callable[[LoadedModel], None] | None = None,
    ):
        self.engine, self.tracking_uri, self.name, self.alias = engine, tracking_uri, name, alias
        self.on_swap = on_swap or (lambda m: None)
        self.last_error: str | None = None

    def alias_version(self) -> str:
        """The version the alias points at now (one cheap registry call)."""
        try:
            mv = MlflowClient(tracking_uri=self.tracking_uri).get_model_version_by_alias(
                self.name, self.alias
            )
        except MlflowException as exc:
            raise ModelUnavailableError(f"alias {self.name}@{self.alias} unreadable: {exc.message}") from exc
        return str(mv.version)

    def reload(self, force: bool = False) -> dict[str, object]:
        """Reload if the alias moved (or ``force``); the old model stays on any failure."""
        old = self.engine.loaded.version
        try:
            if not force and self.alias_version() == old:
                return {"reloaded": False, "version": old, "error": None}
            new = load_by_alias(self.tracking_uri, self.name, self.alias)
            missing = set(new.model.columns) - set(self._feature_names())
            if missing:
                raise ModelUnavailableError(
                    f"model v{new.version} needs features this service does not compute: {sorted(missing)}"
                )
        except ModelUnavailableError as exc:
            self.last_error = str(exc)
            log.error("model reload failed, still serving v%s: %s", old, exc)
            return {"reloaded": False, "version": old, "error": str(exc)}
        self.engine.set_model(new)
        self.last_error = None
        self.on_swap(new)
        log.info("model reloaded: v%s -> v%s", old, new.version)
        return {"reloaded": True, "version": new.version, "error": None}

    def _feature_names(self) -> list[str]:
        return self.engine.feature_columns()

    async def poll(self, every_s: float) -> None:
        """Check the alias every ``every_s`` seconds until cancelled."""
        while True:
            await asyncio.sleep(every_s)
            await asyncio.to_thread(self.reload)
