"""MLflow reachability: fail fast and clearly instead of retrying for minutes."""

from __future__ import annotations

import httpx

from ml.errors import TrackingUnavailableError


def ensure_tracking_reachable(uri: str, timeout: float = 5.0) -> None:
    """Raise TrackingUnavailableError when an HTTP tracking server does not answer /health.

    File and database URIs are local and need no check.
    """
    if not uri.startswith(("http://", "https://")):
        return
    try:
        httpx.get(uri.rstrip("/") + "/health", timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        raise TrackingUnavailableError(f"MLflow tracking server {uri} is unreachable: {exc}") from exc
