"""Does screening help the hybrid search too? Cyclic searches with and without the surrogate
screen under the reference models' latency on a device (issue 22).

The hybrid space cannot be enumerated, so there is no exhaustive pick. Every run's scored
candidates are pooled per budget (both variants, every seed); the winner rule is applied to
that pool, each term standardised over it, and a winner is judged by its gap to the pool's
best (in standard deviations of the rule over the pool) and by whether it is that best. Scores
are computed once per arch (seed 0) and shared by every run, so the variants see the same values.

    python scripts/bench_hybrid_screen.py --references edgenext-xxs,edgenext-xs,edgenext-s --seeds 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from hwnas.latency.sources import load_latency_source
from hwnas.search import Constraints, SearchConfig
from hwnas.search.engine import SearchEngine
from hwnas.search.fitness import BUDGET_USE
from hwnas.spaces import get_space
from hwnas.spaces.references import REFERENCES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_search import LazyTableScorer, parse_strategy  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--references", default="edgenext-xxs,edgenext-xs,edgenext-s")
    parser.add_argument("--device", default="host-cpu")
    parser.add_argument("--strategies", default="cyclic:screen=1,cyclic")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--evaluations", type=int, default=150)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    console = Console(stderr=True)
    space = get_space("hybrid")
    source = load_latency_source(space=space, device=args.device)
    strategies = [(t, parse_strategy(t)) for t in args.strategies.split(",")]
    table: dict[str, dict[str, float]] = {}
    report = []
    for name in args.references.split(","):
        limit = float(source.predict_ms(space, REFERENCES[name].encoding))
        runs = []
        for text, strategy in strategies:
            for seed in range(args.seeds):
                config = SearchConfig(
                    space="hybrid", constraints=Constraints(latency_ms=limit), strategy=strategy,
                    evaluations=args.evaluations, seed=seed,
                )  # fmt: skip
                engine = SearchEngine(config, source, scorer=LazyTableScorer(table, strategy.proxies, space))
                started = time.perf_counter()
                state = engine.run()
                winner = engine.winner()["arch"]
                runs.append((text, seed, winner, {h["arch"] for h in state.history}, time.perf_counter() - started))
                console.print(f"{name} ({limit:.2f} ms) {text} seed {seed}: {time.perf_counter() - started:.0f} s")
        rule = strategies[0][1].winner_fitness(space)
        assert rule is not None
        pool = sorted(set().union(*(r[3] for r in runs)))
        group = [{**table[a], BUDGET_USE: float(source.predict_ms(space, a)) / limit} for a in pool]
        values = dict(zip(pool, rule.values(group), strict=True))
        best, sd = max(pool, key=lambda a: values[a]), float(np.std(list(values.values()))) or 1.0
        for text, _ in strategies:
            mine = [r for r in runs if r[0] == text]
            report.append(
                {
                    "reference": name,
                    "latency_ms": limit,
                    "strategy": text,
                    "pool": len(pool),
                    "gap_sd": statistics.mean((values[best] - values[r[2]]) / sd for r in mine),
                    "pool_best_rate": statistics.mean(r[2] == best for r in mine),
                    "wall_s": statistics.mean(r[4] for r in mine),
                }
            )
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    out = Table(title=f"hybrid on {args.device}: gap to the pooled best by the winner rule ({args.seeds} seeds)")
    for column in ("reference budget", "strategy", "gap (sd)", "is the pooled best", "wall s"):
        out.add_column(column)
    for r in report:
        out.add_row(
            f"{r['reference']} {r['latency_ms']:.2f} ms", r["strategy"], f"{r['gap_sd']:.3f}",
            f"{r['pool_best_rate']:.0%}", f"{r['wall_s']:.0f}",
        )  # fmt: skip
    Console().print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
