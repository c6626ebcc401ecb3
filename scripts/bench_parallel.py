"""Search throughput at K = 4 and K = 16 children per step on a two-node Ray cluster (issue 24, docs/scale.md).

A search step breeds K children in the driver and scores them together, so a step keeps at
most K CPUs busy and the driver's serial part (breeding, feasibility, latency, the surrogate
screen) runs once per step. One run starts a real cluster on 127.0.0.1 (``--nodes`` nodes of
one CPU each), warms every worker, then runs the same search (hybrid space, host-cpu table
latencies, real proxies) at each K, alternating the Ks ``--repeats`` times so that a change
in the machine's load hits both, and reports evaluations per second at each K and their ratio
(the median of the repeats). Each search scores fresh architectures: nothing is cached across
runs. Since K changes which architectures a search scores, and a hybrid network's scoring
cost varies with its size, the bench also times every scoring call inside its task and
reports the scoring work done per second of search (CPU-seconds of scoring per second: at
most the worker count) and the split of a search's wall time between the driver's serial
part and the waits for scoring. Results (the winner at each K) are deterministic; the
timings are not, so compare only the ratios of one run.

    flock /tmp/hwnas-cpu.lock .venv/bin/python scripts/bench_parallel.py --evaluations 96 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

from hwnas.executors.cluster import LocalRayCluster
from hwnas.executors.ray import RayExecutor
from hwnas.latency.sources import load_latency_source
from hwnas.search import Constraints, SearchConfig
from hwnas.search.engine import SearchEngine
from hwnas.search.scoring import ProxyScorer, ScoringConfig, _score
from hwnas.spaces import get_space
from hwnas.spaces.references import REFERENCES


def timed_score(config: ScoringConfig, text: str) -> tuple[dict[str, float], float]:
    """The scores and the seconds they took, measured inside the task."""
    started = time.perf_counter()
    return _score(config, text), time.perf_counter() - started


class TimedScorer(ProxyScorer):
    """The search's scorer, adding up the time spent waiting for scores and the scoring time in the tasks."""

    waited_s = 0.0
    work_s = 0.0

    def score_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            started = time.perf_counter()
            results = self.executor.map(partial(timed_score, self.config), todo)
            self.waited_s += time.perf_counter() - started
            for text, (scores, seconds) in zip(todo, results, strict=True):
                self.cache[text] = scores
                self.work_s += seconds
        return [self.cache[t] for t in texts]

    def close(self) -> None:  # the executor outlives one search
        pass


def one_search(config: SearchConfig, source: Any, executor: RayExecutor) -> dict[str, Any]:
    """Wall time, scoring waits and work, winner and evaluations of one search scored on ``executor``."""
    scorer = TimedScorer(
        ScoringConfig(
            config.space, config.scored_proxies, config.seed, config.proxy_resolution, config.proxy_batch_size
        ),
        executor=executor,
    )
    engine = SearchEngine(config, source, scorer=scorer)
    started = time.perf_counter()
    state = engine.run()
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "waited_s": scorer.waited_s,
        "work_s": scorer.work_s,
        "winner": engine.winner()["arch"],
        "evaluations": state.evaluations,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="hybrid")
    parser.add_argument("--device", default="host-cpu", help="the latency table in latency_tables/")
    parser.add_argument("--reference", default="edgenext-xs", help="the budget: this reference model's latency")
    parser.add_argument("--parallel", default="4,16", help="comma-separated K to compare (the first is the base)")
    parser.add_argument("--evaluations", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (and CPUs) per Ray task")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    ks = [int(k) for k in args.parallel.split(",")]
    space = get_space(args.space)
    source = load_latency_source(space=space, device=args.device)
    limit = float(source.predict_ms(space, REFERENCES[args.reference].encoding))

    def config(k: int, seed: int) -> SearchConfig:
        return SearchConfig(
            space=args.space,
            constraints=Constraints(latency_ms=limit),
            evaluations=args.evaluations,
            parallel=k,
            seed=seed,
        )

    runs: dict[int, list[dict[str, Any]]] = {k: [] for k in ks}
    with LocalRayCluster(nodes=args.nodes, cpus_per_node=args.threads) as cluster:
        os.environ.update(cluster.driver_env())
        executor = RayExecutor(cluster.address, threads=args.threads)
        try:
            # warm every worker (a worker's first task imports torch and hwnas): a short search per K
            for k in ks:
                one_search(SearchConfig(**{**config(k, 10**6 + k).__dict__, "evaluations": 2 * k}), source, executor)
            for _ in range(args.repeats):
                for k in ks:
                    run = one_search(config(k, args.seed), source, executor)
                    runs[k].append(run)
                    print(
                        f"K={k}: {run['evaluations']} evaluations in {run['wall_s']:.1f} s (waiting for scores "
                        f"{run['waited_s']:.1f} s, {run['work_s']:.1f} CPU-s of scoring)",
                        file=sys.stderr,
                    )
            workers = executor.workers
        finally:
            executor.close()

    def median(k: int, of: Any) -> float:
        return statistics.median(of(r) for r in runs[k])

    rate = {k: median(k, lambda r: r["evaluations"] / r["wall_s"]) for k in ks}
    work = {k: median(k, lambda r: r["work_s"] / r["wall_s"]) for k in ks}
    base = ks[0]
    report = {
        "space": args.space,
        "device": args.device,
        "latency_ms": round(limit, 4),
        "evaluations": args.evaluations,
        "repeats": args.repeats,
        "nodes": args.nodes,
        "threads_per_task": args.threads,
        "workers": workers,
        "cores": os.cpu_count(),
        "evaluations_per_s": {f"K={k}": round(rate[k], 3) for k in ks},
        "ratio_over_first": {f"K={k}": round(rate[k] / rate[base], 3) for k in ks},
        "scoring_cpu_s_per_s": {f"K={k}": round(work[k], 3) for k in ks},
        "scoring_work_ratio_over_first": {f"K={k}": round(work[k] / work[base], 3) for k in ks},
        "scoring_cpu_s_per_evaluation": {
            f"K={k}": round(median(k, lambda r: r["work_s"] / r["evaluations"]), 4) for k in ks
        },
        "driver_share_of_wall": {f"K={k}": round(median(k, lambda r: 1 - r["waited_s"] / r["wall_s"]), 3) for k in ks},
        "winners": {f"K={k}": runs[k][-1]["winner"] for k in ks},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:20s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
