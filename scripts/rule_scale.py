"""How steady is the winner rule's pick, given the sample that sets its scale? (issue 24)

For each dev-grid budget (latency columns of the dev CSV at quantiles of the dev archs), draw
``--draws`` random scored samples of ``--scored`` feasible archs (what a search has: 50) and
``--free`` unscored ones (what the engine draws for free: 500), scale the NB201 winner rule by
each, and apply it to *every* feasible arch: the accuracy regret of the rule's pick, mean ± sd
over the draws. Scales compared: the scored sample alone (the engine before issue 24); the free
terms (skip length, budget use) from the unscored sample; that and the scored sample reweighted
to the unscored sample's dead share (the engine now, hwnas/search/reference.py); the feasible
set's exact scale (the ceiling). Proxy scores come from a `hwnas score` table of the space.

    python scripts/rule_scale.py --scores runs/whole/scores.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from pathlib import Path

import numpy as np
from bench_search import DEV_CSV

from hwnas.proxies.score_table import read_table
from hwnas.search import make_strategy
from hwnas.search.fitness import BUDGET_USE
from hwnas.search.reference import FREE_TERMS, FreeSample
from hwnas.spaces import get_space

SCALES = ("scored sample", "free terms", "free terms + dead share", "exact")


def pick(rule, group: list[dict], scored: list[int], free: list[int], dead: list[bool], scale: str) -> int:
    """Index of the rule's pick over ``group`` with the named scale, built by the engine's own
    :meth:`FreeSample.reference` (the scored sample alone: no free rows and no dead share)."""
    if scale == "exact":
        return rule.best(group)
    rows = [group[i] for i in scored]
    if scale == "scored sample":
        return rule.best(group, rows)
    names = [n for n, _, _ in rule.terms if n in FREE_TERMS]
    dead_share = float(np.mean([dead[i] for i in free]))
    sample = FreeSample([{n: group[i][n] for n in names} for i in free], dead_share, len(free))
    stratify = scale == "free terms + dead share"  # without it, no arch counts as dead: nothing is reweighted
    return rule.best(group, sample.reference(rows, [stratify and dead[i] for i in scored], least=1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEV_CSV)
    parser.add_argument("--scores", type=Path, default=Path("runs/whole/scores.csv"))
    parser.add_argument("--columns", default="pixel3_latency_ms,raspi4_latency_ms")
    parser.add_argument("--quantiles", default="10,25,50,75,100")
    parser.add_argument("--scored", type=int, default=50)
    parser.add_argument("--free", type=int, default=500)
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    space = get_space("nb201")
    rule = make_strategy("cyclic").winner_fitness(space)
    rows = list(csv.DictReader(args.csv.open()))
    _, by_arch = read_table(args.scores)
    proxies = [n for n, _, _ in rule.terms if n != BUDGET_USE]
    report = []
    for column in args.columns.split(","):
        latency = {space.encode(space.decode(r["arch_str"])): float(r[column]) for r in rows}
        accuracy = {space.encode(space.decode(r["arch_str"])): float(r["cifar10_test_acc"]) for r in rows}
        for q in args.quantiles.split(","):
            budget = float(np.quantile(list(latency.values()), float(q) / 100))
            feasible = [a for a in latency if latency[a] <= budget]
            group = [{**{p: float(by_arch[a][p]) for p in proxies}, BUDGET_USE: latency[a] / budget} for a in feasible]
            dead = [space.is_dead(space.decode(a)) for a in feasible]
            oracle = max(accuracy[a] for a in feasible)
            line = {"column": column, "quantile": q, "dead_share": float(np.mean(dead))}
            for scale in SCALES:
                regrets = []
                for draw in range(1 if scale == "exact" else args.draws):
                    rng = random.Random(draw)
                    scored = rng.sample(range(len(feasible)), args.scored)
                    free = [rng.randrange(len(feasible)) for _ in range(args.free)]
                    regrets.append(oracle - accuracy[feasible[pick(rule, group, scored, free, dead, scale)]])
                line[scale] = {"mean": float(np.mean(regrets)), "sd": float(np.std(regrets))}
            report.append(line)
            cells = ", ".join(f"{s} {line[s]['mean']:.2f} ± {line[s]['sd']:.2f}" for s in SCALES)
            print(f"{column} q{q} (dead {line['dead_share']:.0%}): {cells}", file=sys.stderr)
    means = {s: float(np.mean([r[s]["mean"] for r in report])) for s in SCALES}
    print("mean over the budgets: " + ", ".join(f"{s} {v:.3f}" for s, v in means.items()), file=sys.stderr)
    if args.json:
        print(json.dumps({"budgets": report, "mean": means}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
