#!/usr/bin/env bash
# Set up .venv and run the main hwnas job end to end on this machine's CPU (ONNX Runtime).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
HWNAS="$HWNAS_VENV/bin/hwnas"
OUT="${HWNAS_OUT:-runs/quickstart}"
mkdir -p "$OUT"

echo "== search spaces" >&2
"$HWNAS" spaces
echo "== three hybrid architectures (seed 0)" >&2
"$HWNAS" sample --space hybrid -n 3 --seed 0 | tee "$OUT/sampled.txt"
echo "== the first one, in detail" >&2
"$HWNAS" info "$(head -n 1 "$OUT/sampled.txt")" --space hybrid
echo "Results in $OUT" >&2
