"""Does the hybrid search spend the latency budget it is given? (issue 23)

For each device and budget: the default search (``hwnas search --device D --latency-ms B
--evaluations N --seed S``, table predictions, no probe), and its winner's predicted latency,
share of the budget, #Params and FLOPs. ``max`` is the predicted latency of the space's largest
network (every gene at its maximum) on that device: the largest budget the space can fill.
``--tree`` runs another checkout of hwnas (a `git worktree` of an older commit) for the
"before" column.

    python scripts/budget_fill.py --devices host-cpu,host-cpu-openvino --budgets 6,12,24,36,max
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="host-cpu,host-cpu-openvino")
    parser.add_argument("--budgets", default="6,12,24,36,max")
    parser.add_argument("--evaluations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tree", type=Path, help="import hwnas from this checkout instead")
    parser.add_argument(
        "--set", action="append", default=[], metavar="OPTION=VALUE",
        help="a cyclic strategy option, e.g. --set budget_weight=0 (repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.tree:
        sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
        sys.path.insert(0, str(args.tree.resolve()))
    import torch

    from hwnas.latency.sources import load_latency_source
    from hwnas.search import Constraints, SearchConfig, make_strategy, run_search
    from hwnas.spaces import get_space
    from hwnas.spaces.hybrid import DEPTHS, EXPANSIONS, HEADS, QKV_DIMS, WIDTHS

    torch.set_num_threads(1)
    options = {k: float(v) for k, v in (item.split("=", 1) for item in args.set)}
    space = get_space("hybrid")
    largest = "/".join(
        f"w{max(WIDTHS[s])}-e{max(EXPANSIONS)}" + (f"-q{max(QKV_DIMS[s])}-h{max(HEADS[s])}" if QKV_DIMS[s] else "")
        + ":" + ",".join(["tc7" if s else "cn7"] * max(DEPTHS[s]))
        for s in range(4)
    )  # fmt: skip
    rows = []
    for device in args.devices.split(","):
        source = load_latency_source(space=space, device=device)
        top = float(source.predict_ms(space, space.decode(largest)))
        for text in args.budgets.split(","):
            budget = top if text == "max" else float(text)
            config = SearchConfig(
                space="hybrid", constraints=Constraints(latency_ms=budget), strategy=make_strategy("cyclic", **options),
                evaluations=args.evaluations, seed=args.seed,
            )  # fmt: skip
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                best = run_search(config, source, Path(tmp) / "run")["best"]
            rows.append(
                {
                    "device": device, "budget": text, "budget_ms": budget,
                    "latency_ms": best["predicted_latency_ms"], "share": best["predicted_latency_ms"] / budget,
                    "params_m": best["params_m"], "flops_m": best["flops_m"], "arch": best["arch"],
                    "wall_s": time.perf_counter() - started,
                }
            )  # fmt: skip
            r = rows[-1]
            print(
                f"{device} {text} ({budget:.2f} ms): {r['latency_ms']:.2f} ms = {r['share']:.1%}, "
                f"{r['params_m']:.2f} M params, {r['flops_m']:.0f} M FLOPs, {r['wall_s']:.0f} s",
                file=sys.stderr,
            )
    print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
