"""Profiling through a real OpenSSH server on 127.0.0.1 (the runner copied over, JSON back).

The sshd fixture (conftest.py) runs Debian's openssh-server with a temporary host key,
client key and config; the "remote" Python is this interpreter, so the device has
ONNX Runtime, exactly like a Raspberry Pi with `pip install onnxruntime`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import free_port, start_sshd, write_device  # noqa: I001  (tests/latency/conftest.py)

from hwnas.devices import load_device
from hwnas.errors import DeviceError, MissingDependency
from hwnas.io import read_json
from hwnas.latency.profile import BlockDone, profile_device
from hwnas.latency.sources import load_latency_source, measure_end_to_end
from hwnas.latency.targets import open_target
from hwnas.spaces import get_space
from hwnas.transport.ssh import SSHTransport

R = 32


def test_profile_over_ssh_copies_the_runner_and_models(sshd, tmp_path: Path) -> None:
    device = sshd.device(tmp_path)
    summary = profile_device(
        str(device), space="hybrid", resolution=R, limit=3, tables_dir=tmp_path / "tables", work_dir=tmp_path / "work"
    )
    data = read_json(summary.path)
    assert len(data["entries"]) == 3 and data["device"]["connection"] == "ssh"
    assert data["runtime"]["name"] == "onnxruntime" and data["host"]["cores"] >= 1
    for entry in data["entries"].values():
        assert 0 < entry["p10_ms"] <= entry["median_ms"] <= entry["p90_ms"]
    remote = tmp_path / "ssh-local-remote"
    assert (remote / "runner.pyz").exists()  # the runner zipapp
    assert len(list((remote / "models").glob("*.onnx"))) == 3  # copied to the device, then timed there

    # the table predicts, and whole networks are timed through the same connection kind
    space = get_space("hybrid")
    arch = space.encode(space.sample_many(1, seed=2)[0])
    profile_device(
        str(device),
        space="hybrid",
        resolution=R,
        blocks=space.blocks(space.decode(arch), R),
        tables_dir=tmp_path / "tables",
        work_dir=tmp_path / "work",
        resume=True,
    )
    source = load_latency_source(space=space, device=str(device), resolution=R, tables_dir=tmp_path / "tables")
    assert source.predict_ms(space, arch, resolution=R) > 0
    stats = measure_end_to_end(space, arch, str(device), resolution=R, work_dir=tmp_path / "work")
    assert stats.n >= 3 and stats.median_ms > 0


def test_one_connection_serves_the_whole_job(sshd, tmp_path: Path) -> None:
    target = open_target(load_device(str(sshd.device(tmp_path))))
    assert isinstance(target.transport, SSHTransport)
    with target:
        control = Path(target.transport.ssh._control_dir.name)  # type: ignore[attr-defined]
        sockets = [p for p in control.iterdir() if p.is_socket()]
        assert len(sockets) == 1  # the ControlMaster every command reuses
        master = target.transport.ssh._master  # type: ignore[attr-defined]
        assert master is not None and master.poll() is None  # hwnas's own child, not a background daemon
        assert target.describe()["runtime"]["name"] == "onnxruntime"
    assert not control.exists()
    assert master.poll() is not None  # stopped with the job: nothing outlives it


def test_unreachable_host_is_a_clear_device_error(tmp_path: Path) -> None:
    dead = write_device(
        tmp_path,
        "dead",
        connection="ssh",
        ssh={
            "host": "127.0.0.1",
            "port": free_port(),
            "connect_timeout_s": 3,
            "options": ["StrictHostKeyChecking=no", f"UserKnownHostsFile={tmp_path / 'kh'}"],
        },
    )
    with pytest.raises(DeviceError, match=r"cannot reach .*127\.0\.0\.1.* over SSH"):
        profile_device(
            str(dead), space="hybrid", resolution=R, limit=2, tables_dir=tmp_path / "t", work_dir=tmp_path / "w"
        )


def test_lost_connection_keeps_every_entry_measured_so_far(tmp_path: Path) -> None:
    server = start_sshd(tmp_path / "sshd")
    device = server.device(tmp_path)
    measured: list[BlockDone] = []

    def cut_after_two(done: BlockDone) -> None:
        measured.append(done)
        if len(measured) == 2:
            server.stop()  # the device vanishes mid-table

    try:
        with pytest.raises(DeviceError, match="ssh-local"):
            profile_device(
                str(device),
                space="hybrid",
                resolution=R,
                limit=6,
                tables_dir=tmp_path / "tables",
                work_dir=tmp_path / "work",
                on_block=cut_after_two,
            )
    finally:
        server.stop()
    table = read_json(tmp_path / "tables" / "ssh-local--hybrid-r32-c1000.json")
    assert set(table["entries"]) == {d.key for d in measured}
    assert len(measured) == 2 and table["complete"] is False


def test_missing_runtime_or_python_on_the_device(sshd, tmp_path: Path) -> None:
    import sys

    # `python -S` leaves out site-packages: a device with Python but without onnxruntime
    bare = sshd.device(tmp_path, "bare", ssh={"python": f"{sys.executable} -S"})
    with pytest.raises(MissingDependency, match="onnxruntime is not installed"):
        profile_device(
            str(bare), space="hybrid", resolution=R, limit=1, tables_dir=tmp_path / "t", work_dir=tmp_path / "w"
        )
    nopython = sshd.device(tmp_path, "nopython", ssh={"python": "/nonexistent/python3"})
    with pytest.raises(DeviceError, match="remote python '/nonexistent/python3' could not run the runner"):
        profile_device(
            str(nopython), space="hybrid", resolution=R, limit=1, tables_dir=tmp_path / "t", work_dir=tmp_path / "w"
        )
