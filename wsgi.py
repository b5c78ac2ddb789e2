"""WSGI entry point: `gunicorn wsgi:app`, and what the `flask` command finds."""

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # one line for the operator, not a traceback
    raise SystemExit(f"Guichet cannot start: {error}") from None
