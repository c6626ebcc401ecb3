"""Where models are timed: this machine (in-process) or a remote device (the runner over SSH).

A target is opened once per job (a whole table, a validation run) and hands out
measurements of artifacts the backend prepared on the host. Both kinds answer with
the same runner replies, so profiling code does not care where the device is.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import tempfile
from abc import ABC, abstractmethod
from importlib import resources
from pathlib import Path
from typing import Any

from hwnas.devices import Device
from hwnas.errors import DeviceError, MissingDependency
from hwnas.latency.backends import get_backend
from hwnas.latency.backends.base import Backend
from hwnas.latency.remote.ssh import SSHConnection, remote_path_expr
from hwnas.latency.timing import Measurement


class Target(ABC):
    """An opened device: upload artifacts, time them, say what runtime and machine it is."""

    def __init__(self, device: Device, backend: Backend) -> None:
        self.device = device
        self.backend = backend
        self.measure_count = 0

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """``{"runtime": {...name, version...}, "host": {...fingerprint...}}`` of the device."""

    @abstractmethod
    def upload(self, artifacts: list[Path]) -> list[str]:
        """Make artifacts available on the device; returns the paths the runner should load."""

    @abstractmethod
    def measure(self, path: str, input_shape: tuple[int, ...]) -> Measurement:
        """Time one uploaded artifact with the device's timing settings."""

    def close(self) -> None:
        """Release the connection (local targets hold nothing)."""

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalTarget(Target):
    """This machine: the runner's functions run in-process (no copy, no subprocess)."""

    def describe(self) -> dict[str, Any]:
        return self.backend.describe()

    def upload(self, artifacts: list[Path]) -> list[str]:
        return [str(p) for p in artifacts]

    def measure(self, path: str, input_shape: tuple[int, ...]) -> Measurement:
        result = self.backend.time(Path(path), input_shape, self.device.timing)
        self.measure_count += 1
        return result


class SSHTarget(Target):
    """A device over SSH: the runner is copied into ``ssh.work_dir`` and serves JSON lines.

    One ``runner.py serve`` process answers every request of the job through the shared
    connection. A dropped connection, a missing remote Python or a missing runtime
    raises DeviceError (or MissingDependency) naming the device; callers keep what was
    measured before.
    """

    MODELS_DIR = "models"

    def __init__(self, device: Device, backend: Backend, *, reply_timeout_s: float = 1800) -> None:
        super().__init__(device, backend)
        assert device.ssh is not None
        self.ssh = SSHConnection(device.ssh)
        self.reply_timeout_s = reply_timeout_s
        self._stderr = tempfile.NamedTemporaryFile(prefix="hwnas-runner-", suffix=".log", delete=False)
        self._stderr.close()
        self._proc = None
        self._description: dict[str, Any] | None = None
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        settings = self.device.ssh
        assert settings is not None
        self.ssh.open()
        work = remote_path_expr(settings.work_dir)
        script = resources.files("hwnas.latency.remote").joinpath("runner.py").read_bytes()
        self.ssh.run(f"mkdir -p {work}/{self.MODELS_DIR} && cat > {work}/runner.py", input_bytes=script,
                     what="copy the runner")
        python = settings.python
        self._proc = self.ssh.popen(f"cd {work} && exec {python} runner.py serve", stderr_path=Path(self._stderr.name))
        reply = self._request({"op": "ping"}, timeout_s=60, what="start the runner")
        if not reply.get("ok"):
            raise DeviceError(f"{self.device.name}: the runner did not start: {reply.get('error')}")

    def _stderr_tail(self) -> str:
        try:
            lines = [ln for ln in Path(self._stderr.name).read_text("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def _request(self, request: dict[str, Any], *, timeout_s: float, what: str) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write((json.dumps(request) + "\n").encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._lost(what) from None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout_s):
                raise DeviceError(f"{self.device.name} ({self.ssh.destination}): no answer within {timeout_s:.0f} s "
                                  f"while trying to {what}")
        line = proc.stdout.readline()
        if not line:
            raise self._lost(what)
        return json.loads(line)

    def _lost(self, what: str) -> DeviceError:
        proc = self._proc
        try:
            code = proc.wait(timeout=30) if proc is not None else None
        except subprocess.TimeoutExpired:
            code = None
        detail = self._stderr_tail()
        if code == 127 or "not found" in detail:
            return DeviceError(f"{self.device.name}: remote python {self.device.ssh.python!r} could not run the runner "  # type: ignore[union-attr]
                               f"on {self.ssh.destination}: {detail or 'exit status 127'}")
        if code == 255:
            return DeviceError(f"lost the SSH connection to {self.device.name} ({self.ssh.destination}) while trying "
                               f"to {what}: {detail or 'connection closed'}")
        return DeviceError(f"{self.device.name} ({self.ssh.destination}): the runner stopped while trying to {what}"
                           f" (exit status {code}){': ' + detail if detail else ''}")

    def _checked(self, reply: dict[str, Any], what: str) -> dict[str, Any]:
        if reply.get("ok"):
            return reply
        if reply.get("missing"):
            raise MissingDependency(f"{self.backend.title} on {self.device.name} ({self.ssh.destination})",
                                    reply.get("error", ""))
        raise DeviceError(f"{self.device.name} ({self.ssh.destination}): could not {what}: {reply.get('error')}")

    def describe(self) -> dict[str, Any]:
        if self._description is None:
            request = {"op": "describe", "runtime": self.backend.name, "options": self.backend.runner_options()}
            reply = self._checked(self._request(request, timeout_s=120, what="describe the runtime"),
                                  "describe the runtime")
            self._description = {"runtime": reply["runtime"], "host": reply["host"]}
        return self._description

    def upload(self, artifacts: list[Path]) -> list[str]:
        settings = self.device.ssh
        assert settings is not None
        remote_dir = settings.work_dir.rstrip("/") + "/" + self.MODELS_DIR
        self.ssh.upload(artifacts, remote_dir)
        return [f"{self.MODELS_DIR}/{Path(p).name}" for p in artifacts]

    def measure(self, path: str, input_shape: tuple[int, ...]) -> Measurement:
        request = {"op": "measure", "runtime": self.backend.name, "path": path, "input_shape": list(input_shape),
                   "options": self.backend.runner_options(), "timing": self.device.timing.to_dict()}
        what = f"time {Path(path).name}"
        reply = self._checked(self._request(request, timeout_s=self.reply_timeout_s, what=what), what)
        self.measure_count += 1
        return Measurement.from_reply(reply)

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
        Path(self._stderr.name).unlink(missing_ok=True)


def open_target(device: Device) -> Target:
    """Open ``device`` for a job: in-process when local, the runner over SSH when remote."""
    backend = get_backend(device)
    if device.is_remote:
        return SSHTarget(device, backend)
    return LocalTarget(device, backend)
