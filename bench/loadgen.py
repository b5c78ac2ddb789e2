"""A bounded HTTP load generator: N client processes on loopback for a fixed time.

Each client opens a new connection per request (gunicorn's sync workers close it after
each response anyway), sends a GET (with the given headers, e.g. a signed-in session's
Cookie) and reads the whole answer. Only requests started
after the warm-up and before the end count; a request answering anything but 200, or
failing, is an error. Processes, not threads, so clients never wait on each other's GIL.
"""

from __future__ import annotations

import http.client
import multiprocessing
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import TracebackType

REQUEST_TIMEOUT = 10.0  # seconds; a request taking longer counts as an error


@dataclass(frozen=True)
class Result:
    """What the clients measured in the window."""

    requests: int  # successful requests started in the window
    errors: int
    seconds: float
    latencies: list[float] = field(repr=False)  # seconds, successful requests only

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: int) -> float:
        """The p-th percentile latency in milliseconds (nan without data)."""
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1] * 1000

    @classmethod
    def combine(cls, results: Iterable[Result]) -> Result:
        """One result from several measuring windows of the same target."""
        results = list(results)
        return cls(
            requests=sum(r.requests for r in results),
            errors=sum(r.errors for r in results),
            seconds=sum(r.seconds for r in results),
            latencies=[latency for r in results for latency in r.latencies],
        )


def _ready(_: int) -> None:
    time.sleep(0.05)  # long enough for the pool to hand one task to each process


def _client(
    host: str, port: int, path: str, measure_from: float, stop_at: float, headers: dict[str, str]
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    while True:
        started = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
        if started >= stop_at:
            return latencies, errors
        ok = False
        conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request("GET", path, headers=headers)
            with conn.getresponse() as response:
                response.read()
                ok = response.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
        finally:
            conn.close()
        if started >= measure_from:
            if ok:
                latencies.append(time.monotonic() - started)
            else:
                errors += 1


class LoadGenerator:
    """A pool of `clients` processes, reused for every window of a benchmark."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self._pool = multiprocessing.get_context("spawn").Pool(clients)
        # Spawned processes take a moment to import: the first window must not pay it.
        self._pool.map(_ready, range(clients), chunksize=1)

    def run(
        self,
        host: str,
        port: int,
        path: str,
        *,
        warmup: float,
        duration: float,
        headers: dict[str, str] | None = None,
    ) -> Result:
        """Load http://host:port/path: `warmup` s unmeasured, then `duration` s measured."""
        measure_from = time.monotonic() + warmup
        stop_at = measure_from + duration
        task = (host, port, path, measure_from, stop_at, dict(headers or {}))
        parts = self._pool.starmap(_client, [task] * self.clients, chunksize=1)
        latencies = [latency for part, _ in parts for latency in part]
        errors = sum(errors for _, errors in parts)
        return Result(len(latencies), errors, duration, latencies)

    def close(self) -> None:
        self._pool.close()
        self._pool.join()

    def __enter__(self) -> LoadGenerator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._pool.terminate()
        self.close()
