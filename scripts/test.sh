#!/usr/bin/env bash
# Set up .venv with the dev extras and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh dev
exec "$PY" -m pytest "$@"
