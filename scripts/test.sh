#!/usr/bin/env bash
# Set up if needed, then run the default test suite (slow and hardware tests are opt-in markers);
# more than 10 % skipped fails the run (a machine that quietly tests less is a failure).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest -m "not slow and not hardware" --max-skipped 0.10 "$@"
