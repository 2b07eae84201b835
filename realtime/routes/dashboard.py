"""The live dashboard (a static page over the REST and WebSocket API) and /docs with local assets.

Both are static files: the dashboard's data comes from the API with the key the user enters,
and Swagger UI's script and CSS come from the ``swagger-ui-bundle-v2`` package (Swagger UI 5,
which reads OpenAPI 3.1) instead of a CDN, so both work on a closed network. Neither page holds
data, so neither needs a key to load; the schema itself (``/openapi.json``) is only for users with
a key unless ``REALTIME_DOCS_PUBLIC`` is set.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from realtime.deps import current_principal

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"


def _swagger_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(swagger_ui_path)


# Swagger UI fetches the schema itself: it sends the key the dashboard keeps in this tab's
# sessionStorage, so a private /openapi.json still loads for a signed-in user.
_DOCS_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="docs-assets/swagger-ui.css">
<link rel="icon" href="docs-assets/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="docs-assets/swagger-ui-bundle.js"></script>
<script>
const key = sessionStorage.getItem("alphaforge.apiKey");
SwaggerUIBundle({{
  url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  requestInterceptor: (req) => {{ if (key) req.headers["X-API-Key"] = key; return req; }},
}});
if (!key && !{public}) document.body.insertAdjacentHTML("afterbegin",
  "<p style='font:14px sans-serif;padding:8px'>Sign in on the <a href='dashboard/'>dashboard</a> " +
  "first: the API schema is only shown to users with a key.</p>");
</script></body></html>"""


def install(app: FastAPI, docs_public: bool = False) -> None:
    """Mount ``/dashboard/`` and ``/docs`` (Swagger UI from ``/docs-assets``); ``/`` redirects to
    the dashboard; ``/openapi.json`` answers users with a key unless ``docs_public``. Call with
    ``FastAPI(docs_url=None, redoc_url=None, openapi_url=None)``."""
    app.mount("/dashboard", StaticFiles(directory=DASHBOARD_DIR, html=True), name="dashboard")
    app.mount("/docs-assets", StaticFiles(directory=_swagger_dir()), name="docs-assets")

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse("dashboard/")

    @app.get("/docs", include_in_schema=False)
    def _docs() -> HTMLResponse:
        title = f"{app.title} - API docs"
        return HTMLResponse(_DOCS_HTML.format(title=title, public=str(docs_public).lower()))

    @app.get("/openapi.json", include_in_schema=False)
    async def _schema(request: Request) -> JSONResponse:
        if not docs_public:
            await current_principal(request)  # 401 without a valid key or token
        return JSONResponse(app.openapi())
