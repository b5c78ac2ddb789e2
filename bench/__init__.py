"""Guichet's benchmarks, runnable by anyone: `make bench` or `python -m bench [name ...]`.

Each benchmark is a function registered in `bench.registry` that returns table rows;
docs/benchmarks.md explains the figures and keeps the reference results.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
