"""`hwnas score`: score architectures with proxies into a table that survives interruption.

The options and helpers here are shared with `hwnas bench-proxies` (:mod:`hwnas.cli.bench`)."""

from __future__ import annotations

import math
import sys
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
from rich.table import Table

from hwnas.cli.options import (
    ExecutorOpt,
    JsonOpt,
    NumClassesOpt,
    RayAddressOpt,
    ResolutionOpt,
    SeedOpt,
    SpaceOpt,
    TaskBatchOpt,
    ThreadsOpt,
)
from hwnas.cli.output import emit_json, stderr, stdout
from hwnas.errors import UsageError
from hwnas.io import read_text
from hwnas.proxies import proxy_names, resolve_proxies
from hwnas.proxies.data import LabelledImages, load_labelled_images
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
JSON_PROXY_LIST = ", ".join(proxy_names())


def split_names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UsageError("--proxies is empty (known: " + JSON_PROXY_LIST + ")")
    return names


def _read_lines(source: str) -> tuple[list[str], str]:
    if source == "-":
        return [line for line in sys.stdin.read().splitlines() if line.strip()], "stdin "
    path = Path(source)
    text = read_text(path, label="--archs")
    return [
        line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ], f"{path} "


def _load_data(data: Path | None) -> LabelledImages | None:
    return load_labelled_images(data) if data is not None else None


def check_positive(name: str, value: int | None) -> None:
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
        disable=not stderr.is_terminal,  # no bar in logs and pipes: only the summary and errors
        transient=True,  # the summary follows; no half bar before an error
    )


def run_scoring(
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
    executor: str = "local",
    ray_address: str | None = None,
    batch: int | None = None,
) -> ScoreRun:
    """Score into ``out`` on the chosen executor (local: this process with ``threads`` threads;
    ray: tasks of ``batch`` architectures, ``threads`` threads and CPUs each)."""
    import torch

    from hwnas.executors import check_executor, make_executor

    check_executor(executor, address=ray_address, batch=batch, threads=threads)
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
    with make_executor(executor, address=ray_address, batch=batch, threads=threads) as runner, _progress() as progress:
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
            executor=runner,
        )


def json_float(value: Any) -> Any:
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
    executor: ExecutorOpt = "local",
    ray_address: RayAddressOpt = None,
    batch: TaskBatchOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Score architectures with training-free proxies into a CSV (one row per arch, seconds per proxy).

    Proxies: {proxies}. Higher is better for every one.
    """
    if out is None:
        raise UsageError("--out is required (the CSV to write, e.g. --out scores.csv)")
    if archs and archs_file:
        raise UsageError("give architectures either as arguments or with --archs, not both")
    check_positive("--batch-size", batch_size)
    check_positive("--num-classes", num_classes)
    check_positive("--threads", threads)
    from hwnas.executors import check_executor

    check_executor(executor, address=ray_address, batch=batch)
    names = split_names(proxies)
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
    run = run_scoring(
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
        executor=executor,
        ray_address=ray_address,
        batch=batch,
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
                "rows": [{k: json_float(v) for k, v in row.items()} for row in run.rows],
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


score.__doc__ = (score.__doc__ or "").format(proxies=", ".join(proxy_names()))  # the registry, never stale


def register(app: typer.Typer) -> None:
    app.command("score")(score)
