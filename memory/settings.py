"""The service's settings, read once from the environment (prefix PRIVYLOOP_, plus a few standard names)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev-secret-change-me"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRIVYLOOP_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".privyloop")
    # Empty means: start the embedded PostgreSQL (with pgvector) under data_dir.
    database_url: str = Field("", validation_alias=AliasChoices("DATABASE_URL", "PRIVYLOOP_DATABASE_URL"))
    # Empty means: start a local redis-server for this process.
    redis_url: str = Field("", validation_alias=AliasChoices("REDIS_URL", "PRIVYLOOP_REDIS_URL"))
    db_pool_max: int = Field(10, ge=1, le=200)

    secret_key: SecretStr = SecretStr("dev-secret-change-me")
    gemini_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("GOOGLE_API_KEY", "GEMINI_API_KEY", "PRIVYLOOP_GEMINI_API_KEY")
    )
    gemini_base_url: str | None = Field(
        None, validation_alias=AliasChoices("GOOGLE_GEMINI_BASE_URL", "PRIVYLOOP_GEMINI_BASE_URL")
    )
    gemini_chat_model: str = "gemini-2.5-flash"
    gemini_analysis_model: str = "gemini-2.5-pro"
    embedding_model: str = "all-MiniLM-L6-v2"

    # Template evolution and attribution thresholds (docs/scoring.md explains them).
    template_quorum_users: int = Field(3, ge=1)
    template_quorum_window_days: int = Field(14, ge=1)
    suspected_flip_min_users: int = Field(3, ge=2)
    suspected_flip_min_share: float = Field(0.05, ge=0.0, le=1.0)
    suspected_flip_window_hours: int = Field(48, ge=1)
    keyframe_every: int = Field(16, ge=1)
    scan_record_retention_days: int = Field(7, ge=1)
    max_scan_bytes: int = Field(256 * 1024, ge=1024)

    # API streaming and Redis (docs/benchmarks.md measures these defaults).
    rate_limit_user: str = "120/minute"     # per authenticated user, `limits` notation
    rate_limit_ip: str = "600/minute"       # per client address, before authentication
    sse_heartbeat_seconds: float = Field(15.0, gt=0)
    shutdown_grace_seconds: float = Field(2.0, ge=0)
    cache_ttl_seconds: int = Field(30, ge=1)
    redis_probe_seconds: float = Field(1.0, gt=0)
    max_concurrent_runs: int = Field(8, ge=1)  # agent runs executing at once per API process

    # API accounts and the edge (README.md lists the env names: PRIVYLOOP_ + the field name, upper case).
    chat_ui_origin: str = "http://localhost:5173"    # the only web origin CORS lets in
    extension_id: str = ""                           # chrome-extension://<id> is the other allowed origin
    session_ttl_hours: int = Field(24 * 14, ge=1)
    access_token_ttl_minutes: int = Field(15, ge=1)  # extension access tokens: short, refreshed
    refresh_token_ttl_days: int = Field(60, ge=1)
    pairing_code_ttl_minutes: int = Field(10, ge=1, le=60)
    api_token_ttl_days: int = Field(365, ge=1)
    rate_limit_login: str = "10/minute"              # per address and per email, `limits` notation
    max_request_bytes: int = Field(64 * 1024, ge=1024)  # every body except scans (max_scan_bytes)
    longpoll_max_seconds: float = Field(25.0, gt=0, le=120)

    @property
    def allowed_origins(self) -> list[str]:
        """The chat UI and the extension: the only origins a browser may call the API from."""
        origins = [self.chat_ui_origin.rstrip("/")] if self.chat_ui_origin else []
        return origins + ([f"chrome-extension://{self.extension_id}"] if self.extension_id else [])

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env == "production" and self.secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError("PRIVYLOOP_SECRET_KEY must be set to a real secret in production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
