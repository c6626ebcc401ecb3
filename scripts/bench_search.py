"""Benchmark the search on NAS-Bench-201 against ground truth.

With a whole-architecture latency table built from the dev CSV's ``pixel3_latency_ms``
(only its 3,000 archs are known; the rest count as infeasible) and a budget at the
median latency, runs the cyclic search, single-proxy searches and random search
with the same evaluation budget over several seeds. Prints, per strategy, the mean
CIFAR-10 accuracy of the winner, the oracle (best accuracy under the same
constraint in the table), the gap, and wall time.

Proxy scores (seed 0) are computed the first time any strategy or seed visits an
architecture and kept in --scores (a `hwnas score`-format table, reused by later
invocations), so every strategy is compared on the same proxy values and each
architecture is scored once; with --prescore all feasible archs are scored up front.

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
from hwnas.proxies import score_architecture
from hwnas.proxies.table import ScoreSettings, read_table, score_table, write_table
from hwnas.search import Constraints, SearchConfig, run_search
from hwnas.search.engine import pick_from_history
from hwnas.search.scoring import TableScorer
from hwnas.spaces import get_space

DEV_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201" / "nb201_dev_cifar10.csv"


class LazyTableScorer(TableScorer):
    """Scores an architecture with the real proxies the first time any run asks, then looks it up."""

    def __init__(self, table: dict[str, dict[str, float]], proxies, space, all_proxies) -> None:
        super().__init__(table, proxies)
        self.space = space
        self.all_proxies = sorted(all_proxies)

    def score_many(self, texts):
        for text in texts:
            if text not in self.table:
                scores = score_architecture(self.space, self.space.decode(text), self.all_proxies, seed=0)
                self.table[text] = {p: float(v) for p, v in scores.items()}
        return super().score_many(texts)


def parse_strategy(text: str) -> dict:
    """``cyclic`` | ``cyclic:TOPO+SIZE`` | ``single:PROXY`` | ``random:PROXY``."""
    kind, _, arg = text.partition(":")
    if kind == "cyclic":
        topo, _, size = (arg or "es+logsynflow").partition("+")
        return {"strategy": "cyclic", "topology_proxy": topo, "size_proxy": size}
    return {"strategy": kind, "proxy": arg}


def proxy_ceiling(config: SearchConfig, feasible: list[str], table: dict[str, dict[str, float]],
                  accuracy: dict[str, float]) -> float | None:
    """Accuracy of the arch the strategy's own selection rule picks from *every* feasible arch.

    What an exhaustive search with the same proxies would report: the part of the gap
    to the oracle that belongs to the proxies, not the search. None until all are scored.
    """
    if not all(a in table for a in feasible):
        return None
    return accuracy[pick_from_history([{"arch": a, "scores": table[a]} for a in feasible], config)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEV_CSV)
    parser.add_argument("--latency-column", default="pixel3_latency_ms")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed .. first-seed+seeds-1")
    parser.add_argument("--evaluations", type=int, default=300)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--strategies", default="cyclic,single:es,single:logsynflow,random:logsynflow,random:es")
    parser.add_argument("--scores", type=Path, default=Path("runs/bench_search/scores.csv"),
                        help="resumable score table of the feasible archs (es, logsynflow, ... at seed 0)")
    parser.add_argument("--prescore", action="store_true", help="score every feasible arch before searching")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = parser.parse_args()

    space = get_space("nb201")
    rows = list(csv.DictReader(args.csv.open()))
    accuracy = {r["arch_str"]: float(r["cifar10_test_acc"]) for r in rows}
    source = ArchLatencyTable.from_csv(args.csv, space, latency_column=args.latency_column)
    budget_ms = statistics.median(source.latency_ms.values())
    oracle = max(accuracy[a] for a, ms in source.latency_ms.items() if ms <= budget_ms)
    console = Console(stderr=True)
    feasible = sorted(a for a, ms in source.latency_ms.items() if ms <= budget_ms)
    specs = [parse_strategy(t) for t in args.strategies.split(",")]
    proxies = sorted({p for spec in specs for p in (spec.get("proxy"), spec.get("topology_proxy"), spec.get("size_proxy")) if p})
    settings = ScoreSettings(space="nb201", seed=0, batch_size=None, resolution=None, num_classes=None, data=None)
    started = time.perf_counter()
    if args.prescore:
        score_table(space, feasible, proxies, args.scores, resume=True, settings=settings)
    table: dict[str, dict[str, float]] = {}
    if args.scores.exists():
        _, rows_by_arch = read_table(args.scores)
        table = {a: {p: float(r[p]) for p in proxies} for a, r in rows_by_arch.items() if all(p in r for p in proxies)}
    scorer_factory = lambda names: LazyTableScorer(table, names, space, proxies)  # noqa: E731
    console.print(f"{len(table)} archs already scored ({time.perf_counter() - started:.1f} s)")
    results = []
    for text in args.strategies.split(","):
        spec = parse_strategy(text)
        winners, seconds, evaluations = [], [], []
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            config = SearchConfig(space="nb201", constraints=Constraints(latency_ms=budget_ms),
                                  evaluations=args.evaluations, cycles=args.cycles, seed=seed, **spec)
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                out = run_search(config, source, Path(tmp) / "run", scorer=scorer_factory(config.scored_proxies))
                seconds.append(time.perf_counter() - started)
            write_table(args.scores, proxies, [{"arch": a, **v} for a, v in sorted(table.items())])
            winners.append(accuracy[out["best"]["arch"]])
            evaluations.append(out["run"]["evaluations"])
            console.print(f"{text} seed {seed}: winner {winners[-1]:.2f} ({seconds[-1]:.1f} s)")
        results.append({
            "strategy": text, "mean_winner_acc": statistics.mean(winners), "winner_accs": winners,
            "stdev_winner_acc": statistics.stdev(winners) if len(winners) > 1 else 0.0,
            "oracle_acc": oracle, "gap": oracle - statistics.mean(winners),
            "proxy_ceiling_acc": proxy_ceiling(config, feasible, table, accuracy),
            "mean_wall_s": statistics.mean(seconds), "mean_evaluations": statistics.mean(evaluations),
        })
    report = {"latency_budget_ms": budget_ms, "oracle_acc": oracle, "evaluations": args.evaluations,
              "seeds": list(range(args.first_seed, args.first_seed + args.seeds)), "feasible_archs": len(feasible), "scored_archs": len(table), "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    table = Table(title=f"NB201 CIFAR-10, latency <= {budget_ms:.3f} ms ({args.latency_column}), "
                        f"{args.evaluations} evaluations, {args.seeds} seeds", title_justify="left")
    for col in ("strategy", "winner acc (mean ± sd)", "oracle", "gap", "exhaustive (proxy ceiling)", "per seed",
                "wall s (mean)"):
        table.add_column(col)
    for r in results:
        ceiling = "n/a" if r["proxy_ceiling_acc"] is None else f"{r['proxy_ceiling_acc']:.2f}"
        seeds = " ".join(f"{a:.2f}" for a in r["winner_accs"]) if len(r["winner_accs"]) <= 10 else "(see --json)"
        table.add_row(r["strategy"], f"{r['mean_winner_acc']:.2f} ± {r['stdev_winner_acc']:.2f}",
                      f"{r['oracle_acc']:.2f}", f"{r['gap']:.2f}", ceiling, seeds, f"{r['mean_wall_s']:.1f}")
    Console(width=160).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
