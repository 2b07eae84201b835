"""What start-up builds is frozen out of the garbage collector's full passes while the app
serves (a full pass over it stalled every request for ~0.24 s under load), and handed back to
the collector at shutdown."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from realtime.main import create_app
from tests.realtime.conftest import settings_for


def test_startup_objects_are_frozen_while_the_app_serves(ledger_dir: Path) -> None:
    app = create_app(settings_for(ledger_dir))
    with TestClient(app) as client:
        assert client.get("/ready").status_code == 200
        frozen = gc.get_freeze_count()
        # the served model, the services and every module imported so far
        assert frozen > len(gc.get_objects()) // 2
        assert not any(o is app.state.svc for o in gc.get_objects())  # frozen: not tracked
    assert gc.get_freeze_count() == 0
    assert any(o is app.state.svc for o in gc.get_objects())  # the collector sees it again
