#!/usr/bin/env bash
# Measure and validate latency_tables/host-cpu.json (hybrid space, 224x224) on this machine.
# Holds /tmp/hwnas-cpu.lock for the whole run so no other heavy job of this repo's sessions
# shares the CPU with the timings. Prints the profile summary and the validation figures.
# Usage: bash scripts/build_host_cpu_table.sh [--resume]   (about 10 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
HWNAS="${HWNAS_VENV:-.venv}/bin/hwnas"
MODE="${1:---overwrite}"
exec flock /tmp/hwnas-cpu.lock bash -c "
  set -euo pipefail
  '$HWNAS' profile --device host-cpu --space hybrid --resolution 224 $MODE
  '$HWNAS' validate-table --device host-cpu --samples 50 --seed 0 ${MODE/--overwrite/}
"
