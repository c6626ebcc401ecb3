"""Calibration fit and accuracy figures on numbers whose answers are known."""

from __future__ import annotations

import pytest

from hwnas.latency.validate import accuracy, fit_calibration, leave_one_out


def test_fit_recovers_a_linear_relation() -> None:
    raw = [5.0, 8.0, 11.0, 14.0, 20.0]
    measured = [1.1 * r + 0.7 for r in raw]
    cal = fit_calibration(raw, measured)
    assert cal.scale == pytest.approx(1.1) and cal.offset_ms == pytest.approx(0.7)
    assert cal.apply(10.0) == pytest.approx(11.7)
    assert leave_one_out(raw, measured) == pytest.approx(measured)


def test_fit_minimises_relative_error() -> None:
    raw = [1.0, 2.0, 100.0]
    measured = [1.0, 2.0, 150.0]  # one large outlier in absolute terms
    cal = fit_calibration(raw, measured)
    rel = [abs(cal.apply(r) - m) / m for r, m in zip(raw, measured, strict=True)]
    assert max(rel[:2]) < 0.3  # small networks are not sacrificed for the big one


def test_accuracy_figures() -> None:
    measured = [10.0, 10.0, 10.0, 10.0]
    predicted = [10.4, 9.0, 11.5, 10.0]  # +4%, -10%, +15%, 0%
    fig = accuracy(predicted, measured)
    assert fig["within_5pct"] == 0.5 and fig["within_10pct"] == 0.75
    assert fig["mape_pct"] == pytest.approx((4 + 10 + 15 + 0) / 4)
    assert fig["bias_pct"] == pytest.approx((4 - 10 + 15 + 0) / 4)
    assert fig["max_abs_error_pct"] == pytest.approx(15)
    assert fig["n"] == 4 and fig["spearman"] is None  # constant measurements: no ranking to compare
    ranked = accuracy([1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 5.0, 9.0])
    assert ranked["spearman"] == pytest.approx(1.0)
