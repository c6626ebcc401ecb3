"""Benchmark the search on NAS-Bench-201 against ground truth.

With a whole-architecture latency table built from the dev CSV's ``pixel3_latency_ms``
(only its 3,000 archs are known; the rest count as infeasible) and a budget at the
median latency, runs the cyclic search, single-proxy searches and random search
with the same evaluation budget over several seeds. Prints, per strategy, the mean
CIFAR-10 accuracy of the winner, the oracle (best accuracy under the same
constraint in the table), the gap, and wall time.

    .venv/bin/python scripts/bench_search.py --seeds 5 --evaluations 300
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hwnas.latency.sources import ArchLatencyTable
from hwnas.search import Constraints, SearchConfig, run_search
from hwnas.spaces import get_space

DEV_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201" / "nb201_dev_cifar10.csv"


def parse_strategy(text: str) -> dict:
    """``cyclic`` | ``cyclic:TOPO+SIZE`` | ``single:PROXY`` | ``random:PROXY``."""
    kind, _, arg = text.partition(":")
    if kind == "cyclic":
        topo, _, size = (arg or "es+logsynflow").partition("+")
        return {"strategy": "cyclic", "topology_proxy": topo, "size_proxy": size}
    return {"strategy": kind, "proxy": arg}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEV_CSV)
    parser.add_argument("--latency-column", default="pixel3_latency_ms")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--evaluations", type=int, default=300)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--strategies", default="cyclic,single:es,single:logsynflow,random:logsynflow,random:es")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = parser.parse_args()

    space = get_space("nb201")
    rows = list(csv.DictReader(args.csv.open()))
    accuracy = {r["arch_str"]: float(r["cifar10_test_acc"]) for r in rows}
    source = ArchLatencyTable.from_csv(args.csv, space, latency_column=args.latency_column)
    budget_ms = statistics.median(source.latency_ms.values())
    oracle = max(accuracy[a] for a, ms in source.latency_ms.items() if ms <= budget_ms)
    console = Console(stderr=True)
    results = []
    for text in args.strategies.split(","):
        spec = parse_strategy(text)
        winners, seconds, evaluations = [], [], []
        for seed in range(args.seeds):
            config = SearchConfig(space="nb201", constraints=Constraints(latency_ms=budget_ms),
                                  evaluations=args.evaluations, cycles=args.cycles, seed=seed, **spec)
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                out = run_search(config, source, Path(tmp) / "run", workers=args.workers)
                seconds.append(time.perf_counter() - started)
            winners.append(accuracy[out["best"]["arch"]])
            evaluations.append(out["run"]["evaluations"])
            console.print(f"{text} seed {seed}: winner {winners[-1]:.2f} ({seconds[-1]:.1f} s)")
        results.append({
            "strategy": text, "mean_winner_acc": statistics.mean(winners), "winner_accs": winners,
            "oracle_acc": oracle, "gap": oracle - statistics.mean(winners),
            "mean_wall_s": statistics.mean(seconds), "mean_evaluations": statistics.mean(evaluations),
        })
    report = {"latency_budget_ms": budget_ms, "oracle_acc": oracle, "evaluations": args.evaluations,
              "seeds": args.seeds, "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    table = Table(title=f"NB201 CIFAR-10, latency <= {budget_ms:.3f} ms ({args.latency_column}), "
                        f"{args.evaluations} evaluations, {args.seeds} seeds", title_justify="left")
    for col in ("strategy", "winner acc (mean)", "oracle", "gap", "per seed", "wall s (mean)"):
        table.add_column(col)
    for r in results:
        table.add_row(r["strategy"], f"{r['mean_winner_acc']:.2f}", f"{r['oracle_acc']:.2f}", f"{r['gap']:.2f}",
                      " ".join(f"{a:.2f}" for a in r["winner_accs"]), f"{r['mean_wall_s']:.1f}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
