#!/usr/bin/env bash
# Rebuild the committed LiteRT and OpenVINO tables of this machine as docs/runtimes.md describes:
# few-shot (200 of 1,005 blocks timed, the committed ONNX Runtime table as prior), then validated
# with 50 networks. About 8 + 10 min (OpenVINO) and 12 + 13 min (LiteRT) on this 2-core machine.
# Needs the extras: HWNAS_VENV=.venv14 bash -c 'source scripts/_venv.sh dev,litert,openvino'
set -euo pipefail
cd "$(dirname "$0")/.."
HWNAS="${HWNAS_VENV:-.venv}/bin/hwnas"
for device in host-cpu-openvino host-cpu-litert; do
  flock /tmp/hwnas-cpu.lock "$HWNAS" profile --device "$device" --budget 200 --prior latency_tables/host-cpu.json --overwrite
  flock /tmp/hwnas-cpu.lock "$HWNAS" validate-table --device "$device" --samples 50 --seed 0
done
