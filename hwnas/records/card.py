"""The model card, :class:`ModelCard` (``model_card.json``; the README is rendered from it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from hwnas.records.base import SCHEMA_VERSION, Json, plain

CARD_VERSION = 1


@dataclass(frozen=True)
class LatencyCheck:
    """The measured figure of the file the target device runs (by the device's estimator) vs the table's
    prediction: ``model.onnx`` for ONNX Runtime devices, ``model.tflite`` for LiteRT, the OpenVINO IR."""

    checked: bool
    reason: str | None = None
    file: str | None = None
    """The checked file; cards written before LiteRT and OpenVINO have none (it was model.onnx)."""
    device: str | None = None
    predicted_ms: float | None = None
    measured_ms: float | None = None
    estimator: str = "median"
    ratio: float | None = None
    error_pct: float | None = None
    tolerance_pct: float | None = None
    within_tolerance: bool | None = None

    def to_json(self) -> Json:
        if not self.checked:
            return {"checked": False, "reason": self.reason}
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "reason" and not (f.name == "file" and self.file is None)
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LatencyCheck:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class Int8Speedup:
    device: str
    estimator: str
    fp32_ms: float
    int8_ms: float
    speedup: float

    def to_json(self) -> Json:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Int8Speedup | None:
        if not data:
            return None
        return cls(**{**{"estimator": "median"}, **{f.name: data[f.name] for f in fields(cls) if f.name in data}})


@dataclass(frozen=True)
class ArtifactCard:
    """One exported file: what it is, its checks, parity and latency (a measure record or a reason)."""

    format: str
    file: str
    precision: str
    size_bytes: int
    sha256: str
    checks: Mapping[str, Any]
    parity: Mapping[str, Any] | None
    latency: Mapping[str, Any] | None
    notes: tuple[str, ...] = ()
    extra_files: tuple[Mapping[str, str], ...] = ()

    @property
    def estimate_ms(self) -> float | None:
        """The file's measured figure by its device's estimator (the statistic the latency check uses)."""
        lat = self.latency
        if not lat or not lat.get("measured"):
            return None
        return float(lat[f"{lat.get('estimator', 'median')}_ms"])

    def to_json(self) -> Json:
        out = {f.name: plain(getattr(self, f.name)) for f in fields(self)}
        return {**out, "notes": list(self.notes), "extra_files": [dict(e) for e in self.extra_files]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ArtifactCard:
        kw = {f.name: plain(data[f.name]) for f in fields(cls) if f.name in data}
        return cls(**{**kw, "notes": tuple(kw.get("notes", ())), "extra_files": tuple(kw.get("extra_files", ()))})


@dataclass(frozen=True)
class ModelCard:
    """``model_card.json``: the exported network, its files, checks and latency. ``out`` (where the
    directory went) is set after the files are written and is not part of the file."""

    name: str
    hwnas_version: str
    torch_version: str
    architecture: Mapping[str, Any]
    search: Mapping[str, Any] | None
    weights: Mapping[str, Any]
    input: Mapping[str, Any]
    output: Mapping[str, Any]
    target: Mapping[str, Any]
    artifacts: tuple[ArtifactCard, ...]
    latency_check: LatencyCheck
    int8_speedup: Int8Speedup | None
    calibration: Mapping[str, Any] | None
    parity_inputs: Mapping[str, int]
    seed: int
    snippet: str = ""
    targets: tuple[Mapping[str, Any], ...] = ()
    """Every device of a network searched for several at once: budget, prediction, latency check."""
    card_version: int = CARD_VERSION
    schema_version: int = SCHEMA_VERSION
    out: str | None = None

    def to_json(self) -> Json:
        out: Json = {"schema_version": self.schema_version, "card_version": self.card_version}
        for f in fields(self):
            if f.name not in ("schema_version", "card_version", "out") and not (
                f.name == "targets" and not self.targets
            ):
                out[f.name] = plain(getattr(self, f.name))
        out["artifacts"] = [a.to_json() for a in self.artifacts]
        out["latency_check"] = self.latency_check.to_json()
        out["int8_speedup"] = None if self.int8_speedup is None else self.int8_speedup.to_json()
        if self.out is not None:
            out["out"] = self.out
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelCard:
        nested = {"artifacts", "latency_check", "int8_speedup"}
        kw = {f.name: plain(data[f.name]) for f in fields(cls) if f.name in data and f.name not in nested}
        return cls(
            **kw,
            artifacts=tuple(ArtifactCard.from_json(a) for a in data["artifacts"]),
            latency_check=LatencyCheck.from_json(data["latency_check"]),
            int8_speedup=Int8Speedup.from_json(data.get("int8_speedup")),
        )
