"""Realtime settings (pydantic-settings, prefix REALTIME_). Placeholder secrets are refused."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = {"", "changeme", "change-me", "changethis", "secret", "dev-key", "test", "password"}


class Settings(BaseSettings):
    """Everything the service needs, from the environment or a .env file."""

    model_config = SettingsConfigDict(env_prefix="REALTIME_", env_file=".env", extra="ignore")

    api_key: SecretStr
    mlflow_tracking_uri: str = "sqlite:///data/mlflow.db"
    model_name: str = "alphaforge-signal"
    model_alias: str = "champion"
    data_dir: Path = Path("data")
    symbols: list[str] = ["EURUSD"]
    replay_bars: int = 500

    @field_validator("api_key")
    @classmethod
    def _refuse_placeholder(cls, v: SecretStr) -> SecretStr:
        if v.get_secret_value().strip().lower() in PLACEHOLDERS or len(v.get_secret_value()) < 12:
            raise ValueError("REALTIME_API_KEY is a placeholder or shorter than 12 characters")
        return v
