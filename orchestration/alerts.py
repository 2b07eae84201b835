"""Where sensors send what a person must see: JSON lines under the data dir, plus a webhook.

The JSON-lines files (``<data dir>/ops/<stream>.jsonl``) are the record of every run failure and
freshness alert; dbt or a shell can read them. ``ALPHAFORGE_ALERT_WEBHOOK_URL``, when set,
also receives each record as a JSON POST (Slack-style incoming webhooks accept this).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.request
from pathlib import Path
from typing import Any

from orchestration import settings

log = logging.getLogger(__name__)

RUN_FAILURES = "run_failures"
FRESHNESS_ALERTS = "freshness_alerts"


def record(stream: str, payload: dict[str, Any], ops_dir: Path | None = None) -> dict[str, Any]:
    """Append ``payload`` (stamped with ``recorded_at``) to ``<ops_dir>/<stream>.jsonl``."""
    entry = {"recorded_at": dt.datetime.now(dt.UTC).isoformat(), **payload}
    folder = ops_dir or settings.ops_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{stream}.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, default=str) + "\n")
    log.warning("%s: %s", stream, json.dumps(payload, default=str))
    url = settings.alert_webhook_url()
    if url:
        _post(url, {"stream": stream, **entry})
    return entry


def read(stream: str, ops_dir: Path | None = None) -> list[dict[str, Any]]:
    """Every record of ``stream``, oldest first (empty when none was written)."""
    path = (ops_dir or settings.ops_dir()) / f"{stream}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _post(url: str, body: dict[str, Any]) -> None:
    """Best effort: an unreachable webhook is logged, never allowed to fail the sensor."""
    req = urllib.request.Request(url, data=json.dumps(body, default=str).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5):
            pass
    except OSError as exc:
        log.error("alert webhook %s failed: %s", url, exc)
