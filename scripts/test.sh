#!/usr/bin/env bash
# Set up if needed, then run the default test suite (slow and hardware tests are opt-in markers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest -m "not slow and not hardware" "$@"
