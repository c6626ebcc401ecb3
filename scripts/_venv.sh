# Shared by quickstart.sh and test.sh: create .venv and install hwnas into it.
# Usage: source scripts/_venv.sh [extras]   (extras like "dev"; empty for the plain install)
set -euo pipefail
HWNAS_VENV="${HWNAS_VENV:-.venv}"
if [ ! -x "$HWNAS_VENV/bin/python" ]; then
  python3 -m venv "$HWNAS_VENV"
fi
PY="$HWNAS_VENV/bin/python"
"$PY" -m pip install -q --upgrade pip
# Pin torch first: an unpinned torch pulls gigabytes of CUDA packages; 2.13.0 CPU is on these machines.
"$PY" -m pip install -q "torch==2.13.0"
if [ -n "${1:-}" ]; then
  "$PY" -m pip install -q -e ".[$1]"
else
  "$PY" -m pip install -q -e .
fi
