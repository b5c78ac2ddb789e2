"""A throwaway Guichet database for benchmarks: migrated, seeded with the demo school.

SQLite in a temporary directory by default; with BENCH_DATABASE_URL (a PostgreSQL URL
whose role may CREATE DATABASE) a temporary database on that server instead. Either
way it is built with the real commands (`flask db upgrade`, `flask seed demo`) and
removed afterwards.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from bench.servers import clean_env, flask_command


@contextmanager
def _postgres(server_url: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    server = make_url(server_url).set(drivername="postgresql")
    admin = server.render_as_string(hide_password=False)
    name = f"guichet_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server.set(drivername="postgresql+psycopg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def _sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="guichet-bench-") as directory:
        yield f"sqlite:///{directory}/guichet.sqlite"


@contextmanager
def demo_database() -> Iterator[str]:
    """Yield the SQLAlchemy URL of a fresh database holding the demo school."""
    server_url = os.environ.get("BENCH_DATABASE_URL", "").strip()
    if server_url.startswith("postgres://"):
        server_url = "postgresql://" + server_url[len("postgres://") :]
    with _postgres(server_url) if server_url else _sqlite() as url:
        env = clean_env(GUICHET_ENV="development", DATABASE_URL=url)
        flask_command("db", "upgrade", env=env)
        flask_command("seed", "demo", env=env)
        yield url


def describe(url: str) -> str:
    """The database kind for the report (never the credentials)."""
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"
