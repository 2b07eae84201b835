"""startup: seconds from launching the service (uvicorn, registered model, warm-up, ledger,
reconciliation) to /ready answering 200; the baseline is the bare ping app's start to /ping.

Lines: the first start on a fresh data dir (it creates the ledger); a restart with the embedded
default (the MLflow sqlite store opened in the service); the production topology, where the
service asks an `mlflow server` on 127.0.0.1 for the model; and a restart serving a PyTorch (MLP)
champion, which unpickles and predicts in numpy without importing torch (ml.nets keeps its weights
as numpy arrays)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rt_support as rs


def _time_to(app: str, path: str, env: dict[str, str]) -> float:
    with rs.serving(app, env, path) as (_, seconds):
        return seconds


def main() -> None:
    data_dir = rs.prepare()
    env = rs.app_env(data_dir)
    base = _time_to("rt_ping_app:create_app", "/ping", env)
    t = _time_to("realtime.main:create_app", "/ready", env)  # first start creates the ledger
    rs.emit("startup_first", t, "s", base, higher_is_better=False, target_s=5.0, mlflow="sqlite store")
    t = _time_to("realtime.main:create_app", "/ready", env)
    rs.emit("startup", t, "s", base, higher_is_better=False, target_s=5.0, mlflow="sqlite store")
    from tests.support.mlflow_server import mlflow_server

    with mlflow_server(f"sqlite:///{data_dir / 'mlflow.db'}", data_dir / "served-artifacts") as url:
        t = _time_to("realtime.main:create_app", "/ready", env | {"REALTIME_MLFLOW_TRACKING_URI": url})
    rs.emit("startup_mlflow_server", t, "s", base, higher_is_better=False, target_s=5.0, mlflow="server")
    torch_env = rs.app_env(rs.prepare(family="mlp"))
    _time_to("realtime.main:create_app", "/ready", torch_env)
    t = _time_to("realtime.main:create_app", "/ready", torch_env)
    rs.emit("startup_torch_model", t, "s", base, higher_is_better=False, target_s=5.0, mlflow="sqlite store")


if __name__ == "__main__":
    main()
