"""A real multi-node Ray cluster on 127.0.0.1, started with Ray's own ``ray start`` and stopped by process id.

For the tests, ``scripts/bench_scale.py`` and trying ``--executor ray`` before a cluster
exists. Every node is a separate ``ray start`` (the head plus ``nodes - 1`` more raylets)
with ``cpus_per_node`` CPUs, on ports chosen free, with its state in a fresh temporary
folder: ``HOME`` points there too, so nothing is read from or left in the user's
``~/.ray`` and no leftover of an earlier local instance can change the cluster. ``stop``
kills exactly the processes of this cluster (those naming its folder and their
children), never every Ray process on the machine as ``ray stop`` does, and removes the folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hwnas.errors import HwnasError

#: Environment variables that would point the cluster or its drivers somewhere else.
_FOREIGN = ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRayCluster:
    """``with LocalRayCluster(nodes=2) as cluster:`` ... ``cluster.address`` ... (stopped on exit)."""

    def __init__(self, nodes: int = 2, cpus_per_node: int = 1) -> None:
        self.nodes, self.cpus_per_node = nodes, cpus_per_node
        # short: Ray's unix socket paths live under the temp dir and may not exceed 107 characters
        self.root = Path(tempfile.mkdtemp(prefix="hwr-", dir="/tmp"))
        (self.root / "home").mkdir()
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
        self.env.update({"HOME": str(self.root / "home"), "RAY_USAGE_STATS_ENABLED": "0"})
        self.ray = str(Path(sys.executable).with_name("ray"))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def cpus(self) -> int:
        return self.nodes * self.cpus_per_node

    def driver_env(self) -> dict[str, str]:
        """The environment for a driver process (``hwnas search --executor ray``) of this cluster."""
        return dict(self.env)

    def _ray_start(self, *args: str) -> None:
        common = [
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={self.cpus_per_node}",
            "--disable-usage-stats",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}",
            f"--metrics-export-port={free_port()}",
        ]
        done = subprocess.run(
            [self.ray, "start", *args, *common], env=self.env, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise HwnasError(f"ray start {' '.join(args[:2])} failed: {' | '.join(tail)}")

    def start(self) -> LocalRayCluster:
        try:
            self._ray_start(
                "--head",
                f"--port={self.port}",
                f"--temp-dir={self.root / 't'}",
                "--include-dashboard=false",
                f"--dashboard-port={free_port()}",
            )
            for _ in range(self.nodes - 1):
                self._ray_start(f"--address={self.address}")
        except BaseException:
            self.stop()
            raise
        return self

    def add_node(self) -> None:
        """One more node of ``cpus_per_node`` CPUs (the scaling bench grows a cluster from one node)."""
        self._ray_start(f"--address={self.address}")
        self.nodes += 1

    def processes(self) -> list[int]:
        """Process ids of this cluster: those whose command line names its folder, and their descendants."""
        marker = str(self.root).encode()
        roots: list[int] = []
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "cmdline").read_bytes():
                    roots.append(int(entry.name))
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
        found, stack = set(roots), list(roots)
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return sorted(found)

    def stop(self) -> None:
        for _ in range(3):  # a raylet may spawn a worker while its siblings die
            pids = self.processes()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalRayCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
