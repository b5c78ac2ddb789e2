"""Health check for load balancers and monitoring."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from services.health import check_database, check_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Answer 200 when the database and Redis (if configured) respond, 503 otherwise."""
    checks = {"database": check_database(), "redis": check_redis(current_app)}
    healthy = all(status in ("ok", "not configured") for status in checks.values())
    return jsonify(status="ok" if healthy else "error", checks=checks), 200 if healthy else 503
