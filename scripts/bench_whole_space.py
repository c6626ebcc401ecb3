"""Judge the NB201 search in the *whole* space by its own rule, with no accuracy (issue 22).

The optimiser's job is to find the argmax of its winner rule among the archs a budget
allows. Both are computable without accuracies: the proxies of all 15,625 archs (one
`hwnas score` pass) and budgets from what we count or measure ourselves: #Params, FLOPs
and NB201 latency tables profiled here (whole-arch latency = the sum of our own blocks).

For every budget (a constraint kind at a quantile of its values over the whole space):

- the rule's exhaustive pick: the winner rule applied to *every* feasible arch, each term
  standardised over the feasible set (REFERENCE §8's ceiling);
- for each strategy and seed, a real search (the engine, with scores looked up in the
  table, so thousands of searches take minutes) and its *rule regret*: the gap in rule
  value between the pick and the search's winner, in standard deviations of the rule over
  the feasible set, and whether it hit the pick.

Latency is each table's sum of blocks before calibration: quantile budgets rank the same, and a
linear calibration with a negative offset leaves the tiniest cells without a prediction.
A #Params or FLOPs budget runs through the latency path with the count as the cost: the
feasible set and the budget-use term are the same as with ``--params-m`` / ``--flops-m``.

    hwnas score --space nb201 -p es,logsynflow,params,flops,skip_length,sed \\
        --archs runs/whole/archs.txt --out runs/whole/scores.csv --resume      # ~13 min, 2 cores
    python scripts/bench_whole_space.py --scores runs/whole/scores.csv \\
        --tables runs/whole/nb201-host-cpu.json,runs/whole/nb201-host-cpu-openvino.json \\
        --strategies cyclic --seeds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from hwnas.latency.sources import ArchLatencyTable, BlockLatencyTable, load_latency_source
from hwnas.proxies.score_table import read_table
from hwnas.search import Constraints, SearchConfig, Strategy
from hwnas.search.engine import SearchEngine
from hwnas.search.fitness import BUDGET_USE
from hwnas.search.scoring import TableScorer
from hwnas.spaces import get_space

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import parse_strategy  # noqa: E402

DEFAULT_QUANTILES = "10,30,50,70,90"


def whole_space_costs(scores: dict[str, dict[str, float]], tables: Sequence[Path]) -> dict[str, dict[str, float]]:
    """Constraint kind -> {arch: cost} over every scored arch: #Params, FLOPs, each table's latency."""
    space = get_space("nb201")
    archs = sorted(scores)
    costs = {"params_m": {a: scores[a]["params"] for a in archs}, "flops_m": {a: scores[a]["flops"] for a in archs}}
    for path in tables:
        source = load_latency_source(space=space, table=path)
        assert isinstance(source, BlockLatencyTable), f"{path} is not a block table"
        costs[f"latency:{path.stem}"] = {a: float(source.raw_ms(space, space.decode(a))) for a in archs}
    return costs


def budgets_of(costs: dict[str, dict[str, float]], quantiles: Sequence[float]) -> list[dict[str, Any]]:
    out = []
    for kind, cost in costs.items():
        values = np.array(list(cost.values()))
        for q in quantiles:
            limit = float(np.quantile(values, q / 100))
            feasible = sorted(a for a, c in cost.items() if c <= limit)
            out.append({"kind": kind, "quantile": q, "limit": limit, "cost": cost, "feasible": feasible})
    return out


def rule_values(strategy: Strategy, budget: dict[str, Any], table: dict[str, dict[str, float]]) -> dict[str, float]:
    """The winner rule over the whole feasible set (each term standardised over it), per arch."""
    rule = strategy.winner_fitness(get_space("nb201"))
    assert rule is not None
    feasible, cost, limit = budget["feasible"], budget["cost"], budget["limit"]
    group = [{**table[a], BUDGET_USE: cost[a] / limit} for a in feasible]
    return dict(zip(feasible, rule.values(group), strict=True))


def run_one(
    strategy: Strategy,
    budget: dict[str, Any],
    table: dict[str, dict[str, float]],
    seed: int,
    evaluations: int,
    parallel: int = 4,
) -> tuple[str, float, set[str]]:
    """(winner, wall seconds without proxy time, the archs it scored) of one search on looked-up scores."""
    space = get_space("nb201")
    source = ArchLatencyTable(budget["cost"], space=space, source=budget["kind"])
    config = SearchConfig(
        space="nb201",
        constraints=Constraints(latency_ms=budget["limit"]),
        strategy=strategy,
        evaluations=evaluations,
        parallel=parallel,
        seed=seed,
    )
    engine = SearchEngine(config, source, scorer=TableScorer(table, strategy.proxies))
    started = time.perf_counter()
    state = engine.run()
    wall = time.perf_counter() - started
    return engine.winner()["arch"], wall, {h["arch"] for h in state.history}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scores", type=Path, default=Path("runs/whole/scores.csv"))
    parser.add_argument("--tables", default="", help="comma-separated NB201 latency tables (block JSON)")
    parser.add_argument("--quantiles", default=DEFAULT_QUANTILES)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--evaluations", type=int, default=300)
    parser.add_argument("--strategies", default="cyclic", help="comma-separated, as scripts/bench_search.py")
    parser.add_argument("--parallel", default="4", help="comma-separated children per step (K), e.g. 4,8,16")
    parser.add_argument("--kinds", default="", help="only these constraint kinds (comma-separated prefixes)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    torch.set_num_threads(1)  # tiny networks (counting, SED): more threads only contend on a shared machine
    console = Console(stderr=True)
    _, by_arch = read_table(args.scores)
    skip = ("arch",)
    table = {
        a: {p: float(v) for p, v in r.items() if p not in skip and not str(p).startswith("seconds_")}
        for a, r in by_arch.items()
    }
    if len(table) < 15625:
        console.print(f"warning: {args.scores} has {len(table)} of 15,625 archs: the bench covers those only")
    tables = [Path(p) for p in args.tables.split(",") if p]
    costs = whole_space_costs(table, tables)
    if args.kinds:
        costs = {k: v for k, v in costs.items() if any(k.startswith(p) for p in args.kinds.split(","))}
    budgets = budgets_of(costs, [float(q) for q in args.quantiles.split(",")])
    ks = [int(k) for k in args.parallel.split(",")]
    strategies = [
        (text if len(ks) == 1 else f"{text} K={k}", parse_strategy(text), k)
        for text in args.strategies.split(",")
        for k in ks
    ]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))

    results = []
    for text, strategy, parallel in strategies:
        per_budget = []
        for budget in budgets:
            values = rule_values(strategy, budget, table)
            pick = max(values, key=lambda a: (values[a], a))
            sd = float(np.std(list(values.values()))) or 1.0
            regrets, hits, seen, walls = [], 0, 0, []
            for seed in seeds:
                winner, wall, scored = run_one(strategy, budget, table, seed, args.evaluations, parallel)
                regrets.append((values[pick] - values[winner]) / sd)
                hits += winner == pick
                seen += pick in scored  # scored but not chosen: the history's scale, not exploration
                walls.append(wall)
            per_budget.append(
                {
                    "kind": budget["kind"],
                    "quantile": budget["quantile"],
                    "limit": budget["limit"],
                    "feasible": len(budget["feasible"]),
                    "pick": pick,
                    "rule_regret": statistics.mean(regrets),
                    "regrets": regrets,
                    "hit_rate": hits / len(seeds),
                    "pick_scored_rate": seen / len(seeds),
                    "engine_s": statistics.mean(walls),
                }
            )
            row = per_budget[-1]
            console.print(
                f"{text} {budget['kind']} q{budget['quantile']:g} ({row['feasible']} feasible): "
                f"rule regret {row['rule_regret']:.3f}, hits {row['hit_rate']:.0%}, "
                f"pick scored {row['pick_scored_rate']:.0%}"
            )
        results.append(
            {
                "strategy": text,
                "rule_regret": statistics.mean(b["rule_regret"] for b in per_budget),
                "hit_rate": statistics.mean(b["hit_rate"] for b in per_budget),
                "pick_scored_rate": statistics.mean(b["pick_scored_rate"] for b in per_budget),
                "engine_s": statistics.mean(b["engine_s"] for b in per_budget),
                "budgets": per_budget,
            }
        )
    if args.json:
        print(json.dumps({"seeds": seeds, "evaluations": args.evaluations, "results": results}, indent=2))
        return 0
    out = Table(title=f"whole-space rule regret ({len(budgets)} budgets x {len(seeds)} seeds)")
    for column in ("strategy", "rule regret (sd)", "hit rate", "pick scored", "engine s / search"):
        out.add_column(column)
    for r in results:
        out.add_row(
            r["strategy"],
            f"{r['rule_regret']:.3f}",
            f"{r['hit_rate']:.0%}",
            f"{r['pick_scored_rate']:.0%}",
            f"{r['engine_s']:.1f}",
        )
    Console().print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
