"""First contact with a real board: the hints a Raspberry Pi OS / macOS / fresh-board user needs."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import pytest

from hwnas.device_file import SSHSettings
from hwnas.ondevice import core
from hwnas.transport import ssh as ssh_transport


def test_a_managed_python_is_told_to_use_a_venv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "EXTERNALLY-MANAGED").write_text("[externally-managed]\n")
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setattr(core.sys, "base_prefix", core.sys.prefix)  # not inside a venv
    with pytest.raises(core.RuntimeMissing, match=r"refuses system-wide pip installs: make a venv.*ssh\.python"):
        core.import_runtime("surely_not_installed_module", "onnxruntime", "pip install onnxruntime")
    os.remove(tmp_path / "EXTERNALLY-MANAGED")
    with pytest.raises(core.RuntimeMissing) as plain:
        core.import_runtime("surely_not_installed_module", "onnxruntime", "pip install onnxruntime")
    assert "make a venv" not in str(plain.value)


def test_the_control_socket_fits_a_long_macos_tmpdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    long_tmp = tmp_path / ("T" * 80)  # like /var/folders/xx/yyyyyyyy/T/ on macOS, and then some
    long_tmp.mkdir()
    monkeypatch.setattr(ssh_transport.tempfile, "tempdir", str(long_tmp))
    connection = ssh_transport.SSHConnection(SSHSettings(host="board.local"))
    args = connection.ssh_args()
    control = next(a for a in args if a.startswith("ControlPath="))[len("ControlPath=") :]
    assert len(control.replace("%C", "x" * 40)) < ssh_transport.SOCKET_PATH_MAX
    connection.close()


def test_an_unknown_host_key_suggests_accept_new() -> None:
    connection = ssh_transport.SSHConnection(SSHSettings(host="board.local"), device_file="devices/pi.yaml")
    error = connection.error("connect", 255, "Host key verification failed.\r\n")
    assert "StrictHostKeyChecking=accept-new" in str(error) and "devices/pi.yaml" in str(error)


@pytest.mark.parametrize("name", ["jetson", "rpi5"])
def test_shipped_boards_accept_a_new_host_key(name: str) -> None:
    from hwnas.devices import load_device

    device = load_device(name)
    assert device.ssh is not None and "StrictHostKeyChecking=accept-new" in device.ssh.options
