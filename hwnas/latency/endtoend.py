"""End-to-end timing of whole networks on a device: the ground truth a block table is checked
against (``hwnas validate-table``) and what ``hwnas latency --measure`` reports.

One device connection serves every network of a job; each network is exported once
(cached by its encoding) and timed with the device's own timing settings, exactly as
its blocks were.
"""

from __future__ import annotations

import os
from typing import Any

from hwnas.devices import Device, load_device
from hwnas.latency.artifacts import ArtifactCache
from hwnas.latency.targets import Target, open_target
from hwnas.latency.timing import Measurement
from hwnas.spaces.base import SearchSpace


class EndToEndMeasurer:
    """Times whole networks of one space on one device; use as a context manager."""

    def __init__(
        self,
        device: str | Device,
        space: SearchSpace,
        *,
        resolution: int | None = None,
        num_classes: int | None = None,
        work_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.device = load_device(device)
        self.space = space
        self.resolution = resolution or space.default_resolution
        self.num_classes = num_classes or space.default_num_classes
        self.work_dir = work_dir
        self._target: Target | None = None
        self._cache: ArtifactCache | None = None

    def __enter__(self) -> EndToEndMeasurer:
        self._target = open_target(self.device)
        self._cache = ArtifactCache(self._target.runtime, self.space, self.work_dir)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._target is not None:
            self._target.close()
            self._target = None

    @property
    def target(self) -> Target:
        """The opened device (for timing blocks on the same connection)."""
        assert self._target is not None, "use EndToEndMeasurer as a context manager"
        return self._target

    def describe(self) -> dict[str, Any]:
        assert self._target is not None, "use EndToEndMeasurer as a context manager"
        return self._target.describe()

    def measure(self, arch: Any) -> Measurement:
        """Export (once) and time the whole network of ``arch`` (an encoding or an arch object)."""
        assert self._target is not None and self._cache is not None, "use EndToEndMeasurer as a context manager"
        text = self.space.encode(self.space.decode(arch) if isinstance(arch, str) else arch)
        artifact = self._cache.network(text, self.resolution, self.num_classes)
        (where,) = self._target.upload([artifact])
        return self._target.measure(where, self.space.input_shape(self.resolution))
