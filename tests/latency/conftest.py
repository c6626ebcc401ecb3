"""Fixtures for the latency tests: a quick-timing CPU device and a real sshd on 127.0.0.1."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

FAST_TIMING = {"warmup_runs": 1, "warmup_s": 0.0, "min_runs": 3, "min_time_s": 0.002}
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def write_device(folder: Path, name: str = "fast-cpu", **fields: object) -> Path:
    """A device YAML for tests: host-cpu's runtime with timing settings that take milliseconds."""
    data: dict[str, object] = {
        "name": name,
        "runtime": "onnxruntime",
        "precision": "fp32",
        "threads": 1,
        "timing": dict(FAST_TIMING),
    }
    data.update(fields)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def fast_device(tmp_path: Path) -> Path:
    return write_device(tmp_path / "devices")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SSHServer:
    """A running sshd for one test module: where it listens and the client's key and known_hosts."""

    port: int
    client_key: Path
    known_hosts: Path
    proc: subprocess.Popen
    folder: Path

    def device(self, folder: Path, name: str = "ssh-local", **fields: object) -> Path:
        ssh = {
            "host": "127.0.0.1",
            "port": self.port,
            "user": getpass.getuser(),
            "key": str(self.client_key),
            "python": sys.executable,
            "work_dir": str(folder / f"{name}-remote"),
            "connect_timeout_s": 5,
            "options": [f"UserKnownHostsFile={self.known_hosts}", "StrictHostKeyChecking=yes"],
        }
        ssh.update(fields.pop("ssh", {}))  # type: ignore[arg-type]
        return write_device(folder, name, connection="ssh", ssh=ssh, **fields)

    def stop(self) -> None:
        """Kill the listener and every session it forked (they run in sessions of their own)."""
        for pid in [self.proc.pid, *_descendants(self.proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def start_sshd(folder: Path) -> SSHServer:
    """Start a real OpenSSH server with a temporary host key, client key and config (skip if impossible)."""
    if not os.path.exists(SSHD) or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("OpenSSH server/client not installed (scripts/test.sh installs openssh-server when run as root)")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True)
    (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {folder / 'host_key'}",
                f"PidFile {folder / 'sshd.pid'}",
                f"AuthorizedKeysFile {folder / 'authorized_keys'}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                "PrintMotd no",
                "LogLevel ERROR",
            ]
        )
        + "\n"
    )
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        reason = check.stderr.strip().splitlines()[-1] if check.stderr.strip() else check.returncode
        pytest.skip(f"sshd cannot run here: {reason}")
    log = open(folder / "sshd.log", "wb")  # noqa: SIM115  (sshd writes to it for the whole session)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.skip(f"sshd exited at start: {(folder / 'sshd.log').read_text().strip()[-200:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    host_pub = (folder / "host_key.pub").read_text().split()
    known = folder / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    return SSHServer(port, folder / "client_key", known, proc, folder)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()
