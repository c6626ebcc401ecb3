"""Few-shot tables: predicted entries are marked, the JSON's model reproduces them after a reload,
an interrupted run resumes, a prior is used and stored, and a full profile replaces predictions.

Blocks are timed for real on a quick-timing device at 32 px (milliseconds each); nothing asserts a
timing. The block features are counted once per session (``features`` work dir)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hwnas.errors import UsageError
from hwnas.latency.fewshot import load_prior, model_predictions, profile_fewshot
from hwnas.latency.predictor import PRIOR_FEATURE, RidgeModel
from hwnas.latency.profile import BlockDone, profile_device
from hwnas.latency.table import LatencyTable
from hwnas.spaces import get_space

R = 32
SPACE = get_space("hybrid")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export cache and feature cache for the module: counting 1,005 blocks costs seconds."""
    return tmp_path_factory.mktemp("work")


def _fewshot(device: Path, out: Path, work: Path, **kw):
    kw.setdefault("networks", 0)
    return profile_fewshot(str(device), space="hybrid", resolution=R, output=out, work_dir=work, **kw)


def test_predicted_entries_are_marked_and_reproduced_after_a_reload(fast_device: Path, tmp_path: Path, work) -> None:
    out = tmp_path / "few.json"
    summary = _fewshot(fast_device, out, work, budget=12)
    table = LatencyTable.load(out)
    assert summary.measured_entries == 12 and summary.predicted_entries == 1005 - 12
    assert table.complete and len(table.entries) == 1005
    predicted = [e for e in table.entries.values() if e.predicted]
    assert len(predicted) == 993 and all(e.source == "predicted" and e.stats.n == 0 for e in predicted)
    assert sum(e.source == "measured" for e in table.entries.values()) == 12
    # coverage first: every kind is among the measured blocks
    assert {table.entries[k].kind for k in table.measured_keys} >= {"stem", "ibn", "convnext", "transformer"}
    model = RidgeModel.from_json(table.header.fewshot.model)  # plain numbers, no pickle
    assert model.fitted_on == 12 and PRIOR_FEATURE not in model.features
    # ONNX Runtime keeps the block columns: the operator classes are LiteRT's (Runtime.fewshot_operator_flops)
    assert not any(name.startswith(("log_flops:", "share:")) for name in model.features)
    again = model_predictions(LatencyTable.load(out), SPACE, work_dir=work)
    assert again == {k: table.entries[k].stats.p10_ms for k in table.predicted_keys}  # bit for bit
    assert all(math.isfinite(v) and v > 0 for v in again.values())


def test_a_prior_becomes_a_feature_and_its_values_are_stored(fast_device: Path, tmp_path: Path, work) -> None:
    prior = tmp_path / "prior.json"
    _fewshot(fast_device, prior, work, budget=10)
    out = tmp_path / "transfer.json"
    _fewshot(fast_device, out, work, budget=10, prior=prior)
    table = LatencyTable.load(out)
    fewshot = table.header.fewshot
    assert fewshot is not None and fewshot.prior is not None and fewshot.prior["path"] == str(prior)
    assert RidgeModel.from_json(fewshot.model).features[-1] == PRIOR_FEATURE
    assert set(fewshot.prior["ms"]) == set(table.predicted_keys)
    prior.unlink()  # the table reproduces its predictions without the prior file
    assert model_predictions(table, SPACE, work_dir=work) == {
        k: table.entries[k].stats.p10_ms for k in table.predicted_keys
    }


def test_an_interrupted_fewshot_profile_resumes(fast_device: Path, tmp_path: Path, work) -> None:
    out = tmp_path / "few.json"
    seen: list[BlockDone] = []

    def stop_after_five(done: BlockDone) -> None:
        seen.append(done)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _fewshot(fast_device, out, work, budget=12, on_block=stop_after_five)
    partial = LatencyTable.load(out)
    assert len(partial.measured_keys) == 5 and not partial.predicted_keys and not partial.complete
    with pytest.raises(UsageError, match="--resume"):
        _fewshot(fast_device, out, work, budget=12)
    starts: list[tuple[int, int]] = []
    summary = _fewshot(fast_device, out, work, budget=12, resume=True, on_start=lambda t, p: starts.append((t, p)))
    assert starts == [(12, 5)] and summary.profile.measured == 7
    table = LatencyTable.load(out)
    assert len(table.measured_keys) == 12 and table.complete
    for key in partial.measured_keys:
        assert table.entries[key] == partial.entries[key]  # kept, not re-measured


def test_a_full_profile_replaces_predicted_entries(fast_device: Path, tmp_path: Path, work) -> None:
    out = tmp_path / "few.json"
    _fewshot(fast_device, out, work, budget=8)
    table = LatencyTable.load(out)
    specs = {s.key: s for s in SPACE.all_blocks(R)}
    some = [specs[k] for k in table.predicted_keys[:3]]
    summary = profile_device(str(fast_device), space="hybrid", resolution=R, output=out, work_dir=work, resume=True,
                             blocks=some)  # fmt: skip
    assert summary.measured == 3
    after = LatencyTable.load(out)
    assert all(not after.entries[s.key].predicted and after.entries[s.key].stats.n >= 3 for s in some)
    assert len(after.predicted_keys) == len(table.predicted_keys) - 3 and after.header.fewshot is not None


def test_prior_checks(fast_device: Path, tmp_path: Path, work) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_prior(tmp_path / "missing.json", SPACE, R, 1000)
    not_table = tmp_path / "x.json"
    not_table.write_text('{"a": 1}')
    with pytest.raises(UsageError, match="not a usable block latency table"):
        load_prior(not_table, SPACE, R, 1000)
    small = tmp_path / "small.json"
    profile_device(str(fast_device), space="hybrid", resolution=R, output=small, work_dir=work, limit=2)
    with pytest.raises(UsageError, match="lacks 1003 blocks"):
        load_prior(small, SPACE, R, 1000)
    with pytest.raises(UsageError, match="covers space 'hybrid' at 32 px"):
        load_prior(small, SPACE, 64, 1000)


def test_coverage_order_plans_a_large_space_in_linear_memory() -> None:
    """NB201 has 46,879 cells: ordering them all by farthest-point once needed a 38 GiB array.
    A limit orders what a budget can time; every key is still returned, once."""
    import time

    import numpy as np

    from hwnas.latency.sampling import coverage_order
    from hwnas.spaces.base import BlockSpec

    rng = np.random.default_rng(0)
    n = 50_000
    specs = [BlockSpec(f"b{i}", "cell", (1, 16 * (1 + i % 3), 8, 8)) for i in range(n)]
    rows = rng.normal(size=(n, 7)).tolist()
    started = time.perf_counter()
    order = coverage_order(specs, rows, limit=40)
    assert time.perf_counter() - started < 60
    assert sorted(order) == sorted(s.key for s in specs)
    assert order[:40] == coverage_order(specs, rows, limit=40)[:40]  # deterministic plan
    small = coverage_order(specs[:300], rows[:300])
    assert small[:40] == coverage_order(specs[:300], rows[:300], limit=40)[:40]  # a limit only cuts the plan
