"""pytest wiring; the helpers themselves live in shared_data.py (benchmarks import them too)."""

from shared_data import REPO, SHARED, guitar_like, run_partition, shared_path  # noqa: F401  (re-exported for tests)
