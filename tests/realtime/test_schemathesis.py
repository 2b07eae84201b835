"""Schemathesis against the OpenAPI schema: every answer must be one the schema declares.

Each operation gets schema-valid and schema-violating cases (wrong types, missing fields,
undecodable bodies), sent by an admin and by a viewer, and each response goes through
schemathesis' own checks: no 5xx, a declared status code, content type, body schema and headers,
and rejection of invalid data. The viewer must get 403 from every trader/admin operation and
nothing there may change state. Generation is derandomized, so a run is reproducible.

The explain operation is left out: without an LLM provider its documented answer is 503.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi import checks as oas

from realtime.main import create_app
from tests.realtime.conftest import ADMIN_KEY, make_user, settings_for

CHECKS = [
    not_a_server_error,
    oas.status_code_conformance,
    oas.content_type_conformance,
    oas.response_schema_conformance,
    oas.response_headers_conformance,
    oas.negative_data_rejection,
]
# Per operation, per mode, per role: about 60-90 s for the whole module on two cores.
EXAMPLES = 100
# The role each operation needs above viewer: the contract, written out independently of the schema.
RESTRICTED = {
    ("POST", "/api/v1/orders"): "trader",
    ("DELETE", "/api/v1/orders/{order_id}"): "trader",
    ("POST", "/api/v1/positions/{position_id}/close"): "trader",
    ("POST", "/admin/reload"): "admin",
    ("POST", "/admin/users"): "admin",
    ("POST", "/admin/kill"): "admin",
    ("POST", "/admin/resume"): "admin",
}
UNPARSABLE = "There was an error parsing the body"  # FastAPI's answer to undecodable bytes


@pytest.fixture(scope="module")
def live_app(
    rt_dir, tmp_path_factory
) -> Iterator[tuple[TestClient, dict[str, str], schemathesis.BaseSchema]]:
    """One app for the module, with a working order and an open position for the ids to hit."""
    d = tmp_path_factory.mktemp("fuzz")
    for name in ("lake", "mlflow.db", "mlruns"):
        if (rt_dir / name).exists():
            (d / name).symlink_to(rt_dir / name)
    app = create_app(settings_for(d, rate_limit_per_s=10_000.0, rate_limit_burst=10_000))
    with TestClient(app) as client:
        keys = {"admin": ADMIN_KEY, "viewer": make_user(client, "fuzz-viewer", "viewer")["X-API-Key"]}
        admin = {"X-API-Key": ADMIN_KEY}
        for body in (
            {"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": "seed-market"},
            {
                "symbol": "EURUSD",
                "side": "buy",
                "type": "limit",
                "price": 0.5,
                "volume": 0.1,
                "client_order_id": "seed-limit",
            },
        ):
            assert client.post("/api/v1/orders", json=body, headers=admin).status_code == 201
        # from_dict normalises the dict in place; the app keeps serving its own copy.
        yield client, keys, schemathesis.openapi.from_dict(copy.deepcopy(app.openapi()))


def _operations(schema: schemathesis.BaseSchema) -> list[Any]:
    ops = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # an operation schemathesis cannot read
        if not result.ok().path.endswith("/explain"):
            ops.append(result.ok())
    assert len(ops) >= 15, [op.label for op in ops]
    return ops


def _has_body(op: Any) -> bool:
    return "requestBody" in op.definition.raw


def _has_input(op: Any) -> bool:
    return _has_body(op) or bool(op.definition.raw.get("parameters"))


def _send(client: TestClient, case: Any) -> tuple[Any, dict[str, Any]]:
    """Send a case through the app's TestClient (httpx) the way schemathesis would send it."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    if "data" in kwargs:  # requests' raw body is httpx's content
        kwargs["content"] = kwargs.pop("data")
    return client.request(**kwargs), kwargs


def _fuzz(
    client: TestClient, op: Any, key: str, mode: GenerationMode, extra: Callable[..., None]
) -> str | None:
    """Run one operation in one mode; return a failure report, or None."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode, headers={"X-API-Key": key}))
    def run(case: Any) -> None:
        response, kwargs = _send(client, case)
        case.validate_response(response, checks=CHECKS, headers=kwargs["headers"])
        extra(case, response)

    try:
        run()
    except Unsatisfiable:
        # /health and /ready take no input, so there is nothing to make invalid.
        assert mode is GenerationMode.NEGATIVE and not _has_input(op), op.label
    except BaseException as exc:  # schemathesis raises an ExceptionGroup of its failures
        if isinstance(exc, KeyboardInterrupt):
            raise
        return f"{op.label} [{mode.value}]: {exc}"
    return None


def _no_check(case: Any, response: Any) -> None:
    pass


def _unreadable(response: Any) -> bool:
    """True for FastAPI's answers to a body it cannot decode (400) or parse as JSON (422)."""
    detail = response.json().get("detail")
    if response.status_code == 400:
        return bool(detail == UNPARSABLE)
    return (
        response.status_code == 422
        and isinstance(detail, list)
        and all(e.get("type") == "json_invalid" for e in detail)
    )


def _viewer_is_refused(case: Any, response: Any) -> None:
    """A viewer gets 403 from every trader/admin operation (400 only when the body is not JSON)."""
    role = RESTRICTED.get((case.method.upper(), case.operation.path))
    if role is None:
        return
    if _unreadable(response):  # FastAPI reads the body before it solves the role dependency
        return
    assert response.status_code == 403, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    )
    assert response.json()["detail"] == f"this needs the {role} role; you are viewer"


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_every_answer_conforms_to_the_schema(live_app, role):
    client, keys, schema = live_app
    before = client.get("/api/v1/orders", headers={"X-API-Key": ADMIN_KEY}).json()
    extra = _viewer_is_refused if role == "viewer" else _no_check
    failures = [
        report
        for op in _operations(schema)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (report := _fuzz(client, op, keys[role], mode, extra)) is not None
    ]
    assert not failures, "\n\n".join(failures)
    if role == "viewer":  # refused means refused: the viewer's run placed and cancelled nothing
        assert client.get("/api/v1/orders", headers={"X-API-Key": ADMIN_KEY}).json() == before


def test_the_schema_declares_roles_and_errors(live_app):
    """The declarations the fuzzing relies on, read straight from the schema."""
    _, _, schema = live_app
    raw = schema.raw_schema
    for (method, path), role in RESTRICTED.items():
        declared = raw["paths"][path][method.lower()]["responses"]
        assert "403" in declared, (method, path)
        assert declared["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"
        }
        if path.startswith("/admin"):
            assert declared["403"]["description"] == f"this needs the {role} role"
    orders = raw["paths"]["/api/v1/orders"]["post"]["responses"]
    assert {"400", "401", "403", "413", "422", "423", "429", "503"} <= set(orders)
    assert orders["429"]["headers"]["Retry-After"]["required"] is True
    assert "403" not in raw["paths"]["/api/v1/positions"]["get"]["responses"]  # viewers may read


PATH_VALUES: dict[str, object] = {"order_id": 1, "position_id": 1, "name": "nobody"}


@pytest.mark.parametrize(
    "body",
    [b'{"symbol": "EURUSD", "side": ', b"\xff\xfe", b"[1, 2", b'{"volume": "0.1"'],
    ids=["truncated", "not-utf8", "open-array", "unclosed"],
)
def test_malformed_json_is_a_declared_4xx(live_app, body):
    client, keys, schema = live_app
    for op in _operations(schema):
        if not _has_body(op):
            continue
        case = op.Case(
            path_parameters={k: v for k, v in PATH_VALUES.items() if "{" + k + "}" in op.path}
            if op.path_parameters
            else None,
            headers={"X-API-Key": keys["admin"]},
            media_type="application/json",
            body={},
        )
        headers = {"X-API-Key": keys["admin"], "Content-Type": "application/json"}
        response = client.request(op.method.upper(), case.formatted_path, content=body, headers=headers)
        assert _unreadable(response), (op.label, response.status_code, response.text)
        case.validate_response(response, checks=CHECKS[:4], headers=headers)


def test_oversized_and_wrongly_typed_bodies_are_declared_4xx(live_app):
    client, keys, schema = live_app
    headers = {"X-API-Key": keys["admin"], "Content-Type": "application/json"}
    orders = schema["/api/v1/orders"]["POST"]
    big = json.dumps({"symbol": "EURUSD", "side": "buy", "volume": 0.1, "client_order_id": "x" * 20_000})
    wrong = {"symbol": 5, "side": "up", "volume": "lots", "client_order_id": None}
    for content, code in ((big.encode(), 413), (json.dumps(wrong).encode(), 422)):
        response = client.post("/api/v1/orders", content=content, headers=headers)
        assert response.status_code == code, response.text
        orders.Case(body=wrong, media_type="application/json").validate_response(
            response, checks=CHECKS[:4], headers=headers
        )
