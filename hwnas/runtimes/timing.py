"""How a device is timed (:class:`TimingSettings`): the one place timing defaults live.

A device file may leave fields out (``hwnas.devices`` fills them from these defaults); the
host then always sends the whole :meth:`TimingSettings.to_dict` to the runner, which has
no defaults of its own (``hwnas.ondevice.core.TIMING_KEYS``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

CLOCKS = ("wall", "thread_cpu")
ESTIMATORS = ("median", "p10")


@dataclass(frozen=True)
class TimingSettings:
    """Warm up for at least ``warmup_runs`` runs and ``warmup_s`` seconds, then time runs until
    both ``min_runs`` runs and ``min_time_s`` seconds are reached (trtexec's rule).

    ``clock`` times each run on the host: ``wall`` (elapsed time), or ``thread_cpu``, the
    CPU time of the thread that runs the model, which excludes time the core spent on
    other processes (for one-thread ONNX Runtime on a shared machine; see host-cpu.yaml).
    GPU runtimes time themselves (CUDA events) whatever the clock.

    ``rounds`` > 1 times every model that many times, interleaved with the other models
    of the job, and keeps the round with the lowest ``estimator`` (a table entry, an
    end-to-end measurement alike), so a spell of load from other processes costs one
    round, not the number.

    ``estimator`` is the statistic a table predicts with and is validated against:
    ``median`` (the default, the practice on a dedicated device) or ``p10``, which on a
    shared machine tracks the device's uncontended speed where the median wanders with
    other processes' load (see host-cpu.yaml).
    """

    warmup_runs: int = 10
    warmup_s: float = 0.05
    min_runs: int = 20
    min_time_s: float = 0.3
    clock: str = "wall"
    rounds: int = 1
    estimator: str = "median"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TimingSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
