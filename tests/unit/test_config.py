"""Settings per environment, and production's refusal of unsafe ones."""

from __future__ import annotations

import pytest

from config import DEFAULT_SECRET_KEY, ConfigError, load_config

SAFE = {
    "SECRET_KEY": "a-long-random-production-secret-0123456789",
    "DATABASE_URL": "postgresql://guichet@db.internal/guichet",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "PAYFIP_CLIENT_NUMBER": "012345",
    "PUBLIC_URL": "https://guichet.college-tilleuls.fr",
}


@pytest.fixture
def env(monkeypatch):
    names = (*SAFE, "GUICHET_ENV", "MAIL_BACKEND", "PAYMENT_BACKEND", "PAYFIP_MODE")
    for name in names:
        monkeypatch.delenv(name, raising=False)

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_development_is_the_embedded_default(env):
    config = load_config()
    assert config.ENV_NAME == "development"
    assert config.SQLALCHEMY_DATABASE_URI.startswith("sqlite:///")
    assert config.SQLALCHEMY_DATABASE_URI.endswith("instance/guichet.sqlite")
    assert config.JOBS_INLINE is True
    assert config.MAIL_BACKEND == "outbox"
    assert config.SMS_BACKEND == "outbox"
    assert config.PAYMENT_BACKEND == "sandbox"


def test_production_starts_with_safe_settings(env):
    env(**SAFE)
    config = load_config("production")
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://guichet@db.internal/guichet"
    assert config.SESSION_COOKIE_SECURE is True
    assert SAFE["REDIS_URL"] == config.RATELIMIT_STORAGE_URI
    assert config.JOBS_INLINE is False
    assert config.MAIL_BACKEND == "smtp"
    assert (config.PAYMENT_BACKEND, config.PAYFIP_MODE) == ("payfip", "W")  # real payments


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": DEFAULT_SECRET_KEY}, "SECRET_KEY is missing or left at its default"),
        ({"DATABASE_URL": "sqlite:///guichet.sqlite"}, "production needs PostgreSQL"),
        ({"REDIS_URL": ""}, "REDIS_URL is not set"),
        ({"PAYFIP_CLIENT_NUMBER": ""}, "6-digit PayFiP client number"),
        ({"PAYFIP_CLIENT_NUMBER": "12345"}, "6-digit PayFiP client number"),
        ({"PAYFIP_MODE": "P"}, "PAYFIP_MODE must be T"),
        ({"PAYMENT_BACKEND": "sandbox"}, "production takes real payments"),
        ({"PUBLIC_URL": "http://guichet.college-tilleuls.fr"}, "PUBLIC_URL must be the https"),
    ],
)
def test_production_refuses_unsafe_settings(env, change, expected):
    env(**{**SAFE, **change})
    with pytest.raises(ConfigError, match=expected):
        load_config("production")


def test_environment_overrides_settings(env):
    env(MAIL_BACKEND="smtp", REDIS_URL="redis://127.0.0.1:6379/3")
    config = load_config("development")
    assert config.MAIL_BACKEND == "smtp"
    assert config.JOBS_INLINE is False


def test_unknown_environment_is_explained(env):
    with pytest.raises(ConfigError, match="Unknown GUICHET_ENV 'staging'"):
        load_config("staging")
