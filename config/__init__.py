"""Settings per environment: development (the embedded default), testing and production.

Every setting can be overridden from the environment; README.md lists the variables.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = "dev-secret-key-change-me"  # noqa: S105 - the value production refuses


class ConfigError(RuntimeError):
    """Raised when settings are unsafe for the chosen environment."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment, read from the environment when set."""

    ENV_NAME = "base"

    def __init__(self) -> None:
        instance = ROOT / "instance"
        self.SECRET_KEY = _env("SECRET_KEY", DEFAULT_SECRET_KEY)
        self.SQLALCHEMY_DATABASE_URI = _normalise_db_url(
            _env("DATABASE_URL", f"sqlite:///{instance / 'guichet.sqlite'}")
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = _env("REDIS_URL")
        self.RQ_QUEUES = ["high", "default", "low"]
        self.RQ_QUEUE_PREFIX = _env("RQ_QUEUE_PREFIX", "guichet")
        # Email: "outbox" only records messages; "smtp" also delivers them through Flask-Mail.
        self.MAIL_BACKEND = _env("MAIL_BACKEND", "outbox")
        self.MAIL_SERVER = _env("MAIL_SERVER", "localhost")
        self.MAIL_PORT = _env_int("MAIL_PORT", 25)
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
        self.MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
        self.MAIL_USERNAME = _env("MAIL_USERNAME")
        self.MAIL_PASSWORD = _env("MAIL_PASSWORD")
        # Flask-Mail silently drops mail under TESTING; MAIL_BACKEND alone decides here.
        self.MAIL_SUPPRESS_SEND = False
        self.MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "Guichet <guichet@example.org>")
        self.SMS_BACKEND = _env("SMS_BACKEND", "outbox")
        # SMS: "outbox" only records messages; "brevo" also sends them through Brevo's API.
        self.SMS_API_URL = _env("SMS_API_URL", "https://api.brevo.com/v3/transactionalSMS/send")
        self.SMS_API_KEY = _env("SMS_API_KEY")
        self.SMS_SENDER = _env("SMS_SENDER", "Guichet")
        self.SMS_TIMEOUT_SECONDS = _env_int("SMS_TIMEOUT_SECONDS", 10)
        self.PAYMENT_BACKEND = _env("PAYMENT_BACKEND", "sandbox")
        # PayFiP (PAYMENT_BACKEND=payfip): see docs/payfip.md. Empty URLs mean PayFiP's own.
        self.PAYFIP_CLIENT_NUMBER = _env("PAYFIP_CLIENT_NUMBER")
        self.PAYFIP_MODE = _env("PAYFIP_MODE", "T")
        self.PAYFIP_SOAP_URL = _env("PAYFIP_SOAP_URL")
        self.PAYFIP_PAYMENT_URL = _env("PAYFIP_PAYMENT_URL")
        self.PAYFIP_TIMEOUT_SECONDS = _env_int("PAYFIP_TIMEOUT_SECONDS", 10)
        # The assistance desk: the agent comptable's mailbox (replies come from it and go
        # back to it), read over IMAP by `flask desk fetch` when DESK_IMAP_HOST is set.
        self.DESK_ADDRESS = _env("DESK_ADDRESS", "Agent comptable <comptable@example.org>")
        self.DESK_IMAP_HOST = _env("DESK_IMAP_HOST")
        self.DESK_IMAP_SECURITY = _env("DESK_IMAP_SECURITY", "ssl")  # ssl, starttls or none
        self.DESK_IMAP_PORT = _env_int(
            "DESK_IMAP_PORT", 993 if self.DESK_IMAP_SECURITY == "ssl" else 143
        )
        self.DESK_IMAP_USER = _env("DESK_IMAP_USER")
        self.DESK_IMAP_PASSWORD = _env("DESK_IMAP_PASSWORD")
        self.DESK_IMAP_FOLDER = _env("DESK_IMAP_FOLDER", "INBOX")
        self.DESK_IMAP_CA_FILE = _env("DESK_IMAP_CA_FILE")  # a private CA; default: the system's
        self.DESK_IMAP_TIMEOUT_SECONDS = _env_int("DESK_IMAP_TIMEOUT_SECONDS", 30)
        self.DESK_SCHOOL_UAI = _env("DESK_SCHOOL_UAI")  # whose mailbox it is, if several schools
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_HEADERS_ENABLED = True
        self.RATELIMIT_LOGIN = _env("RATELIMIT_LOGIN", "10 per minute")
        self.DEFAULT_SCHOOL_UAI = _env("DEFAULT_SCHOOL_UAI")
        # How many reverse proxies (load balancer…) sit in front and set X-Forwarded-*.
        self.TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
        self.PUBLIC_URL = _env("PUBLIC_URL", "http://127.0.0.1:5000")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.PERMANENT_SESSION_LIFETIME = _env_int("SESSION_LIFETIME_SECONDS", 30 * 60)
        self.WTF_CSRF_TIME_LIMIT = _env_int("CSRF_TIME_LIMIT_SECONDS", 3600)
        self.MAX_CONTENT_LENGTH = _env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
        self.EMAIL_CONFIRMATION_HOURS = _env_int("EMAIL_CONFIRMATION_HOURS", 48)
        self.PASSWORD_RESET_MAX_AGE = _env_int("PASSWORD_RESET_MAX_AGE", 3600)
        self.SHOW_DEV_OUTBOX = _env_bool("SHOW_DEV_OUTBOX", False)
        self.WORKFLOWS_DIR = Path(_env("WORKFLOWS_DIR", str(ROOT / "workflows")))
        self.DSFR_DIST = Path(_env("DSFR_DIST", str(ROOT / "node_modules/@gouvfr/dsfr/dist")))
        self.NODE_MODULES = Path(_env("NODE_MODULES", str(ROOT / "node_modules")))
        self.SEED_DEMO_PASSWORD = _env("SEED_DEMO_PASSWORD", "demo-guichet-2026")
        self.TIMEZONE = "Europe/Paris"
        self.JOBS_INLINE = self.REDIS_URL is None

    def check(self) -> None:
        """Refuse settings that would be unsafe in this environment."""

    def as_dict(self) -> dict[str, object]:
        """Return the settings as the mapping Flask's config expects."""
        return {key: value for key, value in vars(self).items() if key.isupper()}


class DevelopmentConfig(Config):
    """The embedded default: SQLite, inline jobs, outbox for mail and SMS, sandbox bank."""

    ENV_NAME = "development"

    def __init__(self) -> None:
        super().__init__()
        self.SHOW_DEV_OUTBOX = _env_bool("SHOW_DEV_OUTBOX", True)


class TestingConfig(Config):
    """Settings for the test suite: its own database, Redis and SMTP server when named."""

    ENV_NAME = "testing"

    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        self.SQLALCHEMY_DATABASE_URI = _normalise_db_url(
            _env("TEST_DATABASE_URL", "sqlite:///:memory:")
        )
        # Tests that exercise rq pass REDIS_URL explicitly; the rest run jobs inline.
        self.REDIS_URL = None
        self.JOBS_INLINE = True
        self.RQ_QUEUE_PREFIX = _env("RQ_QUEUE_PREFIX", "guichet-test")
        self.RATELIMIT_ENABLED = True
        self.SHOW_DEV_OUTBOX = True
        self.SERVER_NAME = None


class ProductionConfig(Config):
    """Settings for real schools: PostgreSQL, Redis workers, SMTP, secure cookies."""

    ENV_NAME = "production"

    def __init__(self) -> None:
        super().__init__()
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.MAIL_BACKEND = _env("MAIL_BACKEND", "smtp")
        self.PAYMENT_BACKEND = _env("PAYMENT_BACKEND", "payfip")
        # Real payments unless told otherwise: a forgotten setting must not turn test
        # payments into paid invoices.
        self.PAYFIP_MODE = _env("PAYFIP_MODE", "W")
        if self.REDIS_URL and not _env("RATELIMIT_STORAGE_URI"):
            self.RATELIMIT_STORAGE_URI = self.REDIS_URL

    def check(self) -> None:
        """Refuse a default secret, a SQLite database, a missing Redis or SMS API key."""
        if not self.SECRET_KEY or self.SECRET_KEY == DEFAULT_SECRET_KEY:
            raise ConfigError(
                "SECRET_KEY is missing or left at its default: set a long random value."
            )
        if self.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            raise ConfigError("DATABASE_URL points to SQLite: production needs PostgreSQL.")
        if not self.REDIS_URL:
            raise ConfigError(
                "REDIS_URL is not set: production needs Redis for jobs and rate limits."
            )
        if self.SMS_BACKEND == "brevo" and not self.SMS_API_KEY:
            raise ConfigError("SMS_BACKEND is brevo but SMS_API_KEY is not set: give the API key.")
        if self.PAYMENT_BACKEND == "sandbox":
            raise ConfigError(
                "PAYMENT_BACKEND is sandbox, the test bank: production takes real payments "
                "(payfip)."
            )
        if self.PAYMENT_BACKEND == "payfip":
            if not re.fullmatch(r"[0-9]{6}", self.PAYFIP_CLIENT_NUMBER or ""):
                raise ConfigError(
                    "PAYMENT_BACKEND is payfip but PAYFIP_CLIENT_NUMBER is not the school's "
                    "6-digit PayFiP client number."
                )
            if self.PAYFIP_MODE not in ("T", "X", "W"):
                raise ConfigError("PAYFIP_MODE must be T (test), X (activation) or W (production).")
            if not self.PUBLIC_URL.startswith("https://"):
                raise ConfigError(
                    "PUBLIC_URL must be the https:// address parents use: PayFiP sends them "
                    "and its notifications back there."
                )
        if self.DESK_IMAP_HOST and self.DESK_IMAP_SECURITY not in ("ssl", "starttls"):
            raise ConfigError(
                "DESK_IMAP_SECURITY must be ssl or starttls in production: the mailbox "
                "password and families' mail must not cross the network in clear."
            )


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> Config:
    """Build the settings for the environment named (default: GUICHET_ENV or development)."""
    name = name or _env("GUICHET_ENV", "development")
    try:
        config = CONFIGS[name]()
    except KeyError:
        raise ConfigError(
            f"Unknown GUICHET_ENV {name!r}: use one of {', '.join(CONFIGS)}."
        ) from None
    config.check()
    return config


def _normalise_db_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the psycopg 3 driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
