"""docker-compose.yml cannot run here (no Docker engine): keep it consistent with the settings instead."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import AliasChoices

from memory.settings import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
REQUIRED = {"PRIVYLOOP_ENV", "DATABASE_URL", "REDIS_URL", "PRIVYLOOP_SECRET_KEY"}


def settings_env_names() -> set[str]:
    """Every environment variable Settings reads: PRIVYLOOP_<FIELD>, or a field's explicit aliases."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def test_the_api_service_sets_only_variables_the_settings_read():
    compose = yaml.safe_load(COMPOSE.read_text())
    env = compose["services"]["api"]["environment"]
    known = settings_env_names()
    assert set(env) - known == set(), "compose sets variables nothing reads"
    assert REQUIRED <= set(env)
    assert env["PRIVYLOOP_ENV"] == "production"
    # The secret comes from the operator, never a literal in the file.
    assert re.fullmatch(r"\$\{PRIVYLOOP_SECRET_KEY:\?.+\}", env["PRIVYLOOP_SECRET_KEY"])


def test_the_service_points_at_the_pgvector_and_redis_containers():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert services["postgres"]["image"].startswith("pgvector/pgvector:pg17")
    assert services["redis"]["image"].startswith("redis:")
    env = services["api"]["environment"]
    pg = services["postgres"]["environment"]
    assert env["DATABASE_URL"] == (f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}"
                                   f"@postgres:5432/{pg['POSTGRES_DB']}")
    assert env["REDIS_URL"].startswith("redis://redis:6379")
    assert set(services["api"]["depends_on"]) == {"postgres", "redis"}


def test_the_compose_values_make_valid_production_settings(monkeypatch):
    env = yaml.safe_load(COMPOSE.read_text())["services"]["api"]["environment"]
    for key, value in env.items():
        value = str(value)
        if value.startswith("${"):
            value = "a-real-secret-for-the-test-0123456789" if "SECRET" in key else value.split(":-", 1)[-1][:-1]
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)
    assert settings.env == "production" and settings.database_url.startswith("postgresql://")
    assert settings.db_pool_max == 20
