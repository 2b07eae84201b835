"""The live dashboard (a static page over the REST and WebSocket API) and /docs with local assets.

Both are static files: the dashboard's data comes from the API with the key the user enters,
and Swagger UI's script and CSS come from the ``swagger-ui-bundle-v2`` package (Swagger UI 5,
which reads OpenAPI 3.1) instead of a CDN, so both work on a closed network. Neither page holds
data, so neither needs a key to load.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"


def _swagger_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(swagger_ui_path)


def install(app: FastAPI) -> None:
    """Mount ``/dashboard/`` and ``/docs`` (Swagger UI from ``/docs-assets``); ``/`` redirects to
    the dashboard. Call with ``FastAPI(docs_url=None, redoc_url=None)``."""
    app.mount("/dashboard", StaticFiles(directory=DASHBOARD_DIR, html=True), name="dashboard")
    app.mount("/docs-assets", StaticFiles(directory=_swagger_dir()), name="docs-assets")

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("dashboard/")

    @app.get("/docs", include_in_schema=False)
    def _docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - API docs",
            swagger_js_url="docs-assets/swagger-ui-bundle.js", swagger_css_url="docs-assets/swagger-ui.css",
            swagger_favicon_url="docs-assets/favicon-32x32.png")
