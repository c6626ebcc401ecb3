"""Evidence for the search's winner rule: exhaustive regret of candidate fitness rules on NB201.

Each rule picks one arch from *every* dev arch a budget allows (the exhaustive
ceiling of a search that used it), and its regret to the oracle is averaged over
three grids: the issue's 8 budgets (Pixel 3 and Raspberry Pi 4 latency at the 25 /
50 / 75 / 100 % quantiles), a finer grid (10, 15, ..., 100 %: 38 budgets, less
noisy than 8 top-1 picks), and the fine grid on random halves of the dev archs
(10 splits x 2 halves), which shows whether a rule's rank holds on archs it was
not chosen on. The last column, the mean regret of the rule's three best archs on the
fine grid, says how much of a top-1 figure is luck: a search that ends one place short of
the rule's pick scores about that. Rules are the real :mod:`hwnas.search.fitness` objects the search
runs, on the proxy scores of a `hwnas score` table (seed 0):

    .venv/bin/python scripts/fitness_evidence.py --scores runs/dev/scores.csv --markdown docs/fitness_table.md
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from hwnas.proxies.score_table import read_table
from hwnas.search.fitness import BUDGET_USE, Fitness, LogRankFusion, MaxNormalisedSum, ProxyFitness, ZScoreSum
from hwnas.spaces import get_space

DEV_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201" / "nb201_dev_cifar10.csv"
COLUMNS = ("pixel3_latency_ms", "raspi4_latency_ms")


def es_upper_half_then_size(group: Sequence[dict[str, float]]) -> list[float]:
    """The previous nb201 winner rule: best LogSynflow among archs with ES at least the median."""
    es = np.array([g["es"] for g in group])
    median = np.sort(es)[(len(es) - 1) // 2]
    return [g["logsynflow"] if g["es"] >= median else -np.inf for g in group]


def candidate_rules(available: set[str]) -> dict[str, Callable[[Sequence[dict[str, float]]], list[float]] | Fitness]:
    rules: dict[str, Callable[[Sequence[dict[str, float]]], list[float]] | Fitness] = {
        "params": ProxyFitness("params"),
        "logsynflow": ProxyFitness("logsynflow"),
        "es": ProxyFitness("es"),
        "es upper half, then logsynflow (previous rule)": es_upper_half_then_size,
        "log-rank es + logsynflow": LogRankFusion((("es", 1.0), ("logsynflow", 1.0))),
        "log-rank es + logsynflow + skip_length": LogRankFusion(
            (("es", 1.0), ("logsynflow", 1.0), ("skip_length", 1.0))
        ),
        "max-norm es + logsynflow + skip_length": MaxNormalisedSum(("es", "logsynflow", "skip_length")),
    }
    if "naswot" in available:
        rules["FreeREA: max-norm naswot + logsynflow + skip_length"] = MaxNormalisedSum(
            ("naswot", "logsynflow", "skip_length")
        )
    if {"meco", "az_nas"} <= available:
        for second in ("meco", "az_nas"):
            rules[f"z: es + {second} + log logsynflow + 0.5·skip"] = ZScoreSum(
                (
                    ("es", 1.0, "identity"),
                    (second, 1.0, "identity"),
                    ("logsynflow", 1.0, "signed_log"),
                    ("skip_length", 0.5, "identity"),
                )
            )
    for topo in ("es", "meco", "az_nas"):
        if topo not in available:
            continue
        for w_topo in (0.5, 1.0, 2.0):
            for w_skip in (0.0, 0.5, 1.0):
                rules[f"z: {w_topo:g}·{topo} + log logsynflow + {w_skip:g}·skip"] = ZScoreSum(
                    ((topo, w_topo, "identity"), ("logsynflow", 1.0, "signed_log"), ("skip_length", w_skip, "identity"))
                )
    for w_budget in (0.25, 0.5, 1.0):
        for w_skip in (0.25, 0.5):
            rules[f"z: es + log logsynflow + {w_skip:g}·skip + {w_budget:g}·budget use"] = ZScoreSum(
                (
                    ("es", 1.0, "identity"),
                    ("logsynflow", 1.0, "signed_log"),
                    ("skip_length", w_skip, "identity"),
                    (BUDGET_USE, w_budget, "identity"),
                )
            )
    for extra in ("sed", "naswot", "swap", "synflow", "az_nas"):
        if extra not in available:
            continue
        for w_extra in (0.1, 0.25):
            rules[f"z: es + log logsynflow + 0.5·skip + 0.25·budget use + {w_extra:g}·{extra}"] = ZScoreSum(
                (
                    ("es", 1.0, "identity"),
                    ("logsynflow", 1.0, "signed_log"),
                    ("skip_length", 0.5, "identity"),
                    (BUDGET_USE, 0.25, "identity"),
                    (extra, w_extra, "signed_log" if extra == "synflow" else "identity"),
                )
            )
    if "meco" in available:
        for w_meco in (0.1, 0.25):
            rules[f"z: es + log logsynflow + 0.5·skip + 0.25·budget use + {w_meco:g}·meco"] = ZScoreSum(
                (
                    ("es", 1.0, "identity"),
                    ("logsynflow", 1.0, "signed_log"),
                    ("skip_length", 0.5, "identity"),
                    (BUDGET_USE, 0.25, "identity"),
                    ("meco", w_meco, "identity"),
                )
            )
    return rules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEV_CSV)
    parser.add_argument("--accuracy-column", default="cifar10_test_acc")
    parser.add_argument("--scores", type=Path, default=Path("runs/dev/scores.csv"))
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    args = parser.parse_args()

    space = get_space("nb201")
    rows = {r["arch_str"]: r for r in csv.DictReader(args.csv.open())}
    _, table = read_table(args.scores)
    archs = [a for a in rows if a in table]
    available = {
        k for k in table[archs[0]] if k != "arch" and not k.startswith("seconds_") and all(k in table[a] for a in archs)
    }
    scores = [{k: float(table[a][k]) for k in available} for a in archs]
    for arch, s in zip(archs, scores, strict=True):
        lengths = space.skip_lengths(space.decode(arch))
        s["skip_length"] = sum(lengths) / len(lengths) if lengths else 0.0
    accuracy = np.array([float(rows[a][args.accuracy_column]) for a in archs])
    latency = {c: np.array([float(rows[a][c]) for a in archs]) for c in COLUMNS}

    def budgets(subset: np.ndarray, quantiles: Sequence[float]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(feasible archs, their budget use = latency / limit) per budget, as a search sees them."""
        out = []
        for column in COLUMNS:
            lat = latency[column][subset]
            for q in quantiles:
                limit = np.quantile(lat, q / 100)
                idx = subset[lat <= limit]
                out.append((idx, latency[column][idx] / limit))
        return out

    everything = np.arange(len(archs))
    grid8 = budgets(everything, (25, 50, 75, 100))
    fine = budgets(everything, range(10, 101, 5))
    rng = np.random.default_rng(0)
    halves = []
    for _ in range(10):
        perm = rng.permutation(len(archs))
        halves += [
            budgets(np.sort(perm[: len(perm) // 2]), range(10, 101, 5)),
            budgets(np.sort(perm[len(perm) // 2 :]), range(10, 101, 5)),
        ]

    def regret(rule, budget_list: list[tuple[np.ndarray, np.ndarray]], top: int = 1) -> np.ndarray:
        """Oracle minus the pick per budget; with ``top`` > 1, minus the mean of the rule's ``top`` best."""
        out = []
        for idx, use in budget_list:
            group = [{**scores[i], BUDGET_USE: float(u)} for i, u in zip(idx, use, strict=True)]
            values = rule.values(group) if isinstance(rule, Fitness) else rule(group)
            best = sorted(range(len(values)), key=lambda i: (-values[i], i))[:top]
            out.append(accuracy[idx].max() - accuracy[idx[best]].mean())
        return np.array(out)

    lines = [
        "| rule | 8-budget grid | per budget (px 25/50/75/100, pi 25/50/75/100) | fine grid (38) "
        "| fine grid on halves (20) | fine grid, mean of the rule's top 3 |",
        "|---|---|---|---|---|---|",
    ]
    results = []
    for name, rule in candidate_rules(available).items():
        g8 = regret(rule, grid8)
        results.append(
            (
                float(np.mean([regret(rule, h).mean() for h in halves])),
                name,
                g8,
                float(regret(rule, fine).mean()),
                float(regret(rule, fine, top=3).mean()),
            )
        )
    for halves_mean, name, g8, fine_mean, top3 in sorted(results, key=lambda r: r[0]):
        lines.append(
            f"| {name} | {g8.mean():.3f} | {' '.join(f'{x:.2f}' for x in g8)} | {fine_mean:.3f} "
            f"| {halves_mean:.3f} | {top3:.3f} |"
        )
    text = "\n".join(lines)
    print(
        f"{len(archs)} dev archs; exhaustive regret (oracle − pick, {args.accuracy_column}), "
        "sorted by the halves column\n"
    )
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
