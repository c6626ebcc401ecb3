"""TimingStats from raw samples: percentiles as numpy computes them, sane order, errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwnas.latency.timing import TimingSettings, TimingStats


@given(st.lists(st.floats(min_value=0.0, max_value=1e4, allow_nan=False), min_size=1, max_size=200))
def test_stats_match_numpy(samples: list[float]) -> None:
    stats = TimingStats.from_samples(samples)
    assert stats.n == len(samples)
    assert stats.median_ms == pytest.approx(float(np.median(samples)), rel=1e-9, abs=1e-9)
    assert stats.p10_ms == pytest.approx(float(np.percentile(samples, 10)), rel=1e-9, abs=1e-9)
    assert stats.p90_ms == pytest.approx(float(np.percentile(samples, 90)), rel=1e-9, abs=1e-9)
    assert stats.mean_ms == pytest.approx(float(np.mean(samples)), rel=1e-9, abs=1e-9)
    assert stats.p10_ms <= stats.median_ms <= stats.p90_ms
    expected_std = float(np.std(samples, ddof=1)) if len(samples) > 1 else 0.0
    assert stats.std_ms == pytest.approx(expected_std, rel=1e-6, abs=1e-6)


def test_round_trip_and_bad_input() -> None:
    stats = TimingStats.from_samples([1.0, 2.0, 3.0])
    assert TimingStats.from_dict(stats.to_dict()) == stats
    with pytest.raises(ValueError):
        TimingStats.from_samples([])
    with pytest.raises(ValueError):
        TimingStats.from_samples([1.0, float("nan")])
    assert TimingSettings.from_dict({"min_runs": 7, "unknown": 1}).min_runs == 7


def test_best_of_rounds_keeps_the_lowest_estimator_and_the_earliest_on_ties() -> None:
    from hwnas.latency.timing import best_of_rounds

    a = TimingStats.from_samples([3.0, 3.0, 9.0])  # median 3, p10 3
    b = TimingStats.from_samples([1.0, 4.0, 4.0])  # median 4, p10 1.6
    c = TimingStats.from_samples([3.0, 3.0, 9.0])
    assert best_of_rounds([a, b], "median") is a and best_of_rounds([a, b], "p10") is b
    assert best_of_rounds([a, c], "median") is a  # a tie keeps the earlier round
    with pytest.raises(ValueError, match="no rounds"):
        best_of_rounds([], "median")
