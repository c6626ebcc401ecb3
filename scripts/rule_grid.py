"""Re-check the winner rule's weights on a wide budget grid of the NB201 dev archs (issue 22).

The rule z(ES) + z(log LogSynflow) + w_skip·z(skip length) + w_budget·z(budget use) was tuned on
two dev latency columns (Pixel 3, Raspberry Pi 4). Here every variant picks from *every* dev arch
a budget allows (the exhaustive ceiling of a search using it) on a wider grid: the two dev
columns, the latency our own NB201 tables predict for each dev arch (ONNX Runtime, OpenVINO,
LiteRT, profiled here), #Params and FLOPs, each at five quantiles (10 to 90 %). A term is kept
only if it helps on most constraint kinds, not on average alone.

    python scripts/rule_grid.py --scores runs/whole/scores.csv \\
        --tables runs/whole/nb201-host-cpu.json,runs/whole/nb201-host-cpu-openvino.json,...
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from hwnas.latency.sources import BlockLatencyTable, load_latency_source
from hwnas.proxies.score_table import read_table
from hwnas.search.fitness import BUDGET_USE, ZScoreSum
from hwnas.spaces import get_space

DEV_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201" / "nb201_dev_cifar10.csv"
QUANTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)


def rule(es: float, skip: float, budget: float, size: str = "logsynflow") -> ZScoreSum:
    return ZScoreSum(
        (("es", es, "identity"), (size, 1.0, "signed_log"), ("skip_length", skip, "identity"),
         (BUDGET_USE, budget, "identity"))
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEV_CSV)
    parser.add_argument("--scores", type=Path, default=Path("runs/whole/scores.csv"))
    parser.add_argument("--tables", default="", help="comma-separated NB201 block tables profiled here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.csv.exists():
        print(f"error: the dev CSV {args.csv} is not there (../shared beside the repo)", file=sys.stderr)
        return 1
    space = get_space("nb201")
    rows = list(csv.DictReader(args.csv.open()))
    archs = [space.encode(space.decode(r["arch_str"])) for r in rows]
    accuracy = np.array([float(r["cifar10_test_acc"]) for r in rows])
    _, by_arch = read_table(args.scores)
    scores = [{p: float(by_arch[a][p]) for p in ("es", "logsynflow", "skip_length", "params", "flops")} for a in archs]
    costs = {
        "pixel3 (dev)": np.array([float(r["pixel3_latency_ms"]) for r in rows]),
        "raspi4 (dev)": np.array([float(r["raspi4_latency_ms"]) for r in rows]),
        "params": np.array([s["params"] for s in scores]),
        "flops": np.array([s["flops"] for s in scores]),
    }
    for path in (Path(p) for p in args.tables.split(",") if p):  # sums of blocks, before calibration
        source = load_latency_source(space=space, table=path)
        assert isinstance(source, BlockLatencyTable), f"{path} is not a block table"
        costs[path.stem] = np.array([float(source.raw_ms(space, space.decode(a))) for a in archs])

    variants = {
        f"es {e:g}, skip {k:g}, budget {b:g}": rule(e, k, b)
        for e, k, b in itertools.product((0.5, 1.0, 1.5), (0.0, 0.25, 0.5, 1.0), (0.0, 0.25, 0.5))
    }
    # #Params as the size term, the signal to beat on real networks (issue 23)
    variants["#Params for LogSynflow: es 0.5, skip 0.25, budget 0.25"] = rule(0.5, 0.25, 0.25, size="params")
    variants["#Params for LogSynflow: es 1, skip 0.5, budget 0.25"] = rule(1.0, 0.5, 0.25, size="params")
    results: dict[str, dict[str, float]] = {name: {} for name in variants}
    for kind, cost in costs.items():
        for name, fitness in variants.items():
            regrets = []
            for q in QUANTILES:
                limit = float(np.quantile(cost, q / 100))
                feasible = np.flatnonzero(cost <= limit)
                group = [{**scores[i], BUDGET_USE: cost[i] / limit} for i in feasible]
                pick = feasible[fitness.best(group)]
                regrets.append(accuracy[feasible].max() - accuracy[pick])
            results[name][kind] = float(np.mean(regrets))
    kinds = list(costs)
    ranked = sorted(variants, key=lambda n: np.mean(list(results[n].values())))
    if args.json:
        print(json.dumps({"kinds": kinds, "quantiles": QUANTILES, "regret": results}, indent=2))
        return 0
    out = Table(title=f"exhaustive accuracy regret on {len(kinds)} kinds x {len(QUANTILES)} quantiles (dev archs)")
    out.add_column("rule")
    out.add_column("mean")
    for kind in kinds:
        out.add_column(kind)
    for name in ranked:
        out.add_row(name, f"{np.mean(list(results[name].values())):.3f}", *(f"{results[name][k]:.2f}" for k in kinds))
    Console().print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
