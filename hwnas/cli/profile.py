"""`hwnas profile`: a device's block latency table, full or few-shot (``--budget`` / ``--budget-s``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from hwnas.cli.latency import ResumeOpt, TablesDirOpt, WorkDirOpt, progress_bar, validation_line
from hwnas.cli.options import JsonOpt, NumClassesOpt, ResolutionOpt, SeedOpt, SpaceOpt
from hwnas.cli.output import emit_json, stderr, stdout
from hwnas.devices import DEFAULT_DEVICE, load_device
from hwnas.errors import UsageError
from hwnas.spaces import DEFAULT_SPACE

DevicesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--device",
        "-d",
        help="Device name, alias or YAML path (see `hwnas devices`), e.g. host-cpu or jetson. Give it twice or "
        "more, or a pool file, to profile one table on a pool of devices of one kind (docs/scale.md).",
    ),
]


class _BlockProgress:
    """The progress bar's callbacks for a profile (full, pool or few-shot): one copy for the three."""

    def __init__(self, progress: Progress, label: str) -> None:
        self.progress = progress
        self.task = progress.add_task(label, total=None, item="")

    def on_start(self, total: int, present: int) -> None:
        self.progress.update(self.task, total=total, completed=present)

    def on_block(self, done: Any) -> None:
        self.progress.update(self.task, completed=done.done, item=f"{done.stats.median_ms:8.3f} ms  {done.key}")


def profile(
    devices: DevicesOpt = None,
    space: SpaceOpt = DEFAULT_SPACE,
    resolution: ResolutionOpt = None,
    num_classes: NumClassesOpt = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", help="Only the first N blocks of the space (the table stays incomplete; --resume continues)."
        ),
    ] = None,
    resume: ResumeOpt = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start a new table even if one exists.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Table file (default: latency_tables/<device>.json).")
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option("--budget", help="Few-shot: time N blocks that cover the space, predict the rest (e.g. 150)."),
    ] = None,
    budget_s: Annotated[
        float | None,
        typer.Option("--budget-s", help="Few-shot: time blocks for at most S seconds in all (networks included)."),
    ] = None,
    prior: Annotated[
        Path | None,
        typer.Option(
            "--prior",
            help="Few-shot: a table of another host, device or thread count whose values the model transfers.",
        ),
    ] = None,
    networks: Annotated[
        int, typer.Option("--networks", help="Few-shot: whole networks timed end to end for the calibration.")
    ] = 10,
    seed: SeedOpt = 0,
    tables_dir: TablesDirOpt = None,
    work_dir: WorkDirOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Time every distinct block of the space on the device and write its latency table
    (with --budget / --budget-s: a few-shot table, the rest of the blocks predicted)."""
    from hwnas.latency.pool import is_pool_file
    from hwnas.latency.profile import profile_device

    names = devices or [DEFAULT_DEVICE]
    if len(names) > 1 or is_pool_file(names[0]):
        if budget is not None or budget_s is not None or prior is not None:
            raise UsageError("a few-shot table (--budget, --budget-s, --prior) is profiled on one device, not a pool")
        _profile_pool(names, space, resolution, num_classes, limit, resume, overwrite, output, tables_dir, work_dir,
                      json_out)  # fmt: skip
        return
    device = names[0]
    if budget is not None or budget_s is not None:
        _profile_fewshot(
            device, space, resolution, num_classes, resume, overwrite, output, budget, budget_s, prior,
            networks, seed, tables_dir, work_dir, json_out,
        )  # fmt: skip
        return
    if prior is not None:
        raise UsageError("--prior is for a few-shot table: give --budget N or --budget-s S with it")
    dev = load_device(device)
    with progress_bar(f"profile {dev.name}") as progress:
        bar = _BlockProgress(progress, f"profile {dev.name}")
        on_start, on_block = bar.on_start, bar.on_block

        summary = profile_device(
            dev,
            space=space,
            resolution=resolution,
            num_classes=num_classes,
            limit=limit,
            resume=resume,
            overwrite=overwrite,
            output=output,
            tables_dir=tables_dir,
            work_dir=work_dir,
            on_start=on_start,
            on_block=on_block,
        )
    if json_out:
        emit_json(summary.to_dict())
        return
    table = Table(
        title=f"latency table for {summary.device} ({summary.runtime})", title_justify="left", show_header=False
    )
    table.add_column("what")
    table.add_column("value")
    table.add_row("file", str(summary.path))
    table.add_row(
        "entries",
        f"{summary.entries} of {summary.expected_entries}"
        + ("" if summary.complete else " (incomplete: --resume continues)"),
    )
    per = f", {summary.rounds} rounds per block" if summary.rounds > 1 else ""
    table.add_row(
        "measured now", f"{summary.measured} block timings ({summary.already_present} already in the table{per})"
    )
    _time_rows(table, summary)
    stdout.print(table)


def _profile_pool(
    names: list[str],
    space: str,
    resolution: int | None,
    num_classes: int | None,
    limit: int | None,
    resume: bool,
    overwrite: bool,
    output: Path | None,
    tables_dir: Path | None,
    work_dir: Path | None,
    json_out: bool,
) -> None:
    from hwnas.latency.pool import load_pool, profile_pool

    pool = load_pool(names)
    with progress_bar(f"profile pool {pool.name}") as progress:
        bar = _BlockProgress(progress, f"profile pool {pool.name}")
        on_start, on_block = bar.on_start, bar.on_block

        summary = profile_pool(
            pool, space=space, resolution=resolution, num_classes=num_classes, limit=limit, resume=resume,
            overwrite=overwrite, output=output, tables_dir=tables_dir, work_dir=work_dir, on_start=on_start,
            on_block=on_block,
        )  # fmt: skip
    for name, message in summary.failed.items():
        stderr.print(f"warning: {name} left the pool ({message}); the others measured its blocks")
    if json_out:
        emit_json(summary.to_dict())
        return
    table = Table(title=f"latency table for pool {summary.device} ({summary.runtime})", title_justify="left")
    table.show_header = False
    table.add_column("what")
    table.add_column("value")
    table.add_row("file", str(summary.path))
    table.add_row(
        "entries",
        f"{summary.entries} of {summary.expected_entries}"
        + ("" if summary.complete else " (incomplete: --resume continues)"),
    )
    table.add_row("measured now", f"{summary.measured} block timings ({summary.already_present} already in the table)")
    table.add_row("by member", ", ".join(f"{m} {n}" for m, n in summary.members.items()) or "none")
    _time_rows(table, summary)
    stdout.print(table)


def _time_rows(table: Table, summary: Any) -> None:
    table.add_row("wall time", f"{summary.wall_s:.1f} s")
    table.add_row("export", f"{summary.export_s:.1f} s ({summary.exported} models exported)")
    table.add_row(
        "timed runs",
        f"{summary.timed_s:.1f} s = {summary.timed_share:.0%} of wall time "
        f"(overhead {summary.overhead_share:.0%}; load + warm-up {summary.setup_s:.1f} s)",
    )


def _profile_fewshot(
    device: str,
    space: str,
    resolution: int | None,
    num_classes: int | None,
    resume: bool,
    overwrite: bool,
    output: Path | None,
    budget: int | None,
    budget_s: float | None,
    prior: Path | None,
    networks: int,
    seed: int,
    tables_dir: Path | None,
    work_dir: Path | None,
    json_out: bool,
) -> None:
    from hwnas.latency.fewshot import check_budget, profile_fewshot

    check_budget(budget, budget_s)
    if networks < 0 or 0 < networks < 3:
        raise UsageError(f"--networks must be 0 (no calibration) or at least 3, got {networks}")
    dev = load_device(device)
    with progress_bar(f"few-shot {dev.name}") as progress:
        bar = _BlockProgress(progress, f"few-shot {dev.name}")
        on_start, on_block = bar.on_start, bar.on_block

        def on_phase(text: str) -> None:
            progress.update(bar.task, description=text)
            if not stderr.is_terminal:
                stderr.print(f"few-shot {dev.name}: {text}")

        summary = profile_fewshot(
            dev, budget=budget, budget_s=budget_s, prior=prior, space=space, resolution=resolution,
            num_classes=num_classes, resume=resume, overwrite=overwrite, output=output, tables_dir=tables_dir,
            work_dir=work_dir, networks=networks, seed=seed, on_start=on_start, on_block=on_block, on_phase=on_phase,
        )  # fmt: skip
    if json_out:
        emit_json(summary.to_dict())
        return
    p = summary.profile
    table = Table(title=f"few-shot latency table for {p.device} ({p.runtime})", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("file", str(p.path))
    table.add_row(
        "entries",
        f"{summary.measured_entries} measured + {summary.predicted_entries} predicted of {p.expected_entries}",
    )
    table.add_row("prior", summary.prior or "none (block features only)")
    table.add_row("measured now", f"{p.measured} block timings ({p.already_present} already in the table)")
    _time_rows(table, p)
    table.add_row("total wall time", f"{summary.wall_s:.1f} s (features, blocks, model, networks)")
    stdout.print(table)
    if summary.validation is not None:
        stdout.print(validation_line(summary.validation))


def register(app: typer.Typer) -> None:
    app.command("profile")(profile)
