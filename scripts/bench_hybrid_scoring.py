"""Seconds per hybrid candidate for the search's proxies (ES + LogSynflow at 224), this checkout
against another one (``--before``, e.g. a `git worktree` of an older commit), in one run.

The two are timed in turns (before, after, before, after, ...) on the same random archs, one
torch thread each, so drift on a shared machine hits both alike. Prints seconds per candidate
for each, the speed-up, and Spearman's rho between the two checkouts' scores per proxy (a faster
proxy must rank as the slower one did).

    git worktree add /tmp/before <commit>
    python scripts/bench_hybrid_scoring.py --before /tmp/before --archs 20 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from scipy import stats

WORKER = """
import json, sys, time
tree = sys.argv[1]
if tree:
    sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, tree)
import torch
torch.set_num_threads(1)
from hwnas.proxies import score_architecture
from hwnas.spaces import get_space
space = get_space("hybrid")
archs = space.sample_many(int(sys.argv[2]), seed=int(sys.argv[3]))
out = []
for arch in archs:
    started = time.perf_counter()
    scores = score_architecture(space, arch, ["es", "logsynflow"], seed=0)
    out.append({"s": time.perf_counter() - started, **{k: float(v) for k, v in scores.items()}})
print(json.dumps(out))
"""


def run(tree: str, archs: int, seed: int) -> list[dict[str, float]]:
    done = subprocess.run([sys.executable, "-c", WORKER, tree, str(archs), str(seed)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the older hwnas")
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"before": [], "after": []}
    scores: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.rounds):
        for label, tree in (("before", str(args.before.resolve())), ("after", "")):
            rows = run(tree, args.archs, args.seed)
            times[label] += [r["s"] for r in rows]
            scores[label] = rows
    per = {k: sum(v) / len(v) for k, v in times.items()}
    rho = {
        p: float(
            stats.spearmanr(
                [r[p] for r in scores["before"]], [r[p] for r in scores["after"]], nan_policy="omit"
            ).statistic
        )
        for p in ("es", "logsynflow")
    }
    print(json.dumps({"s_per_candidate": per, "speedup": per["before"] / per["after"], "spearman": rho}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
