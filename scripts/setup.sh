#!/usr/bin/env bash
# Set everything up, then run the whole story on the built-in capture (`ampemu demo`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/ampemu demo "$@"
