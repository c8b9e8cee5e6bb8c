"""Benchmarks import the tests' helpers (tests/support, on sys.path through pyproject's pytest
`pythonpath`) and benchmarks/bench_helpers.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
