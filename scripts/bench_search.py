"""Judge search strategies by regret on NAS-Bench-201 ground truth (REFERENCE §8).

Regret = the best accuracy the budget allows (the oracle over the feasible dev
archs) − the winner's accuracy. The grid: each latency column of the dev CSV
(default Pixel 3 and Raspberry Pi 4) at several quantiles of the dev archs'
latencies (default 25/50/75/100 %), each with a whole-architecture latency table
built from that column (only the 3,000 dev archs are known; the rest count as
infeasible). Every strategy runs with the same evaluation budget on every budget
and seed; per strategy the bench prints the mean ± sd regret per budget, the
selection rule's exhaustive ceiling (the winner its own rule picks from *every*
feasible arch), the mean over the grid, and whether every winner was feasible.

Proxy scores (seed 0, the search's default) come from --scores, a `hwnas score`
table; an arch missing from it is scored with the real proxies on first visit and
added, so every strategy and seed sees the same values and each arch is scored once.
Make the table once for the whole dev set (about 20 min on one core):

    .venv/bin/hwnas score --space nb201 -p es,logsynflow,naswot,skip_length \\
        --archs <(cut -d, -f2 ../shared/data/nb201/nb201_dev_cifar10.csv | tail -n +2) \\
        --out runs/dev/scores.csv --resume
    .venv/bin/python scripts/bench_search.py --scores runs/dev/scores.csv --seeds 5 --evaluations 300
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from hwnas.latency.sources import ArchLatencyTable
from hwnas.proxies import score_architecture
from hwnas.proxies.score_table import read_table
from hwnas.search import Constraints, SearchConfig, Strategy, make_strategy, run_search
from hwnas.search.fitness import BUDGET_USE
from hwnas.search.scoring import TableScorer
from hwnas.spaces import get_space

DEV_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201" / "nb201_dev_cifar10.csv"
DEFAULT_STRATEGIES = "cyclic,freerea,single:logsynflow,random:logsynflow"


class LazyTableScorer(TableScorer):
    """Looks scores up in a shared table; an arch missing from it is scored with the real proxies once."""

    def __init__(self, table: dict[str, dict[str, float]], proxies: Sequence[str], space: Any) -> None:
        super().__init__(table, proxies)
        self.space = space

    def score_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        for text in texts:
            missing = [p for p in self.config.proxies if p not in self.table.get(text, {})]
            if missing:
                scores = score_architecture(self.space, self.space.decode(text), missing, seed=0)
                self.table.setdefault(text, {}).update({p: float(v) for p, v in scores.items()})
        return super().score_many(texts)


def parse_strategy(text: str) -> Strategy:
    """``NAME`` or ``NAME:PROXY`` (single / random: the proxy; cyclic: ``TOPO+SIZE``) or
    ``NAME:key=value;key=value`` for any strategy parameter."""
    name, _, arg = text.partition(":")
    if not arg:
        return make_strategy(name)
    if "=" in arg:
        params: dict[str, Any] = {}
        for item in arg.split(";"):
            key, _, value = item.partition("=")
            params[key] = json.loads(value) if value[:1].isdigit() or value[:1] in "-[{" else value
        return make_strategy(name, **params)
    if name == "cyclic":
        topo, _, size = arg.partition("+")
        return make_strategy(name, topology_proxy=topo, size_proxy=size or "logsynflow")
    return make_strategy(name, proxy=arg)


def exhaustive_pick(strategy: Strategy, budget: dict[str, Any], table: dict[str, dict[str, float]]) -> str | None:
    """The arch the strategy's winner rule picks from every feasible arch (None: no such rule),
    with the engine's budget-use term (latency / limit) beside the proxy scores, as in a search."""
    rule = strategy.winner_fitness(get_space("nb201"))
    if rule is None:
        return None
    latency, limit = budget["source"].latency_ms, budget["latency_ms"]
    group = [{**table[a], BUDGET_USE: latency[a] / limit} for a in budget["feasible"]]
    return budget["feasible"][rule.best(group)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEV_CSV)
    parser.add_argument("--accuracy-column", default="cifar10_test_acc")
    parser.add_argument("--columns", default="pixel3_latency_ms,raspi4_latency_ms")
    parser.add_argument("--quantiles", default="25,50,75,100", help="budgets: these percentiles of each column")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed+seeds-1")
    parser.add_argument("--evaluations", type=int, default=300)
    parser.add_argument(
        "--strategies",
        default=DEFAULT_STRATEGIES,
        help="comma-separated NAME[:PROXY | :key=value;...], e.g. cyclic,freerea,random:logsynflow",
    )
    parser.add_argument(
        "--scores",
        type=Path,
        default=Path("runs/dev/scores.csv"),
        help="a `hwnas score` table (seed 0) of the dev archs; missing values are scored",
    )
    parser.add_argument(
        "--parallel", default="4", help="comma-separated children per step (K) to run every strategy at, e.g. 4,8,16"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the tables")
    args = parser.parse_args()

    torch.set_num_threads(1)  # tiny networks: more threads only contend on a shared machine
    console = Console(stderr=True)
    space = get_space("nb201")
    rows = list(csv.DictReader(args.csv.open()))
    accuracy = {r["arch_str"]: float(r[args.accuracy_column]) for r in rows}
    ks = [int(k) for k in args.parallel.split(",")]
    strategies = [
        (text if len(ks) == 1 else f"{text} K={k}", parse_strategy(text), k)
        for text in args.strategies.split(",")
        for k in ks
    ]
    proxies = sorted({p for _, s, _ in strategies for p in s.proxies})
    table: dict[str, dict[str, float]] = {}
    if args.scores.exists():
        _, by_arch = read_table(args.scores)
        table = {a: {p: float(v) for p, v in r.items() if p in proxies} for a, r in by_arch.items()}

    budgets = []
    for column in args.columns.split(","):
        source = ArchLatencyTable.from_csv(args.csv, space, latency_column=column)
        latencies = np.array(list(source.latency_ms.values()))
        for q in (float(x) for x in args.quantiles.split(",")):
            limit = float(np.quantile(latencies, q / 100))
            feasible = sorted(a for a, ms in source.latency_ms.items() if ms <= limit)
            budgets.append(
                {
                    "column": column,
                    "quantile": q,
                    "latency_ms": limit,
                    "source": source,
                    "feasible": feasible,
                    "oracle": max(accuracy[a] for a in feasible),
                }
            )
    missing = {a for b in budgets for a in b["feasible"] if any(p not in table.get(a, {}) for p in proxies)}
    if missing:
        console.print(f"scoring {len(missing)} feasible archs missing from {args.scores} (once)")
        LazyTableScorer(table, proxies, space).score_many(sorted(missing))

    results = []
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for text, strategy, parallel in strategies:
        per_budget = []
        for budget in budgets:
            regrets, walls, feasible_ok = [], [], True
            for seed in seeds:
                config = SearchConfig(
                    space="nb201",
                    constraints=Constraints(latency_ms=budget["latency_ms"]),
                    strategy=strategy,
                    evaluations=args.evaluations,
                    parallel=parallel,
                    seed=seed,
                )
                with tempfile.TemporaryDirectory() as tmp:
                    started = time.perf_counter()
                    out = run_search(
                        config,
                        budget["source"],
                        Path(tmp) / "run",
                        scorer=LazyTableScorer(table, strategy.proxies, space),
                    )
                    walls.append(time.perf_counter() - started)
                arch = out["best"]["arch"]
                feasible_ok &= arch in budget["feasible"]
                regrets.append(budget["oracle"] - accuracy[arch])
            pick = exhaustive_pick(strategy, budget, table)
            per_budget.append(
                {
                    "column": budget["column"],
                    "quantile": budget["quantile"],
                    "latency_ms": budget["latency_ms"],
                    "feasible_archs": len(budget["feasible"]),
                    "oracle_acc": budget["oracle"],
                    "mean_regret": statistics.mean(regrets),
                    "sd_regret": statistics.stdev(regrets) if len(regrets) > 1 else 0.0,
                    "regrets": regrets,
                    "exhaustive_regret": None if pick is None else budget["oracle"] - accuracy[pick],
                    "all_winners_feasible": feasible_ok,
                    "mean_wall_s": statistics.mean(walls),
                }
            )
            console.print(
                f"{text} {budget['column']} q{budget['quantile']:g}: regret "
                f"{per_budget[-1]['mean_regret']:.2f} ± {per_budget[-1]['sd_regret']:.2f}"
            )
        ceilings = [b["exhaustive_regret"] for b in per_budget]
        results.append(
            {
                "strategy": text,
                "parallel": parallel,
                "config": strategy.to_json(),
                "budgets": per_budget,
                "grid_mean_regret": statistics.mean(b["mean_regret"] for b in per_budget),
                "grid_mean_exhaustive_regret": None if None in ceilings else statistics.mean(ceilings),
                "all_winners_feasible": all(b["all_winners_feasible"] for b in per_budget),
                "mean_wall_s": statistics.mean(b["mean_wall_s"] for b in per_budget),
            }
        )
    report = {
        "accuracy_column": args.accuracy_column,
        "evaluations": args.evaluations,
        "seeds": seeds,
        "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print_report(report)
    return 0


def print_report(report: dict[str, Any]) -> None:
    console = Console(width=200)
    first = report["results"][0]["budgets"]
    grid = Table(
        title=f"NB201 regret (oracle − winner, {report['accuracy_column']}), {report['evaluations']} evaluations, "
        f"seeds {report['seeds'][0]}..{report['seeds'][-1]}: mean ± sd [exhaustive ceiling]",
        title_justify="left",
    )
    grid.add_column("strategy")
    for b in first:
        grid.add_column(
            f"{b['column'].split('_')[0]} q{b['quantile']:g}\n≤{b['latency_ms']:.2f} ms, oracle {b['oracle_acc']:.2f}"
        )
    grid.add_column("grid mean [exhaustive]")
    grid.add_column("all feasible")
    grid.add_column("s/run")
    for r in report["results"]:
        cells = []
        for b in r["budgets"]:
            ceiling = "" if b["exhaustive_regret"] is None else f" [{b['exhaustive_regret']:.2f}]"
            cells.append(f"{b['mean_regret']:.2f} ± {b['sd_regret']:.2f}{ceiling}")
        ceiling = r["grid_mean_exhaustive_regret"]
        grid.add_row(
            r["strategy"],
            *cells,
            f"{r['grid_mean_regret']:.3f}" + ("" if ceiling is None else f" [{ceiling:.3f}]"),
            "yes" if r["all_winners_feasible"] else "NO",
            f"{r['mean_wall_s']:.1f}",
        )
    console.print(grid)


if __name__ == "__main__":
    sys.exit(main())
