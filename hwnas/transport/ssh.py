"""SSH transport to a remote device, with the system OpenSSH client.

:class:`SSHTransport` copies the runner zipapp into ``ssh.work_dir`` and talks to one
``runner.pyz serve`` process in JSON lines; :class:`SSHConnection` runs its commands.

Using ``ssh`` itself (not a Python SSH library) means ``~/.ssh/config``, agents, keys
and jump hosts work as they do in a terminal. One master connection (ControlMaster)
carries every command of a session, so a 1,000-block table opens one TCP connection.
The master is a child process that hwnas starts and stops itself (``-M -N``, never
``ControlPersist``): a master that forks into the background keeps whatever stdio it was
started with, outlives the job by minutes, and was seen to stall every later command of a
long test run. ``BatchMode`` makes a missing key fail at once instead of prompting,
``ConnectTimeout`` and server keep-alives bound how long an unreachable or vanished device
can stall.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

from hwnas.devices import Device, SSHSettings
from hwnas.errors import DeviceError, MissingDependency
from hwnas.transport.base import Transport
from hwnas.transport.zipapp import runner_archive

SSH_UNREACHABLE = 255  # ssh's own exit status for connection and authentication failures


def remote_path_expr(path: str) -> str:
    """A shell word for ``path`` on the device: ``~/x`` expands to the remote home, the rest is quoted."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


#: A Unix socket path holds at most 104 bytes on macOS (108 on Linux); ssh's %C is 40 more.
SOCKET_PATH_MAX = 104


def control_base() -> str | None:
    """Where the connection's control socket goes: the temp dir if its path leaves room for the
    socket name, else ``/tmp`` (macOS's ``$TMPDIR`` under /var/folders is too long for a socket)."""
    base = tempfile.gettempdir()
    if len(base) + len("/hw-xxxxxxxx/") + 40 < SOCKET_PATH_MAX:
        return None
    return "/tmp" if os.path.isdir("/tmp") else None


class SSHConnection:
    """Commands and file uploads over one shared SSH connection; use as a context manager."""

    def __init__(self, settings: SSHSettings, *, device_file: str = "") -> None:
        if shutil.which("ssh") is None:
            raise MissingDependency(
                "OpenSSH client", "install it (apt-get install openssh-client) to reach SSH devices"
            )
        self.settings = settings
        self.device_file = device_file  # named in "cannot reach" errors: where the address is set
        self._control_dir: tempfile.TemporaryDirectory[str] | None = None
        self._master: subprocess.Popen[bytes] | None = None

    # ---- connection ----------------------------------------------------------------------
    @property
    def destination(self) -> str:
        s = self.settings
        return f"{s.user + '@' if s.user else ''}{s.host}{':' + str(s.port) if s.port else ''}"

    def ssh_args(self, *, master: bool = False) -> list[str]:
        """``ssh`` with every option of this connection, up to and including the host.

        Commands join the master's socket when it is up (``ControlMaster=no``: a client never
        becomes a master itself) and connect on their own when it is not.
        """
        if self._control_dir is None:
            self._control_dir = tempfile.TemporaryDirectory(prefix="hw-", dir=control_base())
        s = self.settings
        args = [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            f"ConnectTimeout={s.connect_timeout_s}",
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
            "-o",
            f"ControlMaster={'yes' if master else 'no'}",
            "-o",
            f"ControlPath={self._control_dir.name}/%C",
            "-o",
            "ControlPersist=no",
        ]
        if master:
            args += ["-M", "-N"]
        if s.port:
            args += ["-p", str(s.port)]
        if s.user:
            args += ["-l", s.user]
        if s.key:
            args += ["-i", s.key, "-o", "IdentitiesOnly=yes"]
        for option in s.options:
            args += ["-o", option]
        return args + ["--", s.host]

    def _master_log(self) -> Path:
        assert self._control_dir is not None
        return Path(self._control_dir.name) / "master.log"

    def _socket_ready(self) -> bool:
        assert self._control_dir is not None
        return any(p.is_socket() for p in Path(self._control_dir.name).iterdir())

    def open(self) -> SSHConnection:
        """Start the master connection and wait until its socket is up; unreachable hosts raise DeviceError."""
        if self._master is not None:
            return self
        args = self.ssh_args(master=True)
        with open(self._master_log(), "wb") as log:
            # its own session: no terminal to stop it, no Ctrl-C before close() says goodbye
            self._master = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
            )
        wait_s = 2 * self.settings.connect_timeout_s + 30
        deadline = time.monotonic() + wait_s
        while not self._socket_ready():
            code = self._master.poll()
            if code is not None:
                self._master = None
                raise self.error("connect", code, self._master_log().read_text("utf-8", "replace"))
            if time.monotonic() > deadline:
                self._stop_master()
                raise DeviceError(f"{self.destination}: could not connect: no answer within {wait_s:.0f} s")
            time.sleep(0.02)
        return self

    def master_log_tail(self) -> str:
        """The master's last line on stderr (why a connection stalled or dropped), or ''."""
        if self._control_dir is None:
            return ""
        try:
            lines = [ln for ln in self._master_log().read_text("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def _stop_master(self) -> None:
        master, self._master = self._master, None
        if master is None:
            return
        if master.poll() is None:
            master.terminate()
            try:
                master.wait(timeout=10)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait()

    def close(self) -> None:
        if self._master is not None and self._master.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                subprocess.run(
                    self.ssh_args()[:-2] + ["-O", "exit", "--", self.settings.host],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=30,
                )
        self._stop_master()
        if self._control_dir is not None:
            self._control_dir.cleanup()
            self._control_dir = None

    def __enter__(self) -> SSHConnection:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- commands ------------------------------------------------------------------------
    def run(
        self, command: str, *, input_bytes: bytes | None = None, timeout_s: float = 120, what: str = "run a command"
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a shell command on the device; a failure raises DeviceError with ssh's own last line."""
        try:
            proc = subprocess.run(
                self.ssh_args() + [command],
                input=input_bytes,
                stdin=None if input_bytes is not None else subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            raise DeviceError(f"{self.destination}: could not {what}: no answer within {timeout_s:.0f} s") from None
        if proc.returncode != 0:
            raise self.error(what, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return proc

    def popen(self, command: str, *, stderr_path: Path) -> subprocess.Popen[bytes]:
        """Start a long-running command with pipes to its stdin and stdout (stderr to a file)."""
        with open(stderr_path, "wb") as err:
            return subprocess.Popen(
                self.ssh_args() + [command], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
            )

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
        if "Host key verification failed" in stderr:
            return DeviceError(
                f"{self.destination}: could not {what}: host key verification failed (a board ssh has not seen "
                "before: connect once by hand, or add StrictHostKeyChecking=accept-new to ssh.options"
                f"{' in ' + self.device_file if self.device_file else ''})"
            )
        if returncode == SSH_UNREACHABLE:
            fields = "ssh.host / ssh.user / ssh.port"
            where = f"set {fields} in {self.device_file}" if self.device_file else f"check {fields}"
            return DeviceError(
                f"cannot reach {self.destination} over SSH to {what}: {detail} "
                f"({where}, or copy the file into $HWNAS_DEVICES_DIR and edit it there; a Host alias from "
                "~/.ssh/config works too)"
            )
        return DeviceError(f"{self.destination}: could not {what}: {detail}")


class SSHTransport(Transport):
    """A device over SSH: the runner zipapp is copied into ``ssh.work_dir`` and serves JSON lines.

    One ``runner.pyz serve`` process answers every request of the job through the shared
    connection. A dropped connection, a missing remote Python or a missing runtime
    raises DeviceError (or MissingDependency) naming the device; callers keep what was
    measured before.
    """

    MODELS_DIR = "models"
    RUNNER = "runner.pyz"

    def __init__(self, device: Device, runtime_title: str, *, reply_timeout_s: float = 1800) -> None:
        super().__init__(device, runtime_title)
        assert device.ssh is not None
        self.settings: SSHSettings = device.ssh
        self.ssh = SSHConnection(device.ssh, device_file=device.source)
        self.reply_timeout_s = reply_timeout_s
        fd, self._stderr_path = tempfile.mkstemp(prefix="hwnas-runner-", suffix=".log")
        os.close(fd)
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    @property
    def where(self) -> str:
        return f"{self.device.name} ({self.ssh.destination})"

    @property
    def missing_label(self) -> str:
        return f"{self.runtime_title} on {self.where}"

    def _start(self) -> None:
        self.ssh.open()
        work = remote_path_expr(self.settings.work_dir)
        self.ssh.run(
            f"mkdir -p {work}/{self.MODELS_DIR} && cat > {work}/{self.RUNNER}",
            input_bytes=runner_archive(),
            what="copy the runner",
        )
        self._proc = self.ssh.popen(
            f"cd {work} && exec {self.settings.python} {self.RUNNER} serve", stderr_path=Path(self._stderr_path)
        )
        reply = self.send({"op": "ping"}, timeout_s=60, what="start the runner")
        if not reply.get("ok"):
            raise DeviceError(f"{self.device.name}: the runner did not start: {reply.get('error')}")

    def _stderr_tail(self) -> str:
        try:
            lines = [ln for ln in Path(self._stderr_path).read_text("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def send(self, request: dict[str, Any], *, what: str, timeout_s: float | None = None) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        timeout_s = self.reply_timeout_s if timeout_s is None else timeout_s
        try:
            proc.stdin.write((json.dumps(request) + "\n").encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._lost(what) from None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout_s):
                seen = [f"runner: {t}" for t in [self._stderr_tail()] if t]
                seen += [f"ssh: {t}" for t in [self.ssh.master_log_tail()] if t]
                running = "the runner is still running" if proc.poll() is None else f"ssh exited {proc.returncode}"
                raise DeviceError(
                    f"{self.where}: no answer within {timeout_s:.0f} s while trying to {what} "
                    f"({'; '.join([running, *seen])})"
                )
        line = proc.stdout.readline()
        if not line:
            raise self._lost(what)
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _lost(self, what: str) -> DeviceError:
        proc = self._proc
        try:
            code = proc.wait(timeout=30) if proc is not None else None
        except subprocess.TimeoutExpired:
            code = None
        detail = self._stderr_tail()
        if code == 127 or "not found" in detail:
            return DeviceError(
                f"{self.device.name}: remote python {self.settings.python!r} could not run the runner "
                f"on {self.ssh.destination}: {detail or 'exit status 127'}"
            )
        if code == SSH_UNREACHABLE:
            return DeviceError(
                f"lost the SSH connection to {self.where} while trying to {what}: {detail or 'connection closed'}"
            )
        return DeviceError(
            f"{self.where}: the runner stopped while trying to {what}"
            f" (exit status {code}){': ' + detail if detail else ''}"
        )

    def upload(self, artifacts: list[Path]) -> list[str]:
        remote_dir = self.settings.work_dir.rstrip("/") + "/" + self.MODELS_DIR
        self.ssh.upload(artifacts, remote_dir)
        return [f"{self.MODELS_DIR}/{Path(p).name}" for p in artifacts]

    def close(self) -> None:
        proc = self._proc
        self._proc = None
        if proc is not None:
            try:
                if proc.poll() is None and proc.stdin is not None:
                    proc.stdin.write(b'{"op": "exit"}\n')
                    proc.stdin.close()
                proc.wait(timeout=15)
            except (BrokenPipeError, OSError, ValueError):
                pass
            except Exception:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self.ssh.close()
        Path(self._stderr_path).unlink(missing_ok=True)
