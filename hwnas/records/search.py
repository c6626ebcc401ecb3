"""The search's winner, :class:`BestRecord` (``best.json``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from hwnas.records.base import SCHEMA_VERSION, Json, plain

#: Fields a best.json has only when they apply (one device: no per-device predictions).
ONLY_WHEN_SET = frozenset({"predicted_latencies_ms"})


@dataclass(frozen=True)
class BestRecord:
    """``best.json``: the winner of a search and how it was chosen; deterministic for a config.

    Only ``arch`` and ``space`` are required when reading (older or hand-written files)."""

    arch: str
    space: str
    strategy: str | None = None
    selection: str = ""
    predicted_latency_ms: float | None = None
    predicted_latencies_ms: Mapping[str, float] | None = None
    """Each device's prediction, for a network searched for several devices at once."""
    params_m: float | None = None
    flops_m: float | None = None
    resolution: int | None = None
    scores: Mapping[str, float] | None = None
    device: str | None = None
    latency_source: Mapping[str, Any] | None = None
    constraints: Mapping[str, Any] | None = None
    seed: int | None = None
    config: Mapping[str, Any] | None = None
    hwnas_version: str | None = None
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> Json:
        return {
            "schema_version": self.schema_version,
            **{
                f.name: plain(getattr(self, f.name))
                for f in fields(self)
                if f.name != "schema_version" and not (f.name in ONLY_WHEN_SET and getattr(self, f.name) is None)
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BestRecord:
        kw = {f.name: plain(data[f.name]) for f in fields(cls) if f.name in data and data[f.name] is not None}
        kw.setdefault("schema_version", SCHEMA_VERSION)
        return cls(**kw)
