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
