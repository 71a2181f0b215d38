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
    max_scan_bytes: int = Field(256 * 1024, ge=1024)

    # API streaming and Redis (docs/benchmarks.md measures these defaults).
    rate_limit_user: str = "120/minute"     # per authenticated user, `limits` notation
    rate_limit_ip: str = "600/minute"       # per client address, before authentication
    sse_heartbeat_seconds: float = Field(15.0, gt=0)
    shutdown_grace_seconds: float = Field(2.0, ge=0)
    cache_ttl_seconds: int = Field(30, ge=1)
    redis_probe_seconds: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env == "production" and self.secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError("PRIVYLOOP_SECRET_KEY must be set to a real secret in production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
