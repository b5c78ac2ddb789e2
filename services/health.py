"""Check that the database and Redis answer."""

from __future__ import annotations

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from extensions import db


def check_database() -> str:
    """Return "ok" if the database answers a trivial query, else the error class."""
    try:
        db.session.execute(db.text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        return f"error: {type(error).__name__}"
    return "ok"


def check_redis(app: Flask) -> str:
    """Return "ok" if Redis answers PING, "not configured" without Redis, else the error."""
    redis = app.extensions.get("guichet_redis")
    if redis is None:
        return "not configured"
    try:
        redis.ping()
    except RedisError as error:
        return f"error: {type(error).__name__}"
    return "ok"
