"""Score many architectures into a CSV that survives interruption (``hwnas score``, ``bench-proxies``).

The CSV has one row per architecture: ``arch``, one column per proxy and one
``seconds_<proxy>`` column per proxy. It is rewritten atomically every few
seconds and at the end, so an interrupted run leaves a complete, shorter table.
With ``resume`` an existing table is read back and only what is missing is
scored: architectures not yet in it, and proxies not yet in a row. The settings
that change scores (space, seed, batch size, resolution, classes, data) are kept
beside the table in ``<table>.meta.json``; resuming with other settings is an
error rather than a silently mixed table.

Rows are scored by an :class:`~hwnas.executors.Executor` (default: this process); it
yields them in the order of the architectures, so the table is the same, row for row,
whatever ran it and however many workers it had.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from hwnas.errors import UsageError
from hwnas.executors import Executor, LocalExecutor
from hwnas.io import announce_checkpoint, atomic_write_json, atomic_write_text, read_json, read_text
from hwnas.proxies import resolve_proxies, score_architecture_timed
from hwnas.proxies.data import LabelledImages
from hwnas.spaces.base import SearchSpace

ARCH_COLUMN = "arch"
CHECKPOINT_EVERY_S = 5.0


@dataclass(frozen=True)
class ScoreSettings:
    """What a table's scores depend on besides the architecture (stored in ``.meta.json``)."""

    space: str
    seed: int
    batch_size: int | None
    resolution: int | None
    num_classes: int | None
    data: str | None


@dataclass(frozen=True)
class ScoreRun:
    """What a scoring pass did: the table, how many architectures it scored and how many it reused."""

    path: Path
    rows: list[dict[str, float | str]]
    proxies: list[str]
    scored: int
    reused: int


def seconds_column(proxy: str) -> str:
    return f"seconds_{proxy}"


def meta_path(table: Path) -> Path:
    return table.with_name(table.name + ".meta.json")


def read_table(path: Path) -> tuple[list[str], dict[str, dict[str, float | str]]]:
    """Proxy columns (in file order) and rows keyed by architecture; values as floats."""
    text = read_text(path)
    try:
        with io.StringIO(text, newline="") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            if ARCH_COLUMN not in header:
                raise UsageError(f"{path}: not a score table (no {ARCH_COLUMN!r} column)")
            rows: dict[str, dict[str, float | str]] = {}
            for line in reader:
                row: dict[str, float | str] = {ARCH_COLUMN: line[ARCH_COLUMN]}
                for key, value in line.items():
                    if key != ARCH_COLUMN and key is not None and value not in (None, ""):
                        row[key] = float(value)
                rows[line[ARCH_COLUMN]] = row
    except (OSError, ValueError, csv.Error) as exc:
        raise UsageError(f"{path}: cannot read the score table ({exc})") from None
    proxies = [c for c in header if c != ARCH_COLUMN and not c.startswith("seconds_")]
    return proxies, rows


def write_table(path: Path, proxies: Sequence[str], rows: Sequence[dict[str, float | str]]) -> None:
    columns = [ARCH_COLUMN, *proxies, *(seconds_column(p) for p in proxies)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _format(v) for k, v in row.items()})
    atomic_write_text(path, buffer.getvalue())


def _format(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return repr(float(value)) if math.isfinite(value) else str(float(value))


def canonical_archs(space: SearchSpace[Any], encodings: Sequence[str], *, where: str = "") -> list[str]:
    """Validated, canonical, de-duplicated encodings (first occurrence kept)."""
    seen: dict[str, None] = {}
    for i, text in enumerate(encodings, start=1):
        try:
            canonical = space.encode(space.decode(text))
        except UsageError as exc:
            prefix = f"{where}line {i}: " if where else ""
            raise type(exc)(f"{prefix}{exc}") from None
        seen.setdefault(canonical, None)
    return list(seen)


def score_table(
    space: SearchSpace[Any],
    archs: Sequence[str],
    proxies: Sequence[str],
    out: Path,
    *,
    settings: ScoreSettings,
    data: LabelledImages | None = None,
    resume: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_scored: Callable[[str, dict[str, float], dict[str, float]], None] | None = None,
    checkpoint_every_s: float = CHECKPOINT_EVERY_S,
    executor: Executor | None = None,
) -> ScoreRun:
    """Score ``archs`` (canonical encodings) with ``proxies`` into the CSV ``out``.

    ``on_start(n)`` is called with the number of architectures left to score,
    ``on_scored`` after each one (for progress bars). Without ``resume`` an
    existing table is replaced; with it, its rows are kept and completed. A file
    at ``out`` that is not a score table (notes, data) is never replaced.
    """
    resolve_proxies(proxies, has_data=data is not None)  # fail before any work
    check_out_path(out)
    announce_checkpoint(out)
    columns: list[str] = []
    rows: dict[str, dict[str, float | str]] = {}
    if resume and out.exists():
        _check_settings(out, settings)
        columns, rows = read_table(out)
    for p in proxies:
        if p not in columns:
            columns.append(p)
    todo = [(a, [p for p in proxies if p not in rows.get(a, {})]) for a in archs]
    todo = [(a, missing) for a, missing in todo if missing]
    fresh = not out.exists() and not meta_path(out).exists()
    atomic_write_json(meta_path(out), asdict(settings))
    if on_start:
        on_start(len(todo))
    last_write = time.monotonic()
    runner = executor if executor is not None else LocalExecutor()
    score = partial(_score_row, space, settings, data)
    try:
        with closing(runner.imap(score, todo)) as results:
            for (arch, missing), (scores, seconds) in zip(todo, results, strict=True):
                _store(rows, arch, missing, scores, seconds)
                if on_scored:
                    on_scored(arch, scores, seconds)
                if time.monotonic() - last_write >= checkpoint_every_s:
                    write_table(out, columns, list(rows.values()))
                    last_write = time.monotonic()
    except BaseException:
        if fresh and not rows:  # nothing scored: leave no empty table or settings file behind
            meta_path(out).unlink(missing_ok=True)
            out.unlink(missing_ok=True)
        else:
            write_table(out, columns, list(rows.values()))
        raise
    write_table(out, columns, list(rows.values()))
    wanted = set(archs)
    return ScoreRun(
        path=out,
        rows=[rows[a] for a in archs if a in rows and a in wanted],
        proxies=list(proxies),
        scored=len(todo),
        reused=len(archs) - len(todo),
    )


def _score_row(
    space: SearchSpace[Any], settings: ScoreSettings, data: LabelledImages | None, item: tuple[str, list[str]]
) -> tuple[dict[str, float], dict[str, float]]:
    """Scores and seconds of one architecture's missing proxies (runs wherever the executor puts it)."""
    arch, missing = item
    return score_architecture_timed(
        space,
        space.decode(arch),
        missing,
        seed=settings.seed,
        batch_size=settings.batch_size,
        resolution=settings.resolution,
        num_classes=settings.num_classes,
        data=data,
    )


def _store(
    rows: dict[str, dict[str, float | str]],
    arch: str,
    missing: list[str],
    scores: dict[str, float],
    seconds: dict[str, float],
) -> None:
    """Built aside and stored in one assignment: an interrupt can never leave a half-filled row."""
    row = dict(rows.get(arch, {ARCH_COLUMN: arch}))
    for p in missing:
        row[p] = scores[p]
        row[seconds_column(p)] = seconds[p]
    rows[arch] = row


def check_out_path(out: Path) -> None:
    """A usage error unless ``out`` is free or already a score table (its header starts with ``arch``)."""
    if out.is_dir():
        raise UsageError(f"--out {out} is a directory: give the CSV file to write, e.g. {out / 'scores.csv'}")
    if not out.exists():
        return
    try:
        with out.open(encoding="utf-8", newline="") as fh:
            header = next(csv.reader([fh.readline()]), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        header = []
    if not header or header[0] != ARCH_COLUMN:
        raise UsageError(
            f"--out {out} exists and is not an hwnas score table: it is left as it is; choose another --out"
        )


def _check_settings(out: Path, settings: ScoreSettings) -> None:
    meta = meta_path(out)
    if not meta.exists():
        return
    try:
        stored = read_json(meta)
    except ValueError:
        raise UsageError(f"{meta}: unreadable settings file; remove it or use another --out") from None
    mine = asdict(settings)
    diff = [f"{k} {stored.get(k)!r} -> {v!r}" for k, v in mine.items() if stored.get(k) != v]
    if diff:
        raise UsageError(
            f"{out} was scored with other settings ({'; '.join(diff)}): use the same options or another --out"
        )
