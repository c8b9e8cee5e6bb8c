"""Where the tests' reference files live: tests/data/ (vendored, see its README.md) and, for the few
that need more than a fresh clone holds, ../shared next to the repository (skipped, saying so, when
absent)."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared"


def data_file(*parts: str) -> Path:
    """Path of a vendored reference file under tests/data (a missing one is a broken checkout: fail)."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} is missing: tests/data is part of the repository (tests/data/regenerate.py rebuilds it)")
    return path


def shared_path(*parts: str) -> Path:
    """Path inside ../shared; skips the calling test with a clear reason when it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is missing (this test reads ../shared next to the repo)")
    return path
