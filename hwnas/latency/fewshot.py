"""``hwnas profile --budget N``: a few-shot table, N blocks timed and the rest predicted.

A full table times every block (about 8 minutes for the 1,005 hybrid blocks here, hours
with TensorRT on a Jetson, where every block is an engine build). A few-shot table times
N blocks chosen by :mod:`hwnas.latency.sampling` (coverage, then uncertainty), fits the
ridge model of :mod:`hwnas.latency.predictor` on them (with a prior table's latency of
each block as a feature: transfer from another host, device or thread count), writes the
other blocks as ``source: predicted`` entries, and then times a few whole networks end to
end to fit the calibration (:func:`~hwnas.latency.validate.validate_table`, as a full
table's ``validate-table`` does). The model's parameters, and the prior's value of every
predicted block, are stored in the JSON, so :func:`model_predictions` reproduces the
predicted entries from the file alone.

``--budget-s S`` bounds the work by wall time instead (or as well): blocks are timed until
:data:`NETWORK_SHARE` of S is left, which the networks use. The table on disk is the
checkpoint, as for a full profile: an interrupted run keeps its measured blocks and
``--resume`` continues the same plan; without ``--budget`` a later ``--resume`` (a full
profile) replaces the predicted entries with measurements.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hwnas.devices import Device
from hwnas.errors import HwnasError, UsageError
from hwnas.latency.features import space_features
from hwnas.latency.predictor import PRIOR_FEATURE, RidgeModel, fit_ridge
from hwnas.latency.profile import BlockDone, BlockTimer, ProfileSummary, check_output, open_table, resolve_output
from hwnas.latency.sampling import cover_goal, coverage_order, group_count, least_sure
from hwnas.latency.table import LatencyTable, now_iso
from hwnas.latency.targets import open_target
from hwnas.latency.validate import ValidationReport, validate_table
from hwnas.records import FewShot
from hwnas.runtimes import RUNTIMES
from hwnas.spaces import DEFAULT_SPACE
from hwnas.spaces.base import BlockSpec, SearchSpace

MIN_BUDGET = 8
#: Blocks ordered for coverage at most (a few-shot run times far fewer; NB201 has 46,879 cells).
PLANNED_BLOCKS = 2000
BATCH = 16
NETWORK_SHARE = 0.25
DEFAULT_NETWORKS = 10


@dataclass(frozen=True)
class FewShotSummary:
    """A few-shot run: the block profile, how many entries were measured and predicted, the check."""

    profile: ProfileSummary
    measured_entries: int
    predicted_entries: int
    prior: str | None
    alpha: float
    validation: ValidationReport | None
    wall_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.profile.to_dict(),
            "measured_entries": self.measured_entries,
            "predicted_entries": self.predicted_entries,
            "prior": self.prior,
            "model_alpha": self.alpha,
            "validation": None if self.validation is None else self.validation.to_dict(),
            "total_wall_s": self.wall_s,
        }


def check_budget(budget: int | None, budget_s: float | None) -> None:
    if budget is None and budget_s is None:
        raise UsageError("a few-shot profile needs --budget N (blocks) or --budget-s S (seconds)")
    if budget is not None and budget < MIN_BUDGET:
        raise UsageError(f"--budget must be at least {MIN_BUDGET} blocks (a model is fitted on them), got {budget}")
    if budget_s is not None and not (math.isfinite(budget_s) and budget_s > 0):
        raise UsageError(f"--budget-s must be a positive number of seconds, got {budget_s}")


def load_prior(path: str | os.PathLike[str], space: SearchSpace, resolution: int, num_classes: int) -> LatencyTable:
    """The prior table, which must price every block of the same space, resolution and head
    (anything else is a usage error: the prior is an argument the user gave)."""
    if not Path(path).is_file():
        raise UsageError(f"--prior {path} does not exist")
    try:
        prior = LatencyTable.load(path)
    except HwnasError as exc:
        raise UsageError(f"--prior {path} is not a usable block latency table: {exc}") from None
    if (prior.space_name, prior.resolution, prior.num_classes) != (space.name, resolution, num_classes):
        raise UsageError(
            f"prior {path} covers space {prior.space_name!r} at {prior.resolution} px with {prior.num_classes} "
            f"classes; this table is {space.name!r} at {resolution} px with {num_classes}"
        )
    missing = [s.key for s in space.all_blocks(resolution, num_classes) if s.key not in prior.entries]
    if missing:
        raise UsageError(
            f"prior {path} lacks {len(missing)} blocks of the space (e.g. {missing[0]}); complete it first"
        )
    return prior


def _prior_record(prior: LatencyTable, path: Path, predicted: list[str]) -> dict[str, Any]:
    est = prior.estimator
    return {
        "path": str(path),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "device": prior.device_name,
        "runtime": dict(prior.header.runtime),
        "cpu_model": prior.header.host.get("cpu_model"),
        "threads": prior.header.threads,
        "estimator": est,
        "ms": {k: prior.entries[k].stats.value_ms(est) for k in predicted},
    }


def _rows(
    features: Any, keys: list[str], prior_ms: dict[str, float] | None, names: list[str] | None = None
) -> list[list[float]]:
    """Feature rows (all columns, or a stored model's ``names``), with the prior's log ms last."""
    if prior_ms is None:
        return [features.row(k, names) for k in keys]
    return [[*features.row(k, names), math.log(prior_ms[k])] for k in keys]


def profile_fewshot(
    device: str | Device,
    *,
    budget: int | None = None,
    budget_s: float | None = None,
    prior: str | os.PathLike[str] | None = None,
    space: str | SearchSpace = DEFAULT_SPACE,
    resolution: int | None = None,
    num_classes: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    output: str | os.PathLike[str] | None = None,
    tables_dir: str | os.PathLike[str] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    networks: int = DEFAULT_NETWORKS,
    seed: int = 0,
    on_start: Callable[[int, int], None] | None = None,
    on_block: Callable[[BlockDone], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> FewShotSummary:
    """Time ``budget`` blocks (or for ``budget_s`` seconds), predict the rest, calibrate on ``networks`` networks."""
    check_budget(budget, budget_s)
    started = time.perf_counter()
    dev, sp, r, k, path = resolve_output(device, space, resolution, num_classes, output, tables_dir)
    check_output(path, resume=resume, overwrite=overwrite)
    prior_path = Path(prior) if prior is not None else None
    if prior_path is not None and path.exists() and prior_path.resolve() == path.resolve():
        raise UsageError(f"--prior {prior_path} is the table being written; give the committed table or a copy")
    prior_table = load_prior(prior_path, sp, r, k) if prior_path is not None else None
    specs = list(sp.all_blocks(r, k))
    by_key = {s.key: s for s in specs}
    all_keys = set(by_key)
    phase = on_phase or (lambda _: None)
    phase("counting block features")
    features = space_features(sp, specs, resolution=r, num_classes=k, work_dir=work_dir)
    prior_all = None
    if prior_table is not None:
        est = prior_table.estimator
        prior_all = {key: max(prior_table.entries[key].stats.value_ms(est), 1e-6) for key in by_key}
    columns = features.names if RUNTIMES.get(dev.runtime).fewshot_operator_flops else features.block_names
    rows = dict(zip(by_key, _rows(features, list(by_key), prior_all, columns), strict=True))
    goal = min(budget if budget is not None else len(specs), len(specs))
    cover = cover_goal(goal, group_count(specs))
    # farthest-point ordering costs a pass over the blocks per pick: plan what a run can time
    plan = coverage_order(specs, list(rows.values()), limit=min(cover, PLANNED_BLOCKS))
    deadline = None if budget_s is None else started + budget_s * (1 - NETWORK_SHARE)

    with open_target(dev) as target:
        description = target.describe()
        table = open_table(path, dev, description, sp, r, k, len(all_keys), resume=resume and not overwrite)
        timer = BlockTimer(target, table, path, sp, all_keys, work_dir=work_dir, on_block=on_block)
        rounds = timer.rounds
        present = min(sum(1 for key in table.measured_keys if key in all_keys), goal)
        timer.total, timer.done = goal * rounds, present * rounds
        if on_start is not None:
            on_start(timer.total, timer.done)
        phase(f"timing {goal} of {len(specs)} blocks")
        try:
            while True:
                measured = [key for key in table.measured_keys if key in all_keys]
                partial = [key for key in measured if table.rounds_done(key) < rounds]
                if len(measured) - len(partial) >= goal or (deadline is not None and time.perf_counter() >= deadline):
                    break
                want = min(BATCH, goal - len(measured))
                if partial:
                    batch = partial[:BATCH]
                elif len(measured) < cover:
                    batch = [key for key in plan if key not in table.entries or table.entries[key].predicted]
                    batch = batch[: min(want, cover - len(measured))]
                else:
                    todo = [key for key in by_key if key not in measured]
                    batch = least_sure(
                        [rows[key] for key in measured],
                        [math.log(_value(table, key)) for key in measured],
                        todo,
                        [rows[key] for key in todo],
                        want,
                        seed=seed + len(measured),
                    )
                if not batch:
                    break
                timer.measure([by_key[key] for key in batch])
        finally:
            timer.finish()
        profile = timer.summary(description, present * rounds)

    phase("fitting the model and predicting the other blocks")
    model = _fit_and_predict(table, by_key, rows, columns, prior_table, prior_path, budget, budget_s, seed)
    table.with_progress(all_keys, rounds)
    table.save(path)
    profile = replace(profile, entries=len(table.entries), complete=table.complete)
    report = None
    if networks and table.complete:
        phase(f"timing {networks} whole networks for the calibration")
        report = validate_table(dev, samples=networks, seed=seed, table=path, work_dir=work_dir, resume=resume)
    return FewShotSummary(
        profile,
        len(table.measured_keys),
        len(table.predicted_keys),
        None if prior_path is None else str(prior_path),
        model.alpha if model is not None else math.nan,
        report,
        time.perf_counter() - started,
    )


def _value(table: LatencyTable, key: str) -> float:
    return max(table.entries[key].stats.value_ms(table.estimator), 1e-6)


def _fit_and_predict(
    table: LatencyTable,
    by_key: dict[str, BlockSpec],
    rows: dict[str, list[float]],
    columns: list[str],
    prior_table: LatencyTable | None,
    prior_path: Path | None,
    budget: int | None,
    budget_s: float | None,
    seed: int,
) -> RidgeModel | None:
    """Refit on every measured block and rewrite the predicted entries and the few-shot header."""
    measured = [key for key in table.measured_keys if key in by_key]
    if len(measured) < MIN_BUDGET:
        raise HwnasError(
            f"only {len(measured)} blocks were timed (--budget-s too short?); a model needs at least {MIN_BUDGET}"
        )
    table.drop_predictions()
    todo = [key for key in by_key if key not in table.entries]
    if not todo:
        return None  # everything measured: a full table
    names = [*columns, *([PRIOR_FEATURE] if prior_table is not None else [])]
    model = fit_ridge(
        [rows[key] for key in measured],
        [math.log(_value(table, key)) for key in measured],
        names,
        table.estimator,
    )
    for key, ms in zip(todo, model.predict_ms([rows[key] for key in todo]), strict=True):
        table.add_prediction(by_key[key], ms)
    record = None
    if prior_table is not None and prior_path is not None:
        record = _prior_record(prior_table, prior_path, todo)
    table.set_fewshot(
        FewShot(
            budget=budget,
            budget_s=budget_s,
            seed=seed,
            date=now_iso(),
            prior=record,
            model=model.to_json(),
            selection={"method": "coverage then uncertainty", "cover_share": 0.5, "batch": BATCH},
        )
    )
    return model


def model_predictions(
    table: LatencyTable, space: SearchSpace, *, work_dir: str | os.PathLike[str] | None = None
) -> dict[str, float]:
    """The predicted entries recomputed from the JSON alone: the stored model on the block
    features and the stored prior values (a check that the file reproduces its predictions)."""
    fewshot = table.header.fewshot
    if fewshot is None:
        return {}
    model = RidgeModel.from_json(fewshot.model)
    specs = list(space.all_blocks(table.resolution, table.num_classes))  # the columns depend on the whole space
    features = space_features(
        space, specs, resolution=table.resolution, num_classes=table.num_classes, work_dir=work_dir
    )
    names = list(model.features)
    if fewshot.prior is not None:
        if names[-1:] != [PRIOR_FEATURE]:
            raise HwnasError(f"the stored model has a prior but its last feature is not {PRIOR_FEATURE}")
        names = names[:-1]
    if not features.has_columns(names):  # a table fitted on fewer columns (an older hwnas) is fine
        raise HwnasError("the stored model's features are not this space's (a table of another hwnas version?)")
    predicted = set(table.predicted_keys)
    specs = [s for s in specs if s.key in predicted]
    keys = [s.key for s in specs]
    prior_ms = None if fewshot.prior is None else {key: float(v) for key, v in fewshot.prior["ms"].items()}
    return dict(zip(keys, model.predict_ms(_rows(features, keys, prior_ms, names)), strict=True))
