"""Benchmarks import the tests' data helpers (tests/shared_data.py) and benchmarks/bench_helpers.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
