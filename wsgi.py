"""WSGI entry point: `gunicorn wsgi:app`, and what the `flask` command finds."""

import sys

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # One line for the operator, not a traceback; 4 tells gunicorn's master to stop rather
    # than restart workers that can never boot.
    print(f"Guichet cannot start: {error}", file=sys.stderr)
    raise SystemExit(4) from None
