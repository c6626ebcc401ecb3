"""Device pools: blocks spread over several devices of one kind, each block measured once, failures absorbed.

The SSH pool runs two real OpenSSH servers on 127.0.0.1 at different ports (conftest.py);
one is killed in the middle of the run, as a board that loses power.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml
from conftest import start_sshd, write_device  # noqa: I001  (tests/latency/conftest.py)

from hwnas.cli.main import main
from hwnas.errors import UsageError
from hwnas.io import read_json
from hwnas.latency.pool import load_pool, profile_pool
from hwnas.latency.targets import Target

R = 32
BLOCKS = 24


def test_a_member_killed_mid_run_loses_nothing_and_every_block_is_measured_once(tmp_path: Path) -> None:
    servers = [start_sshd(tmp_path / f"sshd-{i}") for i in range(2)]
    try:
        assert servers[0].port != servers[1].port
        devices = [str(s.device(tmp_path / "devices", f"board-{i}")) for i, s in enumerate(servers)]
        timed: list[tuple[str, str]] = []  # (block key, member) in the order timings reached the table
        path = tmp_path / "tables" / "board-0--hybrid-r32-c1000.json"

        def on_block(done) -> None:  # called by the member thread that timed the block
            member = threading.current_thread().name.removeprefix("pool-")
            timed.append((done.key, member))
            if [m for _, m in timed].count("board-1") == 3:  # board-1 dies with blocks in flight
                servers[1].stop()

        summary = profile_pool(
            devices, space="hybrid", resolution=R, limit=BLOCKS, tables_dir=tmp_path / "tables",
            work_dir=tmp_path / "work", on_block=on_block, checkpoint_every_s=0.0,
        )  # fmt: skip
        data = read_json(summary.path)
        entries = data["entries"]
        assert summary.path == path and len(entries) == BLOCKS == summary.measured
        keys = [k for k, _ in timed]
        assert len(keys) == len(set(keys)) == BLOCKS  # every block measured exactly once
        assert all(e["rounds"] == 1 for e in entries.values())
        # nothing is lost: each timing is in the table under the member that made it, board-1's too
        assert {k: e["measured_by"] for k, e in entries.items()} == {k: [m] for k, m in timed}
        assert summary.members == {"board-0": BLOCKS - 3, "board-1": 3}
        assert list(summary.failed) == ["board-1"]  # it left the pool; board-0 measured its blocks
        assert data["profile"]["runs"][-1]["measured"] == BLOCKS and data["complete"] is False
    finally:
        for server in servers:
            server.stop()


def test_pools_of_different_kinds_are_refused(tmp_path: Path, capsys, monkeypatch) -> None:
    a = write_device(tmp_path, "cpu-a")
    b = write_device(tmp_path, "cpu-b", threads=2)
    args = ["profile", "--device", str(a), "--device", str(b), "--space", "hybrid", "-r", str(R), "--limit", "2",
            "--tables-dir", str(tmp_path / "tables")]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: cannot pool cpu-a and cpu-b: threads 1 vs 2 (one table holds one device kind and "
                   "runtime build; profile them apart)"]  # fmt: skip
    assert not (tmp_path / "tables").exists()  # refused before anything was timed

    # same settings, but a member reports another CPU (a different board behind the same YAML fields)
    c = write_device(tmp_path, "cpu-c")
    real = Target.describe

    def describe(self):
        found = real(self)
        if self.device.name == "cpu-c":
            return {**found, "host": {**found["host"], "cpu_model": "Cortex-A78AE"}}
        return found

    monkeypatch.setattr(Target, "describe", describe)
    with pytest.raises(UsageError, match=r"cannot pool cpu-a and cpu-c: cpu_model .* vs 'Cortex-A78AE'"):
        profile_pool([str(a), str(c)], space="hybrid", resolution=R, limit=2, tables_dir=tmp_path / "tables")
    assert main(["profile", "--device", str(a), "--device", str(a), "--limit", "1"]) == 2
    assert "is in the pool twice" in capsys.readouterr().err


def test_a_pool_file_names_its_table_and_members(tmp_path: Path, capsys) -> None:
    write_device(tmp_path / "boards", "cpu-a")
    write_device(tmp_path / "boards", "cpu-b")
    pool_file = tmp_path / "fleet.yaml"
    pool_file.write_text(yaml.safe_dump({"name": "fleet", "pool": ["boards/cpu-a.yaml", "boards/cpu-b.yaml"]}))
    assert [m.name for m in load_pool([str(pool_file)]).members] == ["cpu-a", "cpu-b"]
    args = ["profile", "--device", str(pool_file), "--space", "hybrid", "-r", str(R), "--tables-dir",
            str(tmp_path / "tables"), "--work-dir", str(tmp_path / "work"), "--json"]  # fmt: skip
    assert main([*args, "--limit", "6"]) == 0
    report = yaml.safe_load(capsys.readouterr().out)
    assert report["device"] == "fleet" and sum(report["members"].values()) == 6
    table = read_json(tmp_path / "tables" / "fleet--hybrid-r32-c1000.json")
    assert table["device"]["name"] == "fleet" and len(table["entries"]) == 6
    # resumed with the rest of the blocks: the entries already there are kept, not re-measured
    before = {k: e["median_ms"] for k, e in table["entries"].items()}
    assert main([*args, "--limit", "10", "--resume"]) == 0
    resumed = yaml.safe_load(capsys.readouterr().out)
    assert (resumed["measured"], resumed["already_present"]) == (4, 6)
    after = read_json(tmp_path / "tables" / "fleet--hybrid-r32-c1000.json")["entries"]
    assert len(after) == 10 and all(after[k]["median_ms"] == v for k, v in before.items())
    # the pool file is for profile only: other commands say so in one line
    assert main(["search", "--latency-ms", "5", "--device", str(pool_file), "--out", str(tmp_path / "run")]) == 2
    assert "is a device pool" in capsys.readouterr().err
