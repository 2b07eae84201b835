"""A bounded schemathesis run against the OpenAPI schema: no input may produce a 5xx.

The explain operation is left out: without an LLM provider its documented answer is 503.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")  # a dev tool; the lead pins it (see report)

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from realtime.main import create_app  # noqa: E402
from tests.realtime.conftest import ADMIN_KEY, settings_for  # noqa: E402


@pytest.fixture(scope="module")
def live_app(rt_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    for name in ("lake", "mlflow.db", "mlruns"):
        if (rt_dir / name).exists():
            (d / name).symlink_to(rt_dir / name)
    app = create_app(settings_for(d, rate_limit_per_s=10_000.0, rate_limit_burst=10_000))
    with TestClient(app) as client:
        yield app, client


def test_no_input_causes_a_server_error(live_app):
    app, client = live_app
    schema = schemathesis.openapi.from_dict(app.openapi())
    ops = [op for op in schema.get_all_operations() if "explain" not in op.ok().path]
    assert len(ops) >= 10
    for result in ops:
        _fuzz(client, result.ok())


def _fuzz(client, op) -> None:
    @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def run(case):
        body = case.body if isinstance(case.body, (dict, list, str, int, float, bool)) else None
        response = client.request(
            case.method,
            case.formatted_path,
            headers={"X-API-Key": ADMIN_KEY},
            params=case.query or None,
            json=body,
        )
        assert response.status_code < 500, (
            f"{op.method.upper()} {op.path}: {response.status_code} {response.text}"
        )

    run()
