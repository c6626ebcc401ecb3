"""A hybrid budget family against single-budget searches of the same total evaluations (issue 24).

One family over ``--budgets`` (``--evaluations`` × the number of budgets in all) against one
single-budget search per budget (``--evaluations`` each), on the device's table, with the real
proxies. Reported: wall time of each side (one run, same process), proxy scorings, and for each
budget the winner rule's value of the member and of its single-budget twin, standardised over the
union of both runs' candidates feasible for that budget (so both are judged on one scale).

    python scripts/bench_family_hybrid.py --device host-cpu --budgets 5,10,20 --evaluations 200 --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from bench_family import add_ablations, apply_ablations

from hwnas.latency.sources import load_latency_source
from hwnas.search import Constraints, SearchConfig, make_strategy, run_search
from hwnas.search.constraints import FeasibilityChecker
from hwnas.search.family import BudgetFamily
from hwnas.search.fitness import BUDGET_USE
from hwnas.search.run import run_family
from hwnas.spaces import get_space


def history(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="host-cpu")
    parser.add_argument("--budgets", default="5,10,20")
    parser.add_argument("--evaluations", type=int, default=200, help="per budget")
    parser.add_argument("--seed", type=int, default=0)
    add_ablations(parser)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    apply_ablations(args)
    torch.set_num_threads(1)
    space = get_space("hybrid")
    strategy = make_strategy("cyclic")
    rule = strategy.winner_fitness(space)
    source = load_latency_source(space=space, device=args.device)
    budgets = [float(b) for b in args.budgets.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        singles, single_wall = [], 0.0
        for budget in budgets:
            config = SearchConfig(space="hybrid", constraints=Constraints(latency_ms=budget), strategy=strategy,
                                  evaluations=args.evaluations, seed=args.seed)  # fmt: skip
            started = time.perf_counter()
            out = run_search(config, source, Path(tmp) / f"single-{budget:g}")
            single_wall += time.perf_counter() - started
            singles.append((out["best"]["arch"], history(Path(out["out"]))))
        config = SearchConfig(space="hybrid", constraints=Constraints(), strategy=strategy,
                              evaluations=args.evaluations * len(budgets), seed=args.seed,
                              family=BudgetFamily("latency_ms", tuple(budgets)))  # fmt: skip
        started = time.perf_counter()
        out = run_family(config, source, Path(tmp) / "family")
        family_wall = time.perf_counter() - started
        family_history = history(Path(out["out"]))
        members = out["family"]["members"]
    rows = []
    for budget, (twin, twin_history), member in zip(budgets, singles, members, strict=True):
        checker = FeasibilityChecker(space, Constraints(latency_ms=budget), source)
        pool = {h["arch"]: h["scores"] for h in [*twin_history, *family_history]}
        feasible = [a for a in pool if checker.check(space.decode(a)).feasible]
        group = [{**pool[a], BUDGET_USE: checker.budget_use(space.decode(a))} for a in feasible]
        values = dict(zip(feasible, rule.values(group), strict=True))
        rows.append(
            {
                "budget_ms": budget, "member": member["arch"], "twin": twin,
                "member_rule": values[member["arch"]], "twin_rule": values[twin],
                "member_params_m": member["params_m"], "member_latency_ms": member["predicted_latency_ms"],
                "twin_params_m": next(h["params_m"] for h in twin_history if h["arch"] == twin),
                "twin_latency_ms": next(h["latency_ms"] for h in twin_history if h["arch"] == twin),
            }
        )  # fmt: skip
    report = {
        "device": args.device, "budgets": budgets, "evaluations_per_budget": args.evaluations, "seed": args.seed,
        "single_wall_s": single_wall, "family_wall_s": family_wall, "wall_ratio": family_wall / single_wall,
        "single_scorings": sum(len(h) for _, h in singles), "family_scorings": len(family_history), "members": rows,
    }  # fmt: skip
    for r in rows:
        print(
            f"{r['budget_ms']:g} ms: member rule {r['member_rule']:+.3f} ({r['member_params_m']:.2f} M, "
            f"{r['member_latency_ms']:.2f} ms) vs twin {r['twin_rule']:+.3f} ({r['twin_params_m']:.2f} M, "
            f"{r['twin_latency_ms']:.2f} ms)",
            file=sys.stderr,
        )
    print(
        f"wall: family {family_wall:.1f} s vs three searches {single_wall:.1f} s ({report['wall_ratio']:.2f}x); "
        f"scorings {report['family_scorings']} vs {report['single_scorings']}",
        file=sys.stderr,
    )
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
