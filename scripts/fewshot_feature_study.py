"""Offline check of the few-shot model's feature sets on a few-shot table's own measurements.

For a committed few-shot table, refit its ridge model on its measured blocks with (a) the block
features of the table's model (an older column set) and (b) every column of this hwnas (with the
FLOPs split by operator class), and score both:

- entries: 10-fold cross-validation over the measured blocks (share within ±10 %, MAPE);
- networks: the table's stored validation networks (measured end to end), predicted as the sum of
  measured entries and the model's predictions for the rest, calibrated leave-one-out as
  ``validate-table`` does.

Nothing is timed. Usage: python scripts/fewshot_feature_study.py latency_tables/host-cpu-litert.json
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from hwnas.latency.features import space_features
from hwnas.latency.fewshot import _rows
from hwnas.latency.predictor import PRIOR_FEATURE, RidgeModel, fit_ridge
from hwnas.latency.table import LatencyTable
from hwnas.latency.validate import accuracy, leave_one_out
from hwnas.spaces import get_space


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table")
    ap.add_argument("--folds", type=int, default=10)
    ap.add_argument(
        "--networks-from", help="score on this table's validation networks (same device): e.g. a fresh validation"
    )
    args = ap.parse_args()
    table = LatencyTable.load(args.table)
    fewshot = table.header.fewshot
    scored = LatencyTable.load(args.networks_from) if args.networks_from else table
    if fewshot is None or scored.header.validation is None:
        raise SystemExit(f"{args.table} is not a few-shot table, or no validation networks to score it on")
    sp = get_space(table.space_name)
    specs = list(sp.all_blocks(table.resolution, table.num_classes))
    feats = space_features(sp, specs, resolution=table.resolution, num_classes=table.num_classes)
    keys = [s.key for s in specs]
    est = table.estimator
    stored = [n for n in RidgeModel.from_json(fewshot.model).features if n != PRIOR_FEATURE]
    prior_ms = None
    if fewshot.prior is not None:
        prior = LatencyTable.load(fewshot.prior["path"])  # relative to the repository root, as recorded
        prior_ms = {k: max(prior.entries[k].stats.value_ms(prior.estimator), 1e-6) for k in keys}
    measured = [k for k in keys if k in table.entries and not table.entries[k].predicted]
    log_ms = {k: math.log(max(table.entries[k].stats.value_ms(est), 1e-6)) for k in measured}
    samples = scored.header.validation.samples
    meas_net = [s.measured_ms for s in samples]
    out = {"table": args.table, "measured_blocks": len(measured), "networks": len(samples)}
    for label, names in (("stored columns", stored), ("all columns", list(feats.names))):
        rows = dict(zip(keys, _rows(feats, keys, prior_ms, names), strict=True))
        columns = [*names, *([PRIOR_FEATURE] if prior_ms is not None else [])]
        order = np.random.default_rng(0).permutation(len(measured))
        errors = []
        for fold in range(args.folds):
            test = [measured[i] for i in order[fold :: args.folds]]
            train = [k for k in measured if k not in set(test)]
            model = fit_ridge([rows[k] for k in train], [log_ms[k] for k in train], columns, est)
            pred = model.predict_ms([rows[k] for k in test])
            errors += [abs(p / math.exp(log_ms[k]) - 1) for p, k in zip(pred, test, strict=True)]
        err = np.asarray(errors)
        model = fit_ridge([rows[k] for k in measured], [log_ms[k] for k in measured], columns, est)
        pred_all = dict(zip(keys, model.predict_ms([rows[k] for k in keys]), strict=True))
        value = {k: (math.exp(log_ms[k]) if k in log_ms else pred_all[k]) for k in keys}
        raw = [
            sum(value[b.key] for b in sp.blocks(sp.decode(s.arch), table.resolution, table.num_classes))
            for s in samples
        ]
        nets = accuracy(leave_one_out(raw, meas_net), meas_net)
        out[label] = {
            "columns": len(rows[keys[0]]),
            "entries_cv_within_10pct": float(np.mean(err <= 0.10)),
            "entries_cv_mape_pct": float(100 * err.mean()),
            "networks_loo": nets,
        }
        print(
            f"{label:15s} ({len(rows[keys[0]])} columns): entries (CV) {np.mean(err <= 0.1):.0%} within ±10 %, "
            f"MAPE {100 * err.mean():.1f} %; {len(samples)} networks (LOO) {nets['within_10pct']:.0%} within ±10 %, "
            f"MAPE {nets['mape_pct']:.1f} %, Spearman {nets['spearman']:.3f}"
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
