"""Check what `scripts/quickstart.sh` must leave behind (run by `.ci/run` after it).

The run folder holds the search's ``best.json``, the exported ``model.onnx`` and its model
card, and the card's latency line says the measured model is within ±10 % of the table's
prediction. Prints one line per check; exits 1 on the first that fails.

    python scripts/check_quickstart.py runs/quickstart
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(run: Path) -> int:
    required = [run / "search" / "best.json", run / "export" / "model.onnx", run / "export" / "model_card.json"]
    required.append(run / "export" / "README.md")
    for path in required:
        if not path.is_file() or path.stat().st_size == 0:
            print(f"error: {path} is missing or empty", file=sys.stderr)
            return 1
        print(f"ok: {path} ({path.stat().st_size:,} bytes)")
    card = json.loads((run / "export" / "model_card.json").read_text())
    check = card["latency_check"]
    if not check.get("checked"):
        print(f"error: the card's latency was not checked: {check.get('reason')}", file=sys.stderr)
        return 1
    line = (
        f"{check.get('file') or 'model.onnx'} measured {check['measured_ms']:.3f} ms on {check['device']}: "
        f"{check['error_pct']:+.1f}% from the prediction (tolerance ±{check['tolerance_pct']:.0f}%)"
    )
    if not check["within_tolerance"] or abs(check["error_pct"]) > 10:
        print(f"error: {line}", file=sys.stderr)
        return 1
    print(f"ok: {line}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_quickstart.py RUN_FOLDER")
    sys.exit(main(Path(sys.argv[1])))
