"""This machine: the runner's ``handle`` runs in-process (no copy, no subprocess), with the same
device modules the zipapp ships, so local and remote tables are timed by the same code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hwnas.ondevice.protocol import handle
from hwnas.runtimes import device_modules
from hwnas.transport.base import Transport


class InProcessTransport(Transport):
    def send(self, request: dict[str, Any], *, what: str, timeout_s: float | None = None) -> dict[str, Any]:
        return handle(request, device_modules())

    def upload(self, artifacts: list[Path]) -> list[str]:
        return [str(p) for p in artifacts]
