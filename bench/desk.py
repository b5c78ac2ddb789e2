"""The assistance desk: how fast a mailbox run files email, and how fast the inbox lists.

1. ingestion: 200 messages (one `flask desk fetch` run's limit) filed the way the fetch
   does it, one commit each: two thirds open a request, one third answers an earlier one
   by In-Reply-To. Goal: the run under 10 seconds ("vs baseline" = 10 s / time taken).
2. inbox: the accountant's "À prendre" list with its counts, over 2,000 requests.
   Goal: under 100 ms per list ("vs baseline" = 100 ms / time taken).

SQLite always; PostgreSQL too when BENCH_DATABASE_URL names a server or the local one
answers (a temporary database each, dropped afterwards).
"""

from __future__ import annotations

from statistics import median
from time import perf_counter

from bench.registry import Options, Row, benchmark
from bench.siecle_import import databases, guichet

MESSAGES = 200
BACKLOG = 2_000
INGEST_BUDGET_S = 10.0
LIST_BUDGET_MS = 100.0


def email(number: int, answers: int | None = None) -> bytes:
    """A parent's email, quoted-printable French text; a reply when `answers` is given."""
    thread = f"In-Reply-To: <bench-{answers}@parents.example.org>\r\n" if answers else ""
    return (
        f"From: Parent {number} <parent{number % 700}@parents.example.org>\r\n"
        "To: agent-comptable@example.org\r\n"
        f"Subject: =?UTF-8?Q?Question_sur_la_facture_n=C2=B0{number}?=\r\n"
        f"Message-ID: <bench-{number}@parents.example.org>\r\n{thread}"
        "Date: Mon, 23 Nov 2026 08:42:10 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
        "\r\nBonjour,\r\n\r\nLa facture de demi-pension de mon fils me semble =C3=A9lev=C3=A9e.\r\n"
        "Pouvez-vous v=C3=A9rifier ?\r\n\r\nLe 20 nov., l'=C3=A9tablissement a =C3=A9crit :\r\n"
        "> Bonjour, voici la facture.\r\n"
    ).encode()


def mailbox(first: int, count: int) -> list[bytes]:
    """Messages numbered from `first`: every third one answers the message before it."""
    return [email(n, answers=n - 1 if n % 3 == 2 else None) for n in range(first, first + count)]


@benchmark("desk", "assistance desk: a 200-message mailbox run, the inbox over 2,000 requests")
def run(options: Options) -> list[Row]:
    """Time ingestion and the inbox list on each database."""
    from extensions import db
    from models import Account, School
    from services.desk import queue
    from services.desk.ingest import ingest

    rows = []
    for database, fresh in databases():
        with fresh() as url, guichet(url) as app, app.app_context():
            school = db.session.scalars(db.select(School)).one()
            for raw in mailbox(100_000, BACKLOG):  # what earlier runs left in the queue
                ingest(raw, school)
            db.session.commit()
            started = perf_counter()
            for raw in mailbox(1, MESSAGES):
                ingest(raw, school)
                db.session.commit()
            seconds = perf_counter() - started
            rows.append(ingest_row(database, seconds))
            print(f"  {database:10} ingest {MESSAGES} messages  {seconds:6.2f} s", flush=True)

            staff = Account(name="Bench", email="bench@example.org")
            db.session.add(staff)
            db.session.commit()
            timings = []
            for _ in range(20):
                started = perf_counter()
                page = queue.queue([school.id], staff, queue.Box.NEW)
                timings.append((perf_counter() - started) * 1000)
                db.session.expire_all()
            rows.append(list_row(database, timings, len(page.items)))
            print(f"  {database:10} inbox list  {median(timings):6.1f} ms", flush=True)
            db.session.remove()
    return rows


def ingest_row(database: str, seconds: float) -> Row:
    """The mailbox run as a table row, against its 10-second budget."""
    return Row(
        benchmark="desk",
        target=f"{database}: ingest {MESSAGES} emails",
        requests=MESSAGES,
        errors=0,
        seconds=seconds,
        requests_per_s=MESSAGES / seconds,
        p50_ms=seconds * 1000 / MESSAGES,
        p99_ms=seconds * 1000 / MESSAGES,
        ratio=INGEST_BUDGET_S / seconds,
        goal=1.0,
    )


def list_row(database: str, timings: list[float], shown: int) -> Row:
    """The inbox list as a table row, against its 100-ms budget."""
    ordered = sorted(timings)
    return Row(
        benchmark="desk",
        target=f"{database}: inbox over {BACKLOG + MESSAGES} requests",
        requests=len(timings),
        errors=0,
        seconds=sum(timings) / 1000,
        requests_per_s=1000 * len(timings) / sum(timings),
        p50_ms=median(timings),
        p99_ms=ordered[-1],
        ratio=LIST_BUDGET_MS / median(timings),
        goal=1.0,
        notes={"shown": shown},
    )
