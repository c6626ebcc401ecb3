"""SSH transport to a remote device, with the system OpenSSH client.

Using ``ssh`` itself (not a Python SSH library) means ``~/.ssh/config``, agents, keys
and jump hosts work as they do in a terminal. One master connection (ControlMaster)
carries every command of a session, so a 1,000-block table opens one TCP connection;
``BatchMode`` makes a missing key fail at once instead of prompting, ``ConnectTimeout``
and server keep-alives bound how long an unreachable or vanished device can stall.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from hwnas.devices import SSHSettings
from hwnas.errors import DeviceError, MissingDependency

SSH_UNREACHABLE = 255  # ssh's own exit status for connection and authentication failures


def remote_path_expr(path: str) -> str:
    """A shell word for ``path`` on the device: ``~/x`` expands to the remote home, the rest is quoted."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


class SSHConnection:
    """Commands and file uploads over one shared SSH connection; use as a context manager."""

    def __init__(self, settings: SSHSettings, *, persist_s: int = 300) -> None:
        if shutil.which("ssh") is None:
            raise MissingDependency("OpenSSH client", "install it (apt-get install openssh-client) to reach SSH devices")
        self.settings = settings
        self.persist_s = persist_s
        self._control_dir: tempfile.TemporaryDirectory[str] | None = None

    # ---- connection ----------------------------------------------------------------------
    @property
    def destination(self) -> str:
        s = self.settings
        return f"{s.user + '@' if s.user else ''}{s.host}{':' + str(s.port) if s.port else ''}"

    def ssh_args(self) -> list[str]:
        """``ssh`` with every option of this connection, up to and including the host."""
        if self._control_dir is None:
            self._control_dir = tempfile.TemporaryDirectory(prefix="hwnas-ssh-")
        s = self.settings
        args = [
            "ssh",
            "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={s.connect_timeout_s}",
            "-o", "ServerAliveInterval=5",
            "-o", "ServerAliveCountMax=3",
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={self._control_dir.name}/%C",
            "-o", f"ControlPersist={self.persist_s}",
        ]
        if s.port:
            args += ["-p", str(s.port)]
        if s.user:
            args += ["-l", s.user]
        if s.key:
            args += ["-i", s.key, "-o", "IdentitiesOnly=yes"]
        for option in s.options:
            args += ["-o", option]
        return args + ["--", s.host]

    def open(self) -> SSHConnection:
        """Connect (starting the shared master connection); unreachable hosts raise DeviceError."""
        self.run("true", what="connect")
        return self

    def close(self) -> None:
        if self._control_dir is None:
            return
        subprocess.run(self.ssh_args()[:-2] + ["-O", "exit", "--", self.settings.host],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        self._control_dir.cleanup()
        self._control_dir = None

    def __enter__(self) -> SSHConnection:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- commands ------------------------------------------------------------------------
    def run(self, command: str, *, input_bytes: bytes | None = None, timeout_s: float = 120,
            what: str = "run a command") -> subprocess.CompletedProcess[bytes]:
        """Run a shell command on the device; a failure raises DeviceError with ssh's own last line."""
        try:
            proc = subprocess.run(self.ssh_args() + [command], input=input_bytes,
                                  stdin=None if input_bytes is not None else subprocess.DEVNULL,
                                  capture_output=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise DeviceError(f"{self.destination}: could not {what}: no answer within {timeout_s:.0f} s") from None
        if proc.returncode != 0:
            raise self.error(what, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return proc

    def popen(self, command: str, *, stderr_path: Path) -> subprocess.Popen[bytes]:
        """Start a long-running command with pipes to its stdin and stdout (stderr to a file)."""
        with open(stderr_path, "wb") as err:
            return subprocess.Popen(self.ssh_args() + [command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=err)

    def upload(self, files: list[Path], remote_dir: str, *, timeout_s: float = 600) -> None:
        """Copy files and folders (an .mlpackage is a folder) into ``remote_dir`` in one tar stream."""
        if not files:
            return
        target = remote_path_expr(remote_dir)
        command = f"mkdir -p {target} && tar -x -C {target} -f -"
        with tempfile.TemporaryFile() as buf:
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for path in files:
                    tar.add(str(path), arcname=Path(path).name)
            buf.seek(0)
            self.run(command, input_bytes=buf.read(), timeout_s=timeout_s, what=f"upload {len(files)} file(s)")

    def error(self, what: str, returncode: int, stderr: str) -> DeviceError:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit status {returncode}"
        if returncode == SSH_UNREACHABLE:
            return DeviceError(f"cannot reach {self.destination} over SSH to {what}: {detail}")
        return DeviceError(f"{self.destination}: could not {what}: {detail}")
