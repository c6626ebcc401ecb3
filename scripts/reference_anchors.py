"""Reference models as anchors: do the proxies rank them like ImageNet does, and does a search beat them?

For each reference model of the hybrid space (EdgeNeXt-XXS/XS/S, MobileViT-XXS/XS/S,
``hwnas references``):

a. score it (seed 0) with the default search's proxies plus params, meco, az_nas,
   logsynflow and es, at the space's proxy resolution and at 224, and report each
   proxy's Spearman and Kendall correlation of the six references' scores with their
   published ImageNet top-1 (a non-finite score is left out, n says how many count);
b. predict its latency on a device (default host-cpu) and, with ``--search`` (the
   default), run the default search under that latency budget and compare the winner
   with the reference *by the search's own winner fitness*: that fitness is
   group-relative, so the group is the run's whole history plus the reference (scored
   exactly as the search scores, at the proxy resolution); the table gives both values,
   whether the winner is at least as good, and both #Params.

Runs go to ``--out``/<name>-n<evaluations>-seed<seed>; an existing finished run there is reused (the search is
deterministic for its settings), so a rerun only redoes the comparison.

    flock /tmp/hwnas-cpu.lock .venv/bin/python scripts/reference_anchors.py --evaluations 150
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table
from scipy import stats

from hwnas.counting import count_arch
from hwnas.latency.sources import load_latency_source
from hwnas.proxies import score_architecture
from hwnas.search import Constraints, SearchConfig, make_strategy, run_search
from hwnas.spaces import get_space
from hwnas.spaces.references import REFERENCE_SPACE, REFERENCES

EXTRA_PROXIES = ("params", "meco", "az_nas", "logsynflow", "es")
FULL_RESOLUTION = 224

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)
if not out.is_terminal:  # a pipe or a file: wide enough for the tables, not rich's 80 columns
    out = Console(highlight=False, width=180)


def size_pairs(refs: list[Any], values: dict[str, float]) -> dict[str, Any]:
    """At each size (xxs, xs, s) the two families differ in published top-1: in how many does the proxy agree?"""
    by_size: dict[str, list[Any]] = {}
    for ref in refs:
        by_size.setdefault(ref.name.rsplit("-", 1)[1], []).append(ref)
    agree = total = ties = 0
    for pair in by_size.values():
        if len(pair) != 2 or pair[0].published_top1 == pair[1].published_top1:
            continue
        better, worse = sorted(pair, key=lambda r: -r.published_top1)
        total += 1
        agree += int(values[better.name] > values[worse.name])
        ties += int(values[better.name] == values[worse.name])
    return {"agree": agree, "pairs": total, "ties": ties}


def correlations(scores: list[float], top1: list[float]) -> dict[str, Any]:
    """Spearman / Kendall of finite scores vs published top-1 (nan when fewer than 3 or constant)."""
    pairs = [(s, t) for s, t in zip(scores, top1, strict=True) if math.isfinite(s)]
    n = len(pairs)
    if n < 3 or len({s for s, _ in pairs}) < 2:
        return {"n": n, "spearman": float("nan"), "kendall": float("nan")}
    x, y = zip(*pairs, strict=True)
    return {
        "n": n,
        "spearman": float(stats.spearmanr(x, y).statistic),
        "kendall": float(stats.kendalltau(x, y).statistic),
    }


def score_references(
    space: Any, names: list[str], resolutions: list[int], seed: int
) -> dict[str, dict[int, dict[str, float]]]:
    result: dict[str, dict[int, dict[str, float]]] = {}
    for ref in REFERENCES.values():
        result[ref.name] = {}
        for r in resolutions:
            started = time.perf_counter()
            result[ref.name][r] = {
                k: float(v) for k, v in score_architecture(space, ref.encoding, names, seed=seed, resolution=r).items()
            }
            err.print(f"scored {ref.name} at {r}px in {time.perf_counter() - started:.1f} s")
    return result


def compare_with_search(
    space: Any, ref_name: str, ref_scores: dict[str, float], src: Any, args: argparse.Namespace, latency_ms: float
) -> dict[str, Any]:
    """Search under the reference's latency; the winner vs the reference by the winner fitness."""
    ref = REFERENCES[ref_name]
    strategy = make_strategy("cyclic")
    config = SearchConfig(
        space=REFERENCE_SPACE,
        constraints=Constraints(latency_ms=latency_ms),
        strategy=strategy,
        evaluations=args.evaluations,
        seed=args.seed,
    )
    run_dir = Path(args.out) / f"{ref_name}-n{args.evaluations}-seed{args.seed}"
    started = time.perf_counter()
    reported = [0]

    def progress(state: Any, phase: Any) -> None:
        if state.evaluations // 25 > reported[0] or state.done:
            reported[0] = state.evaluations // 25
            where = phase.name if phase is not None else "done"
            err.print(
                f"  {ref_name}: {state.evaluations}/{args.evaluations} evaluated ({where}), "
                f"{time.perf_counter() - started:.0f} s"
            )

    reused = (run_dir / "best.json").exists()  # a finished run: run_search only rewrites its results
    result = run_search(
        config,
        src,
        run_dir,
        device=args.device,
        workers=args.workers,
        resume=(run_dir / "checkpoint.json").exists(),
        on_step=progress,
    )
    wall_s = time.perf_counter() - started
    best = result["best"]
    history = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines() if line.strip()]
    # the reference scored exactly as the search scores a candidate (its seed, proxies, resolution, batch size)
    searched = score_architecture(
        space,
        ref.encoding,
        list(config.scored_proxies),
        seed=config.seed,
        resolution=config.proxy_resolution,
        batch_size=config.proxy_batch_size,
    )
    for name in config.scored_proxies:
        a, b = ref_scores.get(name, float("nan")), float(searched[name])
        if math.isfinite(a) and math.isfinite(b) and abs(a - b) > 1e-6 * max(1.0, abs(a)):
            err.print(f"[yellow]warning[/yellow]: {ref_name} {name} is {a} in part a but {b} as the search scores it")
    rule = strategy.winner_fitness(space)
    group = [h["scores"] for h in history] + [{p: float(searched[p]) for p in config.scored_proxies}]
    values = rule.values(group)
    winner_index = next((i for i, h in enumerate(history) if h["arch"] == best["arch"]), None)
    if winner_index is None:  # the winner was never new in the history (see SearchEngine.winner)
        group.insert(0, best["scores"])
        values, winner_index = rule.values(group), 0
    winner_value, ref_value = values[winner_index], values[-1]
    ref_params, _ = count_arch(space, space.decode(ref.encoding))
    return {
        "latency_budget_ms": latency_ms,
        "evaluations": result["run"]["evaluations"],
        "search_wall_s": round(wall_s, 1),
        "search_s_recorded": result["run"]["search_s"],
        "reused_run": reused,
        "winner": best["arch"],
        "winner_latency_ms": best["predicted_latency_ms"],
        "winner_params_m": best["params_m"],
        "reference_params_m": ref_params / 1e6,
        "fitness": rule.describe(),
        "winner_value": winner_value,
        "reference_value": ref_value,
        "winner_at_least_reference": bool(winner_value >= ref_value),
        "reference_rank_in_group": int(sum(v > ref_value for v in values[:-1])) + 1,
        "group_size": len(group),
        "run_dir": str(run_dir),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evaluations", type=int, default=200, help="search budget per reference (default 200)")
    parser.add_argument(
        "--search",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the searches of part b (default on; --no-search: scores and latency only)",
    )
    parser.add_argument("--device", default="host-cpu", help="latency device with a table (default host-cpu)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="scoring processes per search (default 1)")
    parser.add_argument(
        "--out", default="runs/reference_anchors", help="run directories go to OUT/<reference>-n<N>-seed<S>"
    )
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout instead of tables")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)  # as the search's scorer does, so part a's scores are the search's
    total_start = time.perf_counter()
    space = get_space(REFERENCE_SPACE)
    strategy = make_strategy("cyclic")
    names = list(dict.fromkeys((*strategy.proxies, *EXTRA_PROXIES)))
    proxy_resolution = space.proxy_resolution or space.default_resolution
    resolutions = list(dict.fromkeys((proxy_resolution, FULL_RESOLUTION)))
    refs = list(REFERENCES.values())
    top1 = [r.published_top1 for r in refs]

    # a. proxies vs published accuracy
    scores = score_references(space, names, resolutions, args.seed)
    ranking = {
        name: {
            r: {
                **correlations([scores[ref.name][r][name] for ref in refs], top1),
                "same_size": size_pairs(refs, {ref.name: scores[ref.name][r][name] for ref in refs}),
            }
            for r in resolutions
        }
        for name in names
    }

    # b. latency, search, comparison
    src = load_latency_source(space=space, device=args.device, table=None, latency_column=None, resolution=None)
    anchors: dict[str, dict[str, Any]] = {}
    for ref in refs:
        latency = float(src.predict_ms(space, ref.encoding))
        anchors[ref.name] = {"latency_ms": latency}
        if args.search:
            err.print(
                f"search for {ref.name}: latency <= {latency:.3f} ms on {args.device}, {args.evaluations} evaluations"
            )
            anchors[ref.name].update(
                compare_with_search(space, ref.name, scores[ref.name][proxy_resolution], src, args, latency)
            )
    total_s = time.perf_counter() - total_start

    doc = {
        "space": REFERENCE_SPACE,
        "seed": args.seed,
        "device": args.device,
        "evaluations": args.evaluations,
        "strategy": strategy.to_json(),
        "proxies": names,
        "resolutions": resolutions,
        "references": {
            r.name: {
                "encoding": r.encoding,
                "published_top1": r.published_top1,
                "published_params_m": r.published_params_m,
                "scores": {str(res): scores[r.name][res] for res in resolutions},
                **anchors[r.name],
            }
            for r in refs
        },
        "ranking": {name: {str(res): ranking[name][res] for res in resolutions} for name in names},
        "wall_s": round(total_s, 1),
    }
    if args.json:
        sys.stdout.write(json.dumps(_finite(doc), indent=2, allow_nan=False) + "\n")
        return 0
    print_tables(doc, refs, names, resolutions, args)
    return 0


def _finite(value: Any) -> Any:
    """The document with every non-finite float as null (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _fmt(value: float, spec: str = ".3g") -> str:
    return "nan" if not math.isfinite(value) else format(value, spec)


def print_tables(
    doc: dict[str, Any], refs: list[Any], names: list[str], resolutions: list[int], args: argparse.Namespace
) -> None:
    table = Table(title=f"Proxy scores of the references (seed {args.seed})", title_justify="left")
    table.add_column("proxy @ px")
    for ref in refs:
        table.add_column(f"{ref.name} ({ref.published_top1:.1f}%)", justify="right")
    for res in resolutions:
        for name in names:
            table.add_row(
                f"{name} @ {res}", *[_fmt(doc["references"][ref.name]["scores"][str(res)][name], ".4g") for ref in refs]
            )
    out.print(table)

    table = Table(
        title="Proxy score vs published ImageNet top-1 over the 6 references "
        "(same size: EdgeNeXt vs MobileViT at XXS / XS / S, pairs the proxy orders right)",
        title_justify="left",
    )
    table.add_column("proxy")
    for res in resolutions:
        table.add_column(f"Spearman@{res}", justify="right")
        table.add_column(f"Kendall@{res}", justify="right")
        table.add_column(f"same size@{res}", justify="right")
    for name in names:
        cells = []
        for res in resolutions:
            c = doc["ranking"][name][str(res)]
            suffix = "" if c["n"] == len(refs) else f" (n={c['n']})"
            pairs = c["same_size"]
            cells += [
                _fmt(c["spearman"], "+.2f") + suffix,
                _fmt(c["kendall"], "+.2f") + suffix,
                f"{pairs['agree']}/{pairs['pairs']}" + (f" ({pairs['ties']} tied)" if pairs["ties"] else ""),
            ]
        table.add_row(name, *cells)
    out.print(table)

    table = Table(
        title=f"Search (cyclic, {args.evaluations} evaluations, seed {args.seed}) under each reference's "
        f"{args.device} latency, judged by the search's winner fitness",
        title_justify="left",
    )
    for column in (
        "reference",
        "latency ms",
        "winner ms",
        "winner fit",
        "ref fit",
        "winner >= ref",
        "ref rank",
        "winner #P M",
        "ref #P M",
        "search s",
    ):
        table.add_column(column, justify="left" if column == "reference" else "right")
    for ref in refs:
        a = doc["references"][ref.name]
        if "winner" not in a:
            table.add_row(ref.name, f"{a['latency_ms']:.2f}", *["-"] * 8)
            continue
        table.add_row(
            ref.name,
            f"{a['latency_ms']:.2f}",
            f"{a['winner_latency_ms']:.2f}",
            f"{a['winner_value']:+.2f}",
            f"{a['reference_value']:+.2f}",
            "yes" if a["winner_at_least_reference"] else "no",
            f"{a['reference_rank_in_group']}/{a['group_size']}",
            f"{a['winner_params_m']:.2f}",
            f"{a['reference_params_m']:.2f}",
            f"{a['search_s_recorded']:.0f}" + (" (reused)" if a["reused_run"] else ""),
        )
    out.print(table)
    if args.search:
        out.print(
            f"fitness: {next(iter(doc['references'].values())).get('fitness', '')}; group = the run's history "
            "plus the reference",
            soft_wrap=True,
        )
        for ref in refs:
            out.print(f"{ref.name} winner: {doc['references'][ref.name]['winner']}", soft_wrap=True)
    out.print(f"total wall time {doc['wall_s']:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
