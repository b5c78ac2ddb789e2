"""Absolute links to Guichet's pages, from a request or from a job (emails, the bank)."""

from __future__ import annotations

from typing import Any

from flask import current_app


def public_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of a page under PUBLIC_URL, with or without a request."""
    path = current_app.url_map.bind("localhost", script_name="/").build(endpoint, values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path
