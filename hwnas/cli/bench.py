"""`hwnas bench-proxies`: judge proxies against ground-truth accuracy (or the space's reference models)."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Column, Table
from scipy import stats

from hwnas.cli.options import ExecutorOpt, JsonOpt, RayAddressOpt, ResolutionOpt, SeedOpt, SpaceOpt, TaskBatchOpt
from hwnas.cli.output import emit_json, stderr, stdout
from hwnas.cli.proxies import (
    BatchOpt,
    DataOpt,
    ProxiesOpt,
    ThreadsOpt,
    check_positive,
    json_float,
    run_scoring,
    split_names,
)
from hwnas.devices import DEFAULT_DEVICE
from hwnas.errors import HwnasError, UsageError
from hwnas.io import atomic_write_json, read_text
from hwnas.proxies import get_proxy, resolve_proxies
from hwnas.proxies.evaluation import MIN_GROUP, ProxyJudgement, judge, parse_entries, rank_fusion
from hwnas.proxies.plots import scatter_plot
from hwnas.proxies.score_table import (
    seconds_column,
)
from hwnas.search import make_strategy
from hwnas.search.fitness import BUDGET_USE
from hwnas.spaces import get_space


def _read_ground_truth(path: Path, arch_column: str, accuracy_column: str) -> list[tuple[str, float]]:
    reader = csv.DictReader(io.StringIO(read_text(path, label="--ground-truth"), newline=""))
    header = reader.fieldnames or []
    for column in (arch_column, accuracy_column):
        if column not in header:
            raise UsageError(f"--ground-truth {path}: no column {column!r} (columns: {', '.join(header)})")
    rows = []
    for i, line in enumerate(reader, start=2):
        try:
            rows.append((line[arch_column], float(line[accuracy_column])))
        except (TypeError, ValueError):
            raise UsageError(
                f"--ground-truth {path} line {i}: {accuracy_column} {line[accuracy_column]!r} is not a number"
            ) from None
    if not rows:
        raise UsageError(f"--ground-truth {path}: no rows")
    return rows


def bench_proxies(
    ground_truth: Annotated[
        Path | None, typer.Option("--ground-truth", help="CSV with an architecture column and an accuracy column.")
    ] = None,
    accuracy_column: Annotated[
        str | None, typer.Option("--accuracy-column", help="Accuracy column, e.g. cifar10_test_acc.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Directory for scores.csv, report.json and one PNG per proxy.")
    ] = None,
    space: SpaceOpt = "nb201",
    proxies: ProxiesOpt = "params,synflow,logsynflow,naswot,es,sed,es+logsynflow",
    sample: Annotated[
        int | None,
        typer.Option("--sample", "-n", help="Score a seeded random sample of N architectures (default: all)."),
    ] = None,
    seed: SeedOpt = 0,
    batch_size: BatchOpt = None,
    resolution: ResolutionOpt = None,
    data: DataOpt = None,
    arch_column: Annotated[
        str, typer.Option("--arch-column", help="Architecture column of the ground truth.")
    ] = "arch_str",
    references: Annotated[
        bool,
        typer.Option(
            "--references",
            help="Judge against the space's reference models and their published top-1 (`hwnas references`) "
            "instead of --ground-truth.",
        ),
    ] = False,
    min_group: Annotated[
        int, typer.Option("--min-group", help="Smallest equal-#Params group that counts.")
    ] = MIN_GROUP,
    threads: ThreadsOpt = 1,
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    batch: TaskBatchOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Judge proxies against ground-truth accuracy: Spearman, Kendall, within-equal-#Params Spearman, s/arch.

    Entries joined by '+' (es+logsynflow) are rank fusions. Resumable: scores go to OUT/scores.csv and
    are reused by a second run with the same settings.
    """
    required = (
        [("--out", out)]
        if references
        else [("--ground-truth", ground_truth), ("--accuracy-column", accuracy_column), ("--out", out)]
    )
    for flag, value in required:
        if value is None:
            raise UsageError(f"{flag} is required" + ("" if references else " (or --references)"))
    if references and ground_truth is not None:
        raise UsageError("give --ground-truth or --references, not both")
    assert out is not None
    check_positive("--sample", sample)
    check_positive("--batch-size", batch_size)
    check_positive("--min-group", min_group)
    check_positive("--threads", threads)
    from hwnas.executors import check_executor

    check_executor(executor, address=ray_address, batch=batch, threads=threads)
    entries = split_names(proxies)
    rule = make_strategy("cyclic").winner_fitness(get_space(space)) if RULE in entries else None
    bases, fusions = parse_entries([e for e in entries if e != RULE])
    if rule is not None:
        bases += [p for p in rule.proxies if p not in bases]
    for name in bases:
        get_proxy(name)
    resolve_proxies(bases, has_data=data is not None)
    to_score = bases if "params" in bases else [*bases, "params"]
    search_space = get_space(space)
    if references:
        from hwnas.spaces.references import REFERENCES

        truth = [(r.encoding, r.published_top1) for r in REFERENCES.values() if r.space == space]
        if not truth:
            raise UsageError(f"the {space} space has no reference models (see `hwnas references`)")
        accuracy_column = "published_top1"
    else:
        assert ground_truth is not None and accuracy_column is not None
        truth = _read_ground_truth(ground_truth, arch_column, accuracy_column)
    if sample is not None and sample < len(truth):
        picked = sorted(random.Random(seed).sample(range(len(truth)), sample))
        truth = [truth[i] for i in picked]
    accuracy_of: dict[str, float] = {}
    for arch, acc in truth:
        accuracy_of.setdefault(search_space.encode(search_space.decode(arch)), acc)
    archs = list(accuracy_of)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    run = run_scoring(
        space,
        archs,
        to_score,
        out / "scores.csv",
        seed=seed,
        batch_size=batch_size,
        resolution=resolution,
        num_classes=None,
        data_path=data,
        resume=True,
        threads=threads,
        executor=executor,
        ray_address=ray_address,
        batch=batch,
    )
    by_arch = {str(row["arch"]): row for row in run.rows}
    accuracy = np.array([accuracy_of[a] for a in archs])
    params = np.array([float(by_arch[a]["params"]) for a in archs])

    def column(name: str) -> np.ndarray:
        return np.array([float(by_arch[a][name]) for a in archs])

    latency = _reference_latencies(search_space, archs) if references else None
    judgements: list[ProxyJudgement] = []
    plots: dict[str, str] = {}
    within_latency: dict[str, float | None] = {}
    for entry in entries:
        parts = entry.split("+")
        if entry == RULE and rule is not None:  # the search's winner rule, budget use as latency / slowest
            use = latency / latency.max() if latency is not None else np.zeros(len(archs))
            rows = [
                {**{p: float(by_arch[a][p]) for p in rule.proxies}, BUDGET_USE: float(u)}
                for a, u in zip(archs, use, strict=True)
            ]
            scores = np.array(rule.values(rows))
            seconds = np.sum([column(seconds_column(p)) for p in rule.proxies], axis=0)
        elif len(parts) == 1:
            scores = column(entry)
            seconds = column(seconds_column(entry))
        else:
            scores = rank_fusion([column(p) for p in parts])
            seconds = np.sum([column(seconds_column(p)) for p in parts], axis=0)
        judgement = judge(entry, scores, accuracy, params, seconds, min_group=min_group)
        judgements.append(judgement)
        if latency is not None:
            within_latency[entry] = within_groups_kendall(scores, accuracy, latency, LATENCY_GROUP)
        png = out / f"{entry}.png"
        scatter_plot(png, judgement, scores, accuracy, accuracy_column)
        plots[entry] = str(png)
    report = {
        "space": space,
        "ground_truth": "references" if references else str(ground_truth),
        "accuracy_column": accuracy_column,
        "archs": len(archs),
        "sample": sample,
        "seed": seed,
        "batch_size": batch_size,
        "resolution": resolution,
        "min_group": min_group,
        "threads": threads,
        "scores_csv": str(run.path),
        "latency_groups": None if latency is None else {"device": DEFAULT_DEVICE, "size": LATENCY_GROUP},
        "scored_now": run.scored,
        "reused": run.reused,
        "proxies": [
            {
                **{k: json_float(v) for k, v in vars(j).items()},
                "top1_regret": json_float(j.top1_regret),
                "top10_regret": json_float(j.top10_regret),
                "plot": plots[j.name],
                "fusion_of": j.name.split("+") if "+" in j.name else None,
                "within_latency_kendall": json_float(within_latency.get(j.name)),
            }
            for j in judgements
        ],
    }
    atomic_write_json(out / "report.json", report)
    if json_out:
        emit_json(report)
        return
    table = Table(
        Column("proxy", no_wrap=True),
        "Spearman",
        "Kendall",
        f"within #Params (groups >= {min_group})",
        "top-1 (regret)",
        "top-10 mean (regret)",
        "s/arch",
        *(
            [f"within groups of >= {LATENCY_GROUP} of similar {DEFAULT_DEVICE} latency (Kendall)"]
            if within_latency
            else []
        ),
        title=f"{len(archs)} {space} archs vs {accuracy_column} -> {out / 'report.json'}",
        title_justify="left",
    )
    for j in judgements:
        within = "n.a." if j.within_params_spearman is None else f"{j.within_params_spearman:.3f} ({j.groups})"
        table.add_row(
            j.name,
            f"{j.spearman:.3f}",
            f"{j.kendall:.3f}",
            within,
            f"{j.top1_acc:.2f} ({j.top1_regret:.2f})",
            f"{j.top10_mean_acc:.2f} ({j.top10_regret:.2f})",
            f"{j.seconds_per_arch:.4f}",
            *([_fmt(within_latency.get(j.name))] if within_latency else []),
        )
    stdout.print(table)


#: The winner rule of the default search, as a bench-proxies entry.
RULE = "rule"
#: References per group of similar latency (sorted by latency, consecutive).
LATENCY_GROUP = 3


def _fmt(value: float | None) -> str:
    return "n.a." if value is None or not np.isfinite(value) else f"{value:.3f}"


def _reference_latencies(space: Any, archs: list[str]) -> np.ndarray | None:
    """Each reference's latency on the default device's table, or None (with a note) without one."""
    from hwnas.latency.sources import load_latency_source

    try:
        source = load_latency_source(space=space, device=DEFAULT_DEVICE)
        return np.array([float(source.predict_ms(space, space.decode(a))) for a in archs])
    except HwnasError as exc:
        stderr.print(f"no latency groups: {exc}")
        return None


def within_groups_kendall(scores: np.ndarray, accuracy: np.ndarray, latency: np.ndarray, size: int) -> float | None:
    """Mean Kendall tau of ``scores`` against ``accuracy`` within consecutive groups of at least
    ``size`` archs sorted by latency: whether a proxy ranks networks of similar cost, not only cost."""
    order = np.argsort(latency, kind="stable")
    taus = []
    for group in np.array_split(order, max(1, len(order) // size)):  # every arch in a group of >= size
        tau = stats.kendalltau(scores[group], accuracy[group]).statistic
        if np.isfinite(tau):
            taus.append(float(tau))
    return float(np.mean(taus)) if taus else None


def register(app: typer.Typer) -> None:
    app.command("bench-proxies")(bench_proxies)
