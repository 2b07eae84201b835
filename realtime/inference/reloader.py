"""Model reloads: when the alias moves, load the new version; on failure keep serving the old."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from realtime.errors import ModelReloadError, ModelUnavailableError, RealtimeError
from realtime.inference.model import LoadedModel, load_by_alias
from realtime.inference.signals import SignalEngine

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
        self._failed: str | None = None  # the version that last failed to load
        # The poll loop and POST /admin/reload may overlap; one load at a time.
        self._lock = threading.Lock()

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
        """Reload if the alias moved (or ``force``); return what happened.

        On any failure the old model keeps serving, ``last_error`` says why (and /ready shows
        it), and ModelReloadError is raised, which the app answers as a 502 JSON error.
        """
        with self._lock:
            old, at = self.engine.loaded.version, None
            try:
                at = None if force else self.alias_version()
                if at == old and not self.engine.loaded.signals_only:
                    self.last_error = self._failed = None  # the alias is back on the served version
                    return {"reloaded": False, "version": old, "error": None}
                if at is not None and at == self._failed:
                    # Polling does not download a known-broken version again; force does.
                    raise ModelUnavailableError(self.last_error or f"model v{at} failed to load")
                new = load_by_alias(self.tracking_uri, self.name, self.alias)
                missing = set(new.model.columns) - set(self._feature_names())
                if missing:
                    raise ModelUnavailableError(
                        f"model v{new.version} needs features this service does not compute: "
                        f"{sorted(missing)}"
                    )
            except Exception as exc:
                # Anything, not only MLflow's errors: a reload must never take the service down.
                msg = str(exc) if isinstance(exc, RealtimeError) else f"{type(exc).__name__}: {exc}"
                if msg != self.last_error:  # once per failure, not once per poll round
                    log.error("model reload failed, still serving v%s: %s", old, msg)
                self.last_error, self._failed = msg, at
                raise ModelReloadError(msg, serving_version=old) from exc
            self.engine.set_model(new)
            self.last_error = self._failed = None
        try:
            self.on_swap(new)
        except Exception:  # a metrics hook must not undo a good swap
            log.exception("model swap hook failed for v%s", new.version)
        log.info("model reloaded: v%s -> v%s", old, new.version)
        return {"reloaded": True, "version": new.version, "error": None}

    def _feature_names(self) -> list[str]:
        return self.engine.feature_columns()

    async def poll(self, every_s: float) -> None:
        """Check the alias every ``every_s`` seconds until cancelled; failures never end it."""
        while True:
            await asyncio.sleep(every_s)
            try:
                await asyncio.to_thread(self.reload)
            except ModelReloadError:
                pass  # logged and kept in last_error; try again next round
            except Exception:
                log.exception("model poll round failed; polling goes on")
