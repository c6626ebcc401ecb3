"""The probe: a table scaled by 1.3 is caught, a table of this machine passes, the result is cached,
the warning comes once with the fix, and a foreign fingerprint is named. Timing is faked: the probe's
verdict depends on the ratio of measured to stored values, not on how fast this machine is."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hwnas.devices import load_device
from hwnas.latency import probe as probe_mod
from hwnas.latency.probe import advice, check_table, probe_specs, warn_if_foreign
from hwnas.latency.table import LatencyTable
from hwnas.latency.targets import open_target
from hwnas.latency.timing import TimingStats
from hwnas.spaces import get_space

R = 32


def _table(device_file: Path, path: Path, scale: float = 1.0) -> LatencyTable:
    """A small table of this machine's fingerprint; every stored value is ``scale`` x the fake timing."""
    dev = load_device(str(device_file))
    sp = get_space("hybrid")
    with open_target(dev) as target:
        description = target.describe()
    table = LatencyTable.new(
        device=dev, description=description, space=sp, resolution=R, num_classes=1000, expected_entries=1005, path=path
    )
    for i, spec in enumerate(sp.all_blocks(R)):
        if i % 25 == 0:  # 41 blocks over every kind and stage
            ms = _fake_ms(spec.key) * scale
            table.add(spec, TimingStats(ms, ms, ms, ms, 0.0, 10))
    table.save(path)
    return table


def _fake_ms(key: str) -> float:
    return 0.1 + (sum(map(ord, key)) % 97) / 50.0


@pytest.fixture
def fake_timing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """Blocks 'run' at _fake_ms(key); counts how many probes timed anything."""
    calls: list[int] = []

    def fake(device, space, specs, work_dir):  # noqa: ANN001
        calls.append(len(specs))
        description = probe_mod._describe(device)
        return description, [TimingStats(*(_fake_ms(s.key),) * 4, 0.0, 10) for s in specs]

    monkeypatch.setattr(probe_mod, "_time_blocks", fake)
    monkeypatch.setenv("HWNAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("HWNAS_NO_PROBE", raising=False)
    return calls


def test_a_table_scaled_by_1_3_is_caught_and_the_fix_is_named(fast_device: Path, tmp_path: Path, fake_timing) -> None:
    table = _table(fast_device, tmp_path / "fast.json", scale=1 / 1.3)  # the table says 1.3x faster than here
    check = check_table(table, load_device(str(fast_device)), work_dir=tmp_path / "cache")
    assert check.drift == pytest.approx(0.3) and not check.describes_this_machine
    assert len(check.blocks) == 8 and not check.host_differences and not check.runtime_differences
    text = advice(check)
    assert text is not None and "+30%" in text and "--budget 150" in text and "--prior" in text
    assert str(tmp_path / "local" / "fast.json") in text  # the fix never overwrites the table itself


def test_a_table_of_this_machine_passes_and_the_probe_is_cached(fast_device: Path, tmp_path: Path, fake_timing) -> None:
    table = _table(fast_device, tmp_path / "fast.json")
    dev = load_device(str(fast_device))
    first = check_table(table, dev, work_dir=tmp_path / "cache")
    assert first.describes_this_machine and first.drift == pytest.approx(0.0) and advice(first) is None
    again = check_table(table, dev, work_dir=tmp_path / "cache")
    assert again.cached and fake_timing == [8]  # the second command reuses the probe
    (tmp_path / "fast.json").write_text((tmp_path / "fast.json").read_text().replace('"n": 10', '"n": 11', 1))
    check_table(LatencyTable.load(tmp_path / "fast.json"), dev, work_dir=tmp_path / "cache")
    assert fake_timing == [8, 8]  # another file (another SHA-256): probed again


def test_probe_blocks_spread_over_kinds_and_stages(fast_device: Path, tmp_path: Path) -> None:
    table = _table(fast_device, tmp_path / "fast.json")
    specs = probe_specs(table, get_space("hybrid"), 8)
    kinds = {s.kind for s in specs}
    assert len(specs) == 8 and {"transformer", "ibn", "convnext", "downsample"} <= kinds
    assert len({(s.kind, s.input_shape) for s in specs}) == 8


def test_a_foreign_fingerprint_is_named_and_warned_once(
    fast_device: Path, tmp_path: Path, fake_timing, capsys: pytest.CaptureFixture[str]
) -> None:
    table = _table(fast_device, tmp_path / "fast.json")
    host = {**table.header.host, "cpu_model": "Another CPU"}
    table.header = replace(table.header, host=host)
    table.save()
    check = warn_if_foreign(table, str(fast_device))
    warn_if_foreign(table, str(fast_device))
    err = capsys.readouterr().err
    here = probe_mod._describe(load_device(str(fast_device)))["host"]["cpu_model"]
    assert check is not None and check.host_differences == (f"cpu_model 'Another CPU' -> {here!r}",)
    assert err.count("warning:") == 1 and "does not describe this machine" in err and "Another CPU" in err
