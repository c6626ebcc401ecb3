"""A budget family against single-budget searches in the whole NB201 space, by rule regret (issue 24).

The dev grid (scripts/bench_family.py) judges in accuracy but sees only 3,000 archs; users
search all 15,625. Here, as in scripts/bench_whole_space.py, budgets come from what we count and
time ourselves (#Params, our NB201 block tables) and a search is judged by its winner's rule
regret: the gap in the winner rule's value to the rule's exhaustive pick over the feasible set,
in standard deviations of the rule there, and by how often it hits that pick. Per constraint
kind and seed: a family over the quantile budgets (``--family-share`` × ``--evaluations`` in
all) against one single-budget search per budget (``--evaluations`` each).

    python scripts/bench_family_whole.py --scores runs/whole/scores.csv --seeds 3 \\
        --tables runs/whole/nb201-host-cpu-openvino.json --kinds params_m,latency
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from bench_family import add_ablations, apply_ablations
from bench_search import parse_strategy
from bench_whole_space import budgets_of, rule_values, whole_space_costs

from hwnas.latency.sources import ArchLatencyTable
from hwnas.proxies.score_table import read_table
from hwnas.search import Constraints, SearchConfig, run_search
from hwnas.search.family import BudgetFamily
from hwnas.search.run import run_family
from hwnas.search.scoring import TableScorer
from hwnas.spaces import get_space


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scores", type=Path, default=Path("runs/whole/scores.csv"))
    parser.add_argument("--tables", default="", help="comma-separated NB201 latency tables (block JSON)")
    parser.add_argument("--kinds", default="params_m,latency", help="constraint kinds (comma-separated prefixes)")
    parser.add_argument("--quantiles", default="25,50,75,100")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--evaluations", type=int, default=300, help="of each single-budget search")
    parser.add_argument("--family-share", type=float, default=1.5)
    parser.add_argument("--strategy", default="cyclic")
    add_ablations(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    apply_ablations(args)
    torch.set_num_threads(1)
    space = get_space("nb201")
    strategy = parse_strategy(args.strategy)
    _, by_arch = read_table(args.scores)
    table = {a: {p: float(v) for p, v in r.items() if p in strategy.proxies_for(space)} for a, r in by_arch.items()}
    counts = {a: {k: float(v) for k, v in r.items() if k in ("params", "flops")} for a, r in by_arch.items()}
    costs = whole_space_costs(counts, [Path(p) for p in args.tables.split(",") if p])
    costs = {k: v for k, v in costs.items() if any(k.startswith(p) for p in args.kinds.split(","))}
    quantiles = [float(q) for q in args.quantiles.split(",")]
    report = []
    for kind, cost in costs.items():
        budgets = budgets_of({kind: cost}, quantiles)
        values = [rule_values(strategy, b, table) for b in budgets]
        picks = [max(v, key=lambda a, v=v: (v[a], a)) for v in values]
        sds = [float(np.std(list(v.values()))) or 1.0 for v in values]
        source = ArchLatencyTable(cost, space=space, source=kind)

        def regret(i: int, arch: str, values=values, picks=picks, sds=sds) -> float:
            return (values[i][picks[i]] - values[i][arch]) / sds[i]

        for seed in range(args.first_seed, args.first_seed + args.seeds):
            single = []
            for b in budgets:
                config = SearchConfig(space="nb201", constraints=Constraints(latency_ms=b["limit"]), strategy=strategy,
                                      evaluations=args.evaluations, seed=seed)  # fmt: skip
                with tempfile.TemporaryDirectory() as tmp:
                    out = run_search(config, source, Path(tmp) / "r", scorer=TableScorer(table, strategy.proxies))
                single.append(out["best"]["arch"])
            config = SearchConfig(space="nb201", constraints=Constraints(), strategy=strategy,
                                  evaluations=round(args.family_share * args.evaluations), seed=seed,
                                  family=BudgetFamily("latency_ms", tuple(b["limit"] for b in budgets)))  # fmt: skip
            with tempfile.TemporaryDirectory() as tmp:
                out = run_family(config, source, Path(tmp) / "f", scorer=TableScorer(table, strategy.proxies))
            family = [m["arch"] for m in out["family"]["members"]]
            row = {
                "kind": kind, "seed": seed,
                "single_regret": [regret(i, a) for i, a in enumerate(single)],
                "family_regret": [regret(i, a) for i, a in enumerate(family)],
                "single_hits": [a == p for a, p in zip(single, picks, strict=True)],
                "family_hits": [a == p for a, p in zip(family, picks, strict=True)],
            }  # fmt: skip
            report.append(row)
            print(f"{kind} seed {seed}: single {[round(r, 3) for r in row['single_regret']]} "
                  f"family {[round(r, 3) for r in row['family_regret']]}", file=sys.stderr)  # fmt: skip
    summary = []
    for kind in costs:
        rows = [r for r in report if r["kind"] == kind]
        for i, q in enumerate(quantiles):
            summary.append({
                "kind": kind, "quantile": q,
                "single_rule_regret": statistics.mean(r["single_regret"][i] for r in rows),
                "family_rule_regret": statistics.mean(r["family_regret"][i] for r in rows),
                "single_hit_rate": statistics.mean(r["single_hits"][i] for r in rows),
                "family_hit_rate": statistics.mean(r["family_hits"][i] for r in rows),
            })  # fmt: skip
    for line in summary:
        print(json.dumps(line), file=sys.stderr)
    if args.json:
        print(json.dumps({"runs": report, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
