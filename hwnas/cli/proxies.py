"""`hwnas score` and `hwnas bench-proxies`: score architectures, judge proxies against ground truth."""

from __future__ import annotations

import contextlib
import csv
import math
import random
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table

from hwnas.cli.options import JsonOpt, NumClassesOpt, ResolutionOpt, SeedOpt, SpaceOpt
from hwnas.cli.output import emit_json, stderr, stdout
from hwnas.errors import UsageError
from hwnas.io import atomic_write_json
from hwnas.proxies import get_proxy, proxy_names, resolve_proxies
from hwnas.proxies.data import LabelledImages, load_labelled_images
from hwnas.proxies.evaluation import MIN_GROUP, ProxyJudgement, judge, parse_entries, rank_fusion
from hwnas.proxies.plots import scatter_plot
from hwnas.proxies.score_table import (
    ScoreRun,
    ScoreSettings,
    canonical_archs,
    check_out_path,
    score_table,
    seconds_column,
)
from hwnas.spaces import DEFAULT_SPACE, get_space

ProxiesOpt = Annotated[
    str,
    typer.Option("--proxies", "-p", help="Comma-separated proxy names, e.g. es,logsynflow (see `hwnas score --help`)."),
]
BatchOpt = Annotated[
    int | None, typer.Option("--batch-size", "-b", help="Batch of random inputs (default: each proxy's own).")
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Labelled images for revisit (and optionally the gradient baselines): an image-folder "
        "directory (one sub-folder per class) or an .npz with `images` and `labels`.",
    ),
]
ThreadsOpt = Annotated[
    int,
    typer.Option(
        "--threads",
        help="Torch intra-op threads. Proxy networks are small: one thread per process is "
        "fastest on a shared machine (more threads oversubscribe the cores); raise it for big nets.",
    ),
]
JSON_PROXY_LIST = ", ".join(proxy_names())


def _split(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--proxies is empty (known: " + JSON_PROXY_LIST + ")")
    return names


def _read_lines(source: str) -> tuple[list[str], str]:
    if source == "-":
        return [line for line in sys.stdin.read().splitlines() if line.strip()], "stdin "
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--archs {path}: cannot read ({exc.strerror or exc})") from None
    return [
        line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ], f"{path} "


def _load_data(data: Path | None) -> LabelledImages | None:
    return load_labelled_images(data) if data is not None else None


def _check_positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise UsageError(f"{name} must be at least 1, got {value}")


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,  # the summary follows; no half bar before an error
    )


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a job scheduler, ``kill``) ends scoring like Ctrl-C: the table is checkpointed
    before the process exits, so ``--resume`` loses nothing that was scored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_scoring(
    space_name: str,
    archs: list[str],
    proxies: list[str],
    out: Path,
    *,
    seed: int,
    batch_size: int | None,
    resolution: int | None,
    num_classes: int | None,
    data_path: Path | None,
    resume: bool,
    threads: int,
) -> ScoreRun:
    import torch

    torch.set_num_threads(threads)
    search_space = get_space(space_name)
    resolve_proxies(proxies, has_data=data_path is not None)
    data = _load_data(data_path)
    if resolution is not None:
        search_space.input_shape(resolution)
        search_space.blocks(search_space.decode(archs[0]), resolution)  # the space validates the resolution
    settings = ScoreSettings(
        space=space_name,
        seed=seed,
        batch_size=batch_size,
        resolution=resolution,
        num_classes=num_classes,
        data=str(data_path) if data_path else None,
    )
    check_out_path(out)  # before a progress bar is drawn
    with _terminate_as_interrupt(), _progress() as progress:
        task = progress.add_task("scoring", total=0, rate="")
        done = {"n": 0, "s": 0.0}

        def on_start(n: int) -> None:
            progress.update(task, total=n)

        def on_scored(arch: str, scores: dict[str, float], seconds: dict[str, float]) -> None:
            done["n"] += 1
            done["s"] += max(seconds.values())
            progress.update(
                task, advance=1, rate=f"{done['n'] / max(progress.tasks[0].elapsed or 1e-9, 1e-9):.2f} arch/s"
            )

        return score_table(
            search_space,
            archs,
            proxies,
            out,
            settings=settings,
            data=data,
            resume=resume,
            on_start=on_start,
            on_scored=on_scored,
        )


def _json_float(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def score(
    archs: Annotated[list[str] | None, typer.Argument(help="Architecture encodings (quote them in the shell).")] = None,
    space: SpaceOpt = DEFAULT_SPACE,
    proxies: ProxiesOpt = "es,logsynflow",
    archs_file: Annotated[
        str | None, typer.Option("--archs", help="File with one encoding per line, or - for stdin.")
    ] = None,
    seed: SeedOpt = 0,
    batch_size: BatchOpt = None,
    resolution: ResolutionOpt = None,
    num_classes: NumClassesOpt = None,
    data: DataOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Score table to write (CSV), e.g. scores.csv.")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep the rows already in --out and score only what is missing.")
    ] = False,
    threads: ThreadsOpt = 1,
    json_out: JsonOpt = False,
) -> None:
    """Score architectures with training-free proxies into a CSV (one row per arch, seconds per proxy).

    Proxies: {proxies}. Higher is better for every one.
    """
    if out is None:
        raise UsageError("--out is required (the CSV to write, e.g. --out scores.csv)")
    if archs and archs_file:
        raise UsageError("give architectures either as arguments or with --archs, not both")
    _check_positive("--batch-size", batch_size)
    _check_positive("--num-classes", num_classes)
    _check_positive("--threads", threads)
    names = _split(proxies)
    resolve_proxies(names, has_data=data is not None)
    search_space = get_space(space)
    if archs_file:
        lines, where = _read_lines(archs_file)
    elif archs:
        lines, where = list(archs), ""
    else:
        raise UsageError("no architectures: pass encodings as arguments or --archs FILE (or --archs - for stdin)")
    if not lines:
        raise UsageError(f"--archs {archs_file}: no architectures in it")
    encodings = canonical_archs(search_space, lines, where=where)
    run = _run_scoring(
        space,
        encodings,
        names,
        out,
        seed=seed,
        batch_size=batch_size,
        resolution=resolution,
        num_classes=num_classes,
        data_path=data,
        resume=resume,
        threads=threads,
    )
    if json_out:
        emit_json(
            {
                "out": str(run.path),
                "space": space,
                "seed": seed,
                "proxies": names,
                "scored": run.scored,
                "reused": run.reused,
                "rows": [{k: _json_float(v) for k, v in row.items()} for row in run.rows],
            }
        )
        return
    _print_score_summary(run, names)


def _print_score_summary(run: ScoreRun, names: list[str]) -> None:
    if len(run.rows) <= 20:
        table = Table(
            "arch", *names, title=f"{run.path} ({run.scored} scored, {run.reused} reused)", title_justify="left"
        )
        for row in run.rows:
            table.add_row(str(row["arch"]), *(f"{row[n]:.6g}" for n in names))
        stdout.print(table)
    table = Table(
        "proxy",
        "mean",
        "min",
        "max",
        "s/arch",
        title="summary"
        if len(run.rows) <= 20
        else f"{run.path}: {len(run.rows)} archs ({run.scored} scored, {run.reused} reused)",
        title_justify="left",
    )
    for n in names:
        values = np.array([float(row[n]) for row in run.rows])
        seconds = np.array([float(row.get(seconds_column(n), float("nan"))) for row in run.rows])
        finite = values[np.isfinite(values)]
        stats = [f"{v:.6g}" for v in (finite.mean(), finite.min(), finite.max())] if finite.size else ["-"] * 3
        table.add_row(n, *stats, f"{np.nanmean(seconds):.4f}")
    stdout.print(table)


def _read_ground_truth(path: Path, arch_column: str, accuracy_column: str) -> list[tuple[str, float]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
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
    except OSError as exc:
        raise UsageError(f"--ground-truth {path}: cannot read ({exc.strerror or exc})") from None
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
    _check_positive("--sample", sample)
    _check_positive("--batch-size", batch_size)
    _check_positive("--min-group", min_group)
    _check_positive("--threads", threads)
    entries = _split(proxies)
    bases, fusions = parse_entries(entries)
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
    run = _run_scoring(
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
    )
    by_arch = {str(row["arch"]): row for row in run.rows}
    accuracy = np.array([accuracy_of[a] for a in archs])
    params = np.array([float(by_arch[a]["params"]) for a in archs])

    def column(name: str) -> np.ndarray:
        return np.array([float(by_arch[a][name]) for a in archs])

    judgements: list[ProxyJudgement] = []
    plots: dict[str, str] = {}
    for entry in entries:
        parts = entry.split("+")
        if len(parts) == 1:
            scores = column(entry)
            seconds = column(seconds_column(entry))
        else:
            scores = rank_fusion([column(p) for p in parts])
            seconds = np.sum([column(seconds_column(p)) for p in parts], axis=0)
        judgement = judge(entry, scores, accuracy, params, seconds, min_group=min_group)
        judgements.append(judgement)
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
        "scored_now": run.scored,
        "reused": run.reused,
        "proxies": [
            {
                **{k: _json_float(v) for k, v in vars(j).items()},
                "top1_regret": _json_float(j.top1_regret),
                "top10_regret": _json_float(j.top10_regret),
                "plot": plots[j.name],
                "fusion_of": j.name.split("+") if "+" in j.name else None,
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
        )
    stdout.print(table)


score.__doc__ = (score.__doc__ or "").format(proxies=", ".join(proxy_names()))  # the registry, never stale


def register(app: typer.Typer) -> None:
    app.command("score")(score)
    app.command("bench-proxies")(bench_proxies)
