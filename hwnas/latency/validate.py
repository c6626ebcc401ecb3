"""``hwnas validate-table``: check a block table against end-to-end timings and calibrate it.

A sum of blocks misses what happens between blocks (cache reuse, fusion, per-call
overhead), so N sampled networks are timed whole on the device and a linear correction
``measured ~ scale * sum + offset`` is fitted, minimising squared *relative* error (the
metric is relative). Figures are reported twice: for the raw sums, and for the
calibrated predictions under leave-one-out (each network predicted by a fit on the
other N-1), so the calibrated figures are not flattered by fitting on what they score.
Calibration, figures and the samples are stored in the table's JSON; a plot is written
beside it. Measurements are checkpointed, so ``--resume`` continues an interrupted run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hwnas.devices import Device, load_device
from hwnas.errors import HwnasError, UsageError
from hwnas.io import atomic_path, atomic_write_json, read_json
from hwnas.latency.artifacts import default_work_dir, safe_name
from hwnas.latency.endtoend import EndToEndMeasurer
from hwnas.latency.provenance import DEFAULT_ENTRY_CHECKS, by_share, entry_sample, predicted_share, retime_entries
from hwnas.latency.sources import BlockLatencyTable
from hwnas.latency.table import Calibration, LatencyTable, now_iso, table_path
from hwnas.latency.timing import TimingStats, best_of_rounds
from hwnas.records import Validation, ValidationSample
from hwnas.spaces import DEFAULT_SPACE, get_space

MIN_SAMPLES = 3


def fit_calibration(raw_ms: Sequence[float], measured_ms: Sequence[float]) -> Calibration:
    """Least squares of relative error: minimise sum(((scale * raw + offset) - m) / m) ** 2."""
    raw = np.asarray(raw_ms, dtype=float)
    meas = np.asarray(measured_ms, dtype=float)
    if len(raw) < 2:
        raise ValueError("a linear calibration needs at least 2 networks")
    design = np.stack([raw / meas, 1.0 / meas], axis=1)
    (scale, offset), *_ = np.linalg.lstsq(design, np.ones_like(meas), rcond=None)
    if not scale > 0:  # degenerate spread: fall back to a pure scale
        scale, offset = float(np.sum(raw / meas) / np.sum((raw / meas) ** 2)), 0.0
    return Calibration(scale=float(scale), offset_ms=float(offset), method="linear")


def leave_one_out(raw_ms: Sequence[float], measured_ms: Sequence[float]) -> list[float]:
    """Each network predicted by a calibration fitted on all the others."""
    out = []
    for i in range(len(raw_ms)):
        rest_raw = [x for j, x in enumerate(raw_ms) if j != i]
        rest_meas = [x for j, x in enumerate(measured_ms) if j != i]
        out.append(fit_calibration(rest_raw, rest_meas).apply(raw_ms[i]))
    return out


def accuracy(predicted_ms: Sequence[float], measured_ms: Sequence[float]) -> dict[str, Any]:
    """Share within +-5% / +-10%, MAPE, mean signed error, worst error (all in %), Spearman's rho
    (None where it is undefined: fewer than 3 networks, or constant values)."""
    from scipy.stats import spearmanr

    pred = np.asarray(predicted_ms, dtype=float)
    meas = np.asarray(measured_ms, dtype=float)
    err = (pred - meas) / meas * 100.0
    defined = len(pred) > 2 and np.ptp(pred) > 0 and np.ptp(meas) > 0
    rho = float(spearmanr(pred, meas).statistic) if defined else None
    return {
        "n": int(len(pred)),
        "within_5pct": float(np.mean(np.abs(err) <= 5.0)),
        "within_10pct": float(np.mean(np.abs(err) <= 10.0)),
        "mape_pct": float(np.mean(np.abs(err))),
        "bias_pct": float(np.mean(err)),
        "max_abs_error_pct": float(np.max(np.abs(err))),
        "spearman": rho,
    }


@dataclass(frozen=True)
class ArchDone:
    done: int
    total: int
    arch: str
    measured_ms: float


@dataclass(frozen=True)
class ValidationReport:
    table_path: Path
    plot_path: Path
    device: str
    n: int
    seed: int
    calibration: Calibration
    uncalibrated: dict[str, Any]
    calibrated: dict[str, Any]
    wall_s: float
    by_source: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": str(self.table_path),
            "plot": str(self.plot_path),
            "device": self.device,
            "n": self.n,
            "seed": self.seed,
            "calibration": self.calibration.to_dict(),
            "uncalibrated": self.uncalibrated,
            "calibrated": self.calibrated,
            "wall_s": self.wall_s,
            "by_source": self.by_source,
        }


def validate_table(
    device: str | Device,
    *,
    samples: int,
    seed: int = 0,
    space: str | None = None,
    resolution: int | None = None,
    table: str | os.PathLike[str] | None = None,
    tables_dir: str | os.PathLike[str] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    plot: str | os.PathLike[str] | None = None,
    resume: bool = False,
    entry_checks: int | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_arch: Callable[[ArchDone], None] | None = None,
) -> ValidationReport:
    """Measure ``samples`` networks drawn with ``seed``, calibrate the table, store the figures.

    A table with predicted entries (a few-shot table) also gets figures by source
    (:mod:`hwnas.latency.provenance`): ``entry_checks`` predicted and as many measured entries
    re-timed (default :data:`~hwnas.latency.provenance.DEFAULT_ENTRY_CHECKS`; 0 skips), and the
    networks split by the share of their sum that predicted entries supply."""
    if samples < MIN_SAMPLES:
        raise UsageError(f"--samples must be at least {MIN_SAMPLES} (a calibration is fitted), got {samples}")
    dev = load_device(device)
    sp = get_space(space or DEFAULT_SPACE)
    path = Path(table) if table is not None else table_path(dev.name, sp, resolution, None, tables_dir)
    if not path.exists():
        raise HwnasError(
            f"no latency table for device {dev.name!r} at {path}: run `hwnas profile --device {dev.name}` first"
        )
    doc = LatencyTable.load(path)
    sp = get_space(doc.space_name)
    source = BlockLatencyTable(doc)
    archs = [sp.encode(a) for a in sp.sample_many(samples, seed)]
    raw = [source.raw_ms(sp, a, resolution=doc.resolution) for a in archs]  # LatencyUnknown if incomplete

    started = time.perf_counter()
    checkpoint = _checkpoint_path(work_dir, doc, seed)
    rounds = dev.timing.rounds
    # per network, the statistics of each round measured so far (rounds interleaved over the list)
    measured: dict[str, list[dict[str, Any]]] = _load_checkpoint(checkpoint, doc) if resume else {}
    if on_start is not None:
        on_start(len(archs) * rounds, sum(min(len(measured.get(a, [])), rounds) for a in archs))
    few_shot = bool(doc.predicted_keys)
    checks = (DEFAULT_ENTRY_CHECKS if entry_checks is None else entry_checks) if few_shot else 0
    if checks < 0:
        raise UsageError(f"--entry-checks must be 0 or more, got {checks}")
    entries: dict[str, Any] = {}
    with EndToEndMeasurer(dev, sp, resolution=doc.resolution, num_classes=doc.num_classes, work_dir=work_dir) as meter:
        runtime = meter.describe()["runtime"]
        was = doc.header.runtime
        if runtime.get("version") != was.get("version") or runtime.get("name") != was.get("name"):
            raise UsageError(
                f"{path} was measured with {was.get('name')} "
                f"{was.get('version')}, the device now runs {runtime.get('name')} "
                f"{runtime.get('version')}: re-profile before validating"
            )
        try:
            for round_index in range(rounds):
                for arch in archs:
                    done = measured.setdefault(arch, [])
                    if len(done) <= round_index:
                        done.append(meter.measure(arch).stats.to_dict())
                        _save_checkpoint(checkpoint, doc, measured)
                        if on_arch is not None:
                            progress = sum(min(len(measured.get(a, [])), rounds) for a in archs)
                            on_arch(ArchDone(progress, len(archs) * rounds, arch, done[-1][f"{doc.estimator}_ms"]))
        finally:
            _save_checkpoint(checkpoint, doc, measured)
        if checks:
            sample = entry_sample(doc, checks, seed)
            entries = retime_entries(meter.target, doc, sp, sample, accuracy, work_dir=work_dir)
    est = doc.estimator  # the table's statistic, measured end to end the same way
    best = {a: best_of_rounds([TimingStats.from_dict(st) for st in measured[a]], est) for a in archs}  # as blocks
    meas = [best[a].value_ms(est) for a in archs]
    calibration = fit_calibration(raw, meas)
    loo = leave_one_out(raw, meas)
    report_raw = accuracy(raw, meas)
    report_cal = accuracy(loo, meas)
    shares = [predicted_share(doc, sp, a) for a in archs] if few_shot else None
    by_source = None
    if shares is not None:
        by_source = {"entries": entries, "networks": by_share(shares, loo, meas, accuracy)}
    plot_path = Path(plot) if plot is not None else path.with_suffix(".validation.png")
    date = now_iso()
    validation = Validation(
        date=date,
        n=len(archs),
        seed=seed,
        method=f"end-to-end {est} of sampled networks (fastest of timing.rounds interleaved rounds, as for "
        "blocks); calibrated figures by leave-one-out",
        estimator=est,
        rounds=rounds,
        uncalibrated=report_raw,
        calibrated=report_cal,
        plot=plot_path.name,
        by_source=by_source,
        samples=tuple(
            ValidationSample(
                arch=a,
                predicted_raw_ms=round(r, 5),
                predicted_loo_ms=round(p, 5),
                measured_ms=round(m, 5),
                measured_p10_ms=round(best[a].p10_ms, 5),
                measured_p90_ms=round(best[a].p90_ms, 5),
                round_medians_ms=tuple(round(float(st["median_ms"]), 5) for st in measured[a]),
                round_p10_ms=tuple(round(float(st["p10_ms"]), 5) for st in measured[a]),
                predicted_share=None if shares is None else round(shares[i], 4),
            )
            for i, (a, r, p, m) in enumerate(zip(archs, raw, loo, meas, strict=True))
        ),
    )
    doc.calibrate(replace(calibration, fitted_on=len(archs), seed=seed, date=date), validation)
    doc.save(path)
    plot_validation(
        raw,
        loo,
        meas,
        plot_path,
        title=f"{dev.name}: {doc.space_name} at {doc.resolution}, {len(archs)} networks (seed {seed}), estimator {est}",
        figures_cal=report_cal,
        figures_raw=report_raw,
    )
    return ValidationReport(
        path,
        plot_path,
        dev.name,
        len(archs),
        seed,
        calibration,
        report_raw,
        report_cal,
        time.perf_counter() - started,
        by_source,
    )


def _checkpoint_path(work_dir: str | os.PathLike[str] | None, doc: LatencyTable, seed: int) -> Path:
    root = Path(work_dir) if work_dir is not None else default_work_dir()
    ident = doc.identity()
    name = safe_name(
        f"{ident['device']}-{ident['runtime']}-{ident['runtime_version']}-{doc.space_name}-"
        f"{doc.resolution}-{doc.num_classes}-seed{seed}"
    )
    return root / "validation" / f"{name}.json"


def _load_checkpoint(path: Path, doc: LatencyTable) -> dict[str, list[dict[str, Any]]]:
    if not path.exists():
        return {}
    data = read_json(path)
    if data.get("identity") != doc.identity():
        return {}
    return {a: [TimingStats.from_dict(s).to_dict() for s in rounds] for a, rounds in data.get("measured", {}).items()}


def _save_checkpoint(path: Path, doc: LatencyTable, measured: dict[str, list[dict[str, Any]]]) -> None:
    atomic_write_json(path, {"identity": doc.identity(), "measured": measured})


def plot_validation(
    raw: Sequence[float],
    calibrated: Sequence[float],
    measured: Sequence[float],
    path: Path,
    *,
    title: str,
    figures_cal: dict[str, Any] | None = None,
    figures_raw: dict[str, Any] | None = None,
) -> Path:
    """Predicted vs measured (ms), with y = x and the +-10% band (PNG, written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meas = np.asarray(measured, dtype=float)
    lo, hi = (
        float(min(meas.min(), min(raw), min(calibrated))) * 0.9,
        float(max(meas.max(), max(raw), max(calibrated))) * 1.1,
    )
    line = np.linspace(lo, hi, 50)
    fig, ax = plt.subplots(figsize=(6, 6), dpi=110)
    ax.fill_between(line, line * 0.9, line * 1.1, color="0.9", label="±10%")
    ax.plot(line, line, color="0.4", lw=1)
    ax.scatter(meas, raw, s=18, marker="x", color="tab:orange", label=_label("sum of blocks", figures_raw))
    ax.scatter(meas, calibrated, s=18, color="tab:blue", label=_label("calibrated (leave-one-out)", figures_cal))
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured end to end (ms)")
    ax.set_ylabel("predicted from the block table (ms)")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def _label(name: str, fig: dict[str, Any] | None) -> str:
    if not fig:
        return name
    rho = fig["spearman"]
    return f"{name}: {fig['within_10pct']:.0%} within ±10%, MAPE {fig['mape_pct']:.1f}%" + (
        "" if rho is None else f", ρ {rho:.3f}"
    )
