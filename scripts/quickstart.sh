#!/usr/bin/env bash
# Set up .venv and run the main hwnas job end to end on this machine's CPU (ONNX Runtime):
# latency table -> cyclic search under a latency budget -> export of the winner.
# Knobs: HWNAS_OUT (run folder), HWNAS_LATENCY_MS (budget, default 10 ms), HWNAS_EVALUATIONS (default 200).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
HWNAS="$HWNAS_VENV/bin/hwnas"
OUT="${HWNAS_OUT:-runs/quickstart}"
LATENCY_MS="${HWNAS_LATENCY_MS:-10}"
EVALUATIONS="${HWNAS_EVALUATIONS:-200}"
mkdir -p "$OUT"

echo "== devices" >&2
"$HWNAS" devices

if [ ! -f latency_tables/host-cpu.json ] && [ ! -f latency_tables/local/host-cpu.json ]; then
  echo "== no host-cpu latency table: profiling this CPU (every block of the hybrid space)" >&2
  "$HWNAS" profile --device host-cpu --resume
fi

# The committed table was measured on another machine. The probe (run by `hwnas devices` above and
# cached for 15 minutes) compares the fingerprint and re-times 8 blocks; when the table does not
# describe this CPU, a few-shot table is built here with the committed one as prior, in
# latency_tables/local/ (git-ignored; the lookup prefers it), and the committed file is left alone.
# HWNAS_ADAPT_BUDGET blocks (default 150, bounded by HWNAS_ADAPT_S seconds, default 150).
if [ -f latency_tables/host-cpu.json ]; then
  DESCRIBES="$("$HWNAS" probe --device host-cpu --json | "$HWNAS_VENV/bin/python" -c \
    'import json,sys; c=json.load(sys.stdin); d=c["drift"]; print(int(c["describes_this_machine"]), d and format(d, "+.0%"))')"
  if [ "${DESCRIBES%% *}" = 0 ]; then
    echo "== the host-cpu table does not describe this machine (drift ${DESCRIBES#* }): a few-shot table here" >&2
    "$HWNAS" profile --device host-cpu --budget "${HWNAS_ADAPT_BUDGET:-150}" --budget-s "${HWNAS_ADAPT_S:-150}" \
      --prior latency_tables/host-cpu.json --output latency_tables/local/host-cpu.json --overwrite
  fi
fi

echo "== cyclic search (Entropic Score <-> LogSynflow) on host-cpu under ${LATENCY_MS} ms" >&2
"$HWNAS" search --device host-cpu --latency-ms "$LATENCY_MS" --evaluations "$EVALUATIONS" \
  --seed 0 --out "$OUT/search" --resume
WINNER="$("$HWNAS_VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["arch"])' "$OUT/search/best.json")"

echo "== the winner, predicted and measured on this CPU" >&2
"$HWNAS" latency "$WINNER" --device host-cpu --measure

echo "Search results in $OUT/search (best.json, history.jsonl, pareto.png)" >&2

# ---- export (hwnas export; issue 6) -------------------------------------------------------
echo "== export the winner to ONNX (checked against PyTorch, timed on this CPU) and its model card" >&2
"$HWNAS" export "$OUT/search" --format onnx --out "$OUT/export" --overwrite
cat "$OUT/export/README.md"   # the model card for people; model_card.json holds the same for programs
echo "Exported model and model card in $OUT/export (model.onnx, model_card.json, README.md)" >&2
