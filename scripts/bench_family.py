"""A budget family against single-budget searches, on NAS-Bench-201 dev ground truth (issue 24).

For each latency column of the dev CSV and each seed: one single-budget search per quantile
budget (``--evaluations`` each), and one family over all the quantiles (``--family-share`` ×
``--evaluations`` in all, one winner per budget). Regret = the best dev accuracy the budget
allows − the winner's. The family's cost is its evaluations (and wall time) over one single
search's; each member is compared with its single-budget twin, per budget over the seeds.
Scores come from a `hwnas score` table (as in scripts/bench_search.py), so both sides see the
same values and the wall times count the search, not the proxies.

    python scripts/bench_family.py --scores runs/whole/scores.csv --seeds 5 --evaluations 300 --family-share 1.5
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

import numpy as np
import torch
from bench_search import DEV_CSV, LazyTableScorer

import hwnas.search.family_engine as family_engine
from hwnas.latency.sources import ArchLatencyTable
from hwnas.proxies.score_table import read_table
from hwnas.search import Constraints, SearchConfig, make_strategy, run_search
from hwnas.search.family import BudgetFamily
from hwnas.search.run import run_family
from hwnas.spaces import get_space


def add_ablations(parser: argparse.ArgumentParser) -> None:
    """The family engine's ablation switches, as options (shared by the three family benches)."""
    parser.add_argument("--no-migrate", action="store_true", help="ablation: members do not share children")
    parser.add_argument("--stream", choices=("own", "twin"), default="own", help="ablation: members' random streams")
    parser.add_argument("--size-weight", type=float, default=0.0,
                        help="ablation: share of evaluations split by feasible-set size (0: even)")  # fmt: skip


def apply_ablations(args: argparse.Namespace) -> None:
    family_engine.MIGRATE = not args.no_migrate
    family_engine.STREAM = args.stream
    family_engine.SIZE_WEIGHT = args.size_weight


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEV_CSV)
    parser.add_argument("--accuracy-column", default="cifar10_test_acc")
    parser.add_argument("--columns", default="pixel3_latency_ms,raspi4_latency_ms")
    parser.add_argument("--quantiles", default="25,50,75,100")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed+seeds-1")
    parser.add_argument("--evaluations", type=int, default=300, help="of each single-budget search")
    parser.add_argument("--family-share", type=float, default=1.5, help="the family's evaluations / one search's")
    parser.add_argument("--scores", type=Path, default=Path("runs/whole/scores.csv"))
    add_ablations(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    apply_ablations(args)
    if not args.csv.exists():
        print(f"error: the dev CSV {args.csv} is not there (../shared beside the repo)", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    space = get_space("nb201")
    strategy = make_strategy("cyclic")
    proxies = strategy.proxies_for(space)
    rows = list(csv.DictReader(args.csv.open()))
    accuracy = {space.encode(space.decode(r["arch_str"])): float(r[args.accuracy_column]) for r in rows}
    table: dict[str, dict[str, float]] = {}
    if args.scores.exists():
        _, by_arch = read_table(args.scores)
        table = {a: {p: float(v) for p, v in r.items() if p in proxies} for a, r in by_arch.items()}
    family_evaluations = round(args.family_share * args.evaluations)
    report = []
    for column in args.columns.split(","):
        source = ArchLatencyTable.from_csv(args.csv, space, latency_column=column)
        values = np.array(list(source.latency_ms.values()))
        budgets = [float(np.quantile(values, float(q) / 100)) for q in args.quantiles.split(",")]
        oracle = [max(accuracy[a] for a, ms in source.latency_ms.items() if ms <= b) for b in budgets]
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            single_regret, single_wall = [], []
            for budget, best_acc in zip(budgets, oracle, strict=True):
                config = SearchConfig(space="nb201", constraints=Constraints(latency_ms=budget), strategy=strategy,
                                      evaluations=args.evaluations, seed=seed)  # fmt: skip
                with tempfile.TemporaryDirectory() as tmp:
                    started = time.perf_counter()
                    out = run_search(config, source, Path(tmp) / "r", scorer=LazyTableScorer(table, proxies, space))
                    single_wall.append(time.perf_counter() - started)
                single_regret.append(best_acc - accuracy[out["best"]["arch"]])
            config = SearchConfig(space="nb201", constraints=Constraints(), strategy=strategy,
                                  evaluations=family_evaluations, seed=seed,
                                  family=BudgetFamily("latency_ms", tuple(budgets)))  # fmt: skip
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                out = run_family(config, source, Path(tmp) / "f", scorer=LazyTableScorer(table, proxies, space))
                family_wall = time.perf_counter() - started
            member_regret = [b - accuracy[m["arch"]] for b, m in zip(oracle, out["family"]["members"], strict=True)]
            row = {
                "column": column, "seed": seed, "budgets_ms": budgets, "single_regret": single_regret,
                "family_regret": member_regret, "single_wall_s": single_wall, "family_wall_s": family_wall,
                "family_evaluations": out["run"]["evaluations"],
            }  # fmt: skip
            report.append(row)
            print(
                f"{column} seed {seed}: single {[round(r, 2) for r in single_regret]} "
                f"family {[round(r, 2) for r in member_regret]}; family {family_wall:.1f} s "
                f"= {family_wall / statistics.mean(single_wall):.2f}x one search, "
                f"{row['family_evaluations']} evaluations",
                file=sys.stderr,
            )
    quantiles = args.quantiles.split(",")
    summary = []
    for column in args.columns.split(","):
        rows_c = [r for r in report if r["column"] == column]
        for i, q in enumerate(quantiles):
            s = statistics.mean(r["single_regret"][i] for r in rows_c)
            f = statistics.mean(r["family_regret"][i] for r in rows_c)
            summary.append({"column": column, "quantile": q, "single": s, "family": f, "difference": f - s})
        cost = statistics.mean(r["family_wall_s"] / statistics.mean(r["single_wall_s"]) for r in rows_c)
        summary.append({"column": column, "cost_wall_x_one_search": cost,
                        "cost_evaluations_x_one_search": family_evaluations / args.evaluations})  # fmt: skip
    for line in summary:
        print(json.dumps(line), file=sys.stderr)
    if args.json:
        print(json.dumps({"runs": report, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
