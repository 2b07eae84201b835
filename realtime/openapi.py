"""The OpenAPI schema, with the API-key and bearer-token schemes the dependencies enforce."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

SCHEMES = {
    "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "HTTPBearer": {"type": "http", "scheme": "bearer"},
}
PUBLIC = ("/health", "/ready", "/metrics", "/api/v1/auth/token")


def install(app: FastAPI) -> None:
    """Document the security schemes on every protected operation (auth itself lives in deps)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = SCHEMES
            for path, ops in schema.get("paths", {}).items():
                if path.startswith(PUBLIC):
                    continue
                for op in ops.values():
                    op["security"] = [{"APIKeyHeader": []}, {"HTTPBearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
