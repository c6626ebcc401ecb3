#!/usr/bin/env bash
# Rebuild the committed LiteRT and OpenVINO tables of this machine as docs/runtimes.md and
# docs/latency.md describe: few-shot (the committed ONNX Runtime table as prior; OpenVINO 200 of
# 1,005 blocks timed, LiteRT 300: its block features carry the FLOPs by operator class and 200
# blocks leave no margin on the 90 % bar, issue 25), then validated with 50 networks. About
# 8 + 10 min (OpenVINO) and 12 + 20 min (LiteRT, most of it converting) on this 2-core machine.
# Needs the extras: HWNAS_VENV=.venv14 bash -c 'source scripts/_venv.sh dev,litert,openvino'
set -euo pipefail
cd "$(dirname "$0")/.."
HWNAS="${HWNAS_VENV:-.venv}/bin/hwnas"
for spec in host-cpu-openvino:200 host-cpu-litert:300; do
  device="${spec%%:*}"
  flock /tmp/hwnas-cpu.lock "$HWNAS" profile --device "$device" --budget "${spec##*:}" \
    --prior latency_tables/host-cpu.json --overwrite
  flock /tmp/hwnas-cpu.lock "$HWNAS" validate-table --device "$device" --samples 50 --seed 0
done
