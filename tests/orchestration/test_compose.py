"""docker-compose.yml is valid without an engine: Debian's docker-compose 1.29 resolves it, and it
validates against the Compose specification's JSON schema shipped in that package."""

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import REPO, require

SCHEMA = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")
SERVICES = {"postgres", "clickhouse", "nats", "mlflow", "code", "dagster-webserver", "dagster-daemon",
            "realtime"}


@pytest.fixture
def project(tmp_path) -> Path:
    """The compose project as a user has it after `cp .env.example .env`."""
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copy(REPO / ".env.example", tmp_path / ".env")
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    return tmp_path


def _config(project: Path) -> dict:
    require(shutil.which("docker-compose") is not None,
            "docker-compose not installed (apt-get install -y docker-compose)")
    proc = subprocess.run(["docker-compose", "config"], cwd=project, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def test_docker_compose_config_resolves(project):
    config = _config(project)
    services = config["services"]
    assert {name for name, svc in services.items() if not svc.get("profiles")} == SERVICES
    for name, svc in services.items():
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        for port in svc.get("ports", []):  # published on loopback only
            assert str(port).startswith("127.0.0.1:"), (name, port)
    mlflow = " ".join(services["mlflow"]["command"]) if isinstance(services["mlflow"]["command"], list) \
        else services["mlflow"]["command"]
    assert "--workers 1" in mlflow and '--allowed-hosts "mlflow:5000' in mlflow
    assert "postgresql+psycopg2://" in mlflow and "@postgres:5432/mlflow" in mlflow
    assert services["realtime"]["environment"]["REALTIME_API_KEY"].startswith("replace-me")  # from .env
    assert services["code"]["environment"]["ALPHAFORGE_ENV"] == "production"
    assert services["dagster-webserver"]["depends_on"]["code"]["condition"] == "service_healthy"


def test_missing_env_file_is_reported(project):
    (project / ".env").unlink()
    require(shutil.which("docker-compose") is not None, "docker-compose not installed")
    proc = subprocess.run(["docker-compose", "config"], cwd=project, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0 and ".env" in proc.stderr


def test_compose_file_matches_the_compose_spec_schema():
    require(SCHEMA.exists(), f"Compose spec schema not found at {SCHEMA} (apt-get install docker-compose)")
    schema = json.loads(SCHEMA.read_text())
    document = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    jsonschema.Draft201909Validator(schema).validate(document)
    broken = {**document, "services": {**document["services"], "nats": {"imagee": "nats:2.11"}}}
    with pytest.raises(jsonschema.ValidationError, match="imagee"):
        jsonschema.Draft201909Validator(schema).validate(broken)


def test_no_secret_is_written_in_the_compose_file():
    text = (REPO / "docker-compose.yml").read_text()
    example = dict(line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    for key, value in example.items():
        if value and ("PASSWORD" in key or "KEY" in key):
            assert value not in text, key


def test_the_mt5_profile_adds_a_terminal_whose_bridge_stays_private(project):
    mt5 = _config(project)["services"]["mt5"]
    assert mt5["profiles"] == ["mt5"]  # off unless `--profile mt5` asks for it
    published = [str(p) for p in mt5.get("ports", [])]
    assert published and all(p.startswith("127.0.0.1:") for p in published)
    assert not any("8001" in p for p in published)  # the RPyC port runs code: never published
    assert "8001" in " ".join(mt5["healthcheck"]["test"])
    assert mt5["environment"]["PASSWORD"].startswith("replace-me")  # from .env


APP_SERVICES = {"code", "dagster-webserver", "dagster-daemon", "realtime"}


def test_app_services_share_no_disk(project):
    """Runs and the realtime tier exchange data through ClickHouse, MLflow and PostgreSQL only:
    no named volume is mounted by two services, and the app services keep market data in ClickHouse."""
    config = _config(project)
    services = config["services"]
    owners: dict[str, list[str]] = {}
    for name, svc in services.items():
        for vol in svc.get("volumes", []):
            source = vol["source"] if isinstance(vol, dict) else str(vol).split(":", 1)[0]
            if not source.startswith((".", "/")):  # named volumes; bind mounts are read-only config
                owners.setdefault(source, []).append(name)
    assert {v: o for v, o in owners.items() if len(o) > 1} == {}
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["ALPHAFORGE_STORE"] == "clickhouse", name
        assert env["ALPHAFORGE_CLICKHOUSE_URL"].split("@")[-1] == "clickhouse:8123/market", name
        assert not any(str(v).startswith("lake") for v in services[name].get("volumes", [])), name
