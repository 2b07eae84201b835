"""The OpenAPI schema: the security schemes the dependencies enforce, and every error answer.

FastAPI documents only the success answer and its own 422 (which also covers malformed JSON).
The service also answers 400 (a body that is not text), 401/403/429 (auth, roles and rate
limits, enforced in ``realtime.deps``), 413 (``realtime.access.body_limit``) and the domain errors of
``realtime.errors``, all as ``{"detail": str}``. They are declared here so that schema-driven
clients and the schemathesis run (tests/realtime/test_schemathesis.py) can rely on them.
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi

from realtime.schemas import ErrorOut, ReadyOut

SCHEMES = {
    "APIKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "HTTPBearer": {"type": "http", "scheme": "bearer"},
}
PUBLIC = ("/health", "/ready", "/metrics", "/api/v1/auth/token")
ERROR = {"$ref": "#/components/schemas/ErrorOut"}
READY = {"$ref": "#/components/schemas/ReadyOut"}
# The operation-specific answers from realtime.errors (and the routes' own HTTPExceptions).
DOMAIN: dict[tuple[str, str], dict[str, str]] = {
    ("get", "/api/v1/signals/{symbol}"): {"404": "symbol not served", "503": "warming up, or no model"},
    ("get", "/api/v1/signals/{symbol}/history"): {"404": "symbol not served"},
    ("post", "/api/v1/signals/{symbol}/explain"): {
        "404": "symbol not served",
        "503": "no LLM provider, or no signal yet",
    },
    ("get", "/api/v1/orders/{order_id}"): {"404": "no such order"},
    ("delete", "/api/v1/orders/{order_id}"): {
        "404": "no such order",
        "409": "the order is not working",
        "503": "broker unavailable",
    },
    ("post", "/api/v1/positions/{position_id}/close"): {
        "403": "risk limit",
        "404": "no such open position",
        "423": "kill switch engaged",
        "503": "broker unavailable; the order is recorded as failed",
    },
    ("get", "/api/v1/account"): {"503": "broker unavailable"},
    ("post", "/api/v1/auth/token"): {"401": "wrong username or password", "503": "JWT sessions disabled"},
}
RETRY_AFTER = {
    "Retry-After": {"description": "seconds to wait", "required": True, "schema": {"type": "integer"}}
}


def required_role(dependant: Dependant) -> str | None:
    """The role a ``realtime.deps.require_role`` dependency of this route demands, if any.

    Read from the dependency itself (the ``role`` its closure holds) rather than from a table
    here, so the documented 403s follow the routes' own ``TraderDep``/``AdminDep``.
    """
    for dep in dependant.dependencies:
        if dep.call is not None:
            role = inspect.getclosurevars(dep.call).nonlocals.get("role")
            if isinstance(role, str):
                return role
        if (role := required_role(dep)) is not None:
            return role
    return None


def _answer(op: dict[str, Any], code: str, description: str) -> None:
    """Declare ``code`` on ``op`` with an ``ErrorOut`` body, keeping a route's own description."""
    resp = op["responses"].setdefault(code, {"description": description})
    resp.setdefault("content", {"application/json": {"schema": ERROR}})


def declare_errors(schema: dict[str, Any], roles: dict[tuple[str, str], str | None]) -> None:
    """Add the error answers (see the module docstring) to every operation of ``schema``."""
    components = schema.setdefault("components", {})
    components["securitySchemes"] = SCHEMES
    components.setdefault("schemas", {}).update(
        ErrorOut=ErrorOut.model_json_schema(), ReadyOut=ReadyOut.model_json_schema()
    )
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            if not path.startswith(PUBLIC):
                op["security"] = [{"APIKeyHeader": []}, {"HTTPBearer": []}]
                _answer(op, "401", "missing or invalid API key or token")
                _answer(op, "429", "rate limit of this key exceeded")
                op["responses"]["429"]["headers"] = RETRY_AFTER
                if roles.get((method, path)) not in (None, "viewer"):
                    _answer(op, "403", f"this needs the {roles[(method, path)]} role")
            if "requestBody" in op:
                _answer(op, "400", "the body could not be decoded")
                _answer(op, "413", "request body too large")
            if "422" in op["responses"] or "requestBody" in op:
                # FastAPI's validation errors list their locations; the service's own say why.
                content = op["responses"].setdefault("422", {"description": "invalid request"})
                content["content"] = {
                    "application/json": {
                        "schema": {"anyOf": [{"$ref": "#/components/schemas/HTTPValidationError"}, ERROR]}
                    }
                }
            for code, why in DOMAIN.get((method, path), {}).items():
                _answer(op, code, why)
            for code, resp in op["responses"].items():
                if code.isdigit() and int(code) >= 400 and code != "422":
                    resp.setdefault("content", {"application/json": {"schema": ERROR}})
    if "/ready" in schema.get("paths", {}):
        responses = schema["paths"]["/ready"]["get"]["responses"]
        responses["200"]["content"] = {"application/json": {"schema": READY}}
        responses["503"] = {"description": "not ready", "content": {"application/json": {"schema": READY}}}


def install(app: FastAPI) -> None:
    """Serve the schema above as ``app.openapi()`` (auth itself lives in ``realtime.deps``)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            # iter_route_contexts resolves FastAPI's lazily included routers to full paths.
            roles = {
                (method.lower(), str(ctx.path_format)): required_role(ctx.original_route.dependant)
                for ctx in routing.iter_route_contexts(app.routes)
                if isinstance(ctx.original_route, routing.APIRoute)
                for method in ctx.methods or ()
            }
            declare_errors(schema, roles)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
