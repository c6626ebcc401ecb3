"""Scaling evidence for ``--executor ray`` (issues 15, 24; docs/scale.md): task overhead, 1 -> 2 worker throughput.

One run starts a real Ray cluster on 127.0.0.1 with one node of one CPU, measures, adds a
second node and measures again, then stops the cluster:

- the per-task overhead: no-op tasks, each submitted when the previous one has returned
  (what one task adds to a search step), and all at once (what a bulk pass pays per task);
- bulk scoring throughput (architectures per second) on 1 and 2 workers, as a ratio, with
  this process's own (local executor) throughput and a local pool of 2 processes beside
  them; every worker and task scores with an explicit ``--threads`` intra-op threads (a
  Ray task holds as many CPUs), so the workers do not compete for cores through torch's
  own thread pool; each worker count is warmed up first (a worker's first task imports
  torch and hwnas; the new node is warmed with tasks long enough that Ray must send one there);
- the default ``--batch`` those figures imply: the smallest batch whose overhead stays
  under 5 % of the scoring it carries.

    flock /tmp/hwnas-cpu.lock .venv/bin/python scripts/bench_scale.py --archs 64 --json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from functools import partial

from hwnas.executors import Executor, LocalExecutor
from hwnas.executors.cluster import LocalRayCluster
from hwnas.executors.ray import OVERHEAD_SHARE, RayExecutor
from hwnas.search.scoring import ScoringConfig, _score
from hwnas.spaces import get_space


def overhead_ms(executor: RayExecutor, tasks: int) -> tuple[float, float]:
    """Per-task milliseconds of no-op tasks: one after another, and all submitted at once."""
    executor.batch = 1
    executor.map(abs, list(range(8)))  # warm
    start = time.perf_counter()
    for i in range(tasks):
        executor.map(abs, [i])
    sequential = (time.perf_counter() - start) / tasks * 1000
    start = time.perf_counter()
    executor.map(abs, list(range(tasks)))
    pipelined = (time.perf_counter() - start) / tasks * 1000
    return sequential, pipelined


def warm(seconds: float) -> int:
    """A task long enough that a second task must run on another node meanwhile (imports torch there)."""
    import torch

    time.sleep(seconds)
    return torch.get_num_threads()


def throughput(executor: Executor, fn: partial, archs: list[str], repeats: int) -> float:
    """Architectures per second, the median of ``repeats`` passes."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        executor.map(fn, archs)
        rates.append(len(archs) / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--proxies", default="es,logsynflow")
    parser.add_argument("--archs", type=int, default=64, help="architectures per scoring pass")
    parser.add_argument("--batch", type=int, default=4, help="architectures per Ray task in the scoring passes")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=200, help="no-op tasks for the overhead")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads per worker process or Ray task")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    space = get_space(args.space)
    archs = [space.encode(a) for a in space.sample_many(args.archs, seed=0)]
    config = ScoringConfig(args.space, tuple(args.proxies.split(",")), 0, space.proxy_resolution, None)
    fn = partial(_score, config)
    local = LocalExecutor(1, threads=args.threads)
    import torch

    torch.set_num_threads(args.threads)
    local.map(fn, archs[:4])
    local_rate = throughput(local, fn, archs, args.repeats)
    per_arch_ms = 1000 / local_rate
    with LocalExecutor(2, batch=args.batch, threads=args.threads) as pool:
        pool.map(warm, [1.0] * 2)  # both processes started and torch imported
        pool_rate = throughput(pool, fn, archs, args.repeats)

    with LocalRayCluster(nodes=1, cpus_per_node=args.threads) as cluster:
        os.environ.update(cluster.driver_env())
        executor = RayExecutor(cluster.address, batch=args.batch, threads=args.threads)
        try:
            executor.map(fn, archs[:2])  # warm the one worker
            one = throughput(executor, fn, archs, args.repeats)
            sequential, pipelined = overhead_ms(executor, args.tasks)
            executor.batch = args.batch
            cluster.add_node()
            deadline = time.monotonic() + 30
            while executor.workers < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            executor.batch = 1
            executor.map(warm, [1.0] * 4)  # 4 one-second tasks on 2 workers: the new node gets some
            executor.map(fn, archs[:8])
            executor.batch = args.batch
            two = throughput(executor, fn, archs, args.repeats)
        finally:
            executor.close()
    batch = max(1, math.ceil(sequential / (OVERHEAD_SHARE * per_arch_ms)))
    report = {
        "space": args.space,
        "proxies": args.proxies,
        "archs_per_pass": args.archs,
        "batch": args.batch,
        "cores": os.cpu_count(),
        "threads_per_worker": args.threads,
        "local_archs_per_s": round(local_rate, 2),
        "local_2_processes_archs_per_s": round(pool_rate, 2),
        "local_ratio_2_over_1": round(pool_rate / local_rate, 3),
        "scoring_ms_per_arch": round(per_arch_ms, 2),
        "ray_1_worker_archs_per_s": round(one, 2),
        "ray_2_workers_archs_per_s": round(two, 2),
        "ratio_2_over_1": round(two / one, 3),
        "task_overhead_ms_sequential": round(sequential, 3),
        "task_overhead_ms_pipelined": round(pipelined, 3),
        "default_batch_implied": batch,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:32s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
